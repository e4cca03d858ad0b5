"""`bench data download NAME`: fetch a dataset's public raw files to where loads look for them.

Each file is streamed with requests into `<target>.part`, continued with an HTTP Range
request when a `.part` is left from an interrupted download (and restarted from byte 0 when
the server ignores the Range), checked against the spec's sha256 when the spec records one,
then renamed to the path `DatasetSpec.downloads` gives, the one `DatasetSpec.locate` finds.
Each file is fetched under an OS lock (flock, in the cache dir, keyed by the target path):
a second `bench data download` of the same file waits for the first and then finds the file
there, instead of writing into the same `.part` (which placed a corrupt file).
A file whose digest differs is kept aside as `<target>.sha256-mismatch`, a name no load
reads. `ERBENCH_DOWNLOAD_BASE_URL` (or `--base-url`) replaces everything before the file
name of each URL, for mirrors and tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.api.errors import DataError
from bench.api.file_lock import target_lock
from bench.data.digests import cached_sha256, remember_sha256, sha256_file

if TYPE_CHECKING:  # pragma: no cover
    from bench.data.settings import DataConfig

BASE_URL_ENV = "ERBENCH_DOWNLOAD_BASE_URL"
CHUNK = 1 << 16  # bytes per write: a dropped connection loses at most this much
TIMEOUT = (15, 60)  # seconds: connect, between bytes


class ManualDownload(DataError):
    """The dataset's files cannot be fetched automatically (no stable URL, licence, format)."""


class DownloadError(DataError):
    """A download that failed or gave a file other than the one the spec records."""


@dataclass
class Fetched:
    url: str
    path: Path
    sha256: str
    state: str  # "downloaded", "resumed", "already there"
    verified: bool  # the digest matched one recorded in the spec


def mirror_url(url: str, base_url: str | None) -> str:
    """`url` with everything before its file name replaced by `base_url` (when given)."""
    base = base_url or os.environ.get(BASE_URL_ENV)
    return f"{base.rstrip('/')}/{url.rsplit('/', 1)[-1]}" if base else url


def download_dataset(
    name: str, cfg: DataConfig, *, base_url: str | None = None, quiet: bool = False
) -> list[Fetched]:
    """Fetch every required raw file of `name` (an alias works) into the data dir."""
    from bench.data.api import data_root, get_spec

    spec = get_spec(name)
    root = data_root(cfg)
    if not spec.downloadable:
        try:
            spec.locate(root)
        except DataError:
            step = spec.manual or f"get its files from {spec.url}"
            raise ManualDownload(
                f"dataset {spec.name!r} cannot be downloaded automatically: {step}; then "
                f"`bench data prepare {spec.name} --raw DIR` checks the files and puts them "
                "where runs look"
            ) from None
        return []  # nothing to fetch: the files are there (ml-100k: inside the RecBole wheel)
    return [
        fetch(mirror_url(url, base_url), target, expected, quiet=quiet)
        for url, target, expected in spec.downloads(root)
    ]


def fetch(url: str, target: Path, expected: str | None, *, quiet: bool = False) -> Fetched:
    """Download `url` to `target` through `<target>.part`, resuming it; check `expected`."""
    with target_lock(target, doing="downloading", quiet=quiet):
        return _fetch_locked(url, target, expected, quiet=quiet)


def _fetch_locked(url: str, target: Path, expected: str | None, *, quiet: bool) -> Fetched:
    if target.is_file():
        digest = cached_sha256(target)
        if expected is None or digest == expected:
            return Fetched(url, target, digest, "already there", digest == expected)
        raise DownloadError(
            f"{target} exists but its sha256 {digest} is not the {expected} the dataset spec "
            "records; move it away and run the download again"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    resumed = _stream(url, part, quiet=quiet)
    if part.stat().st_size == 0:
        part.unlink()
        raise DownloadError(f"{url}: the server sent an empty file (0 bytes); nothing was placed")
    digest = sha256_file(part)
    if expected is not None and digest != expected:
        aside = target.with_name(target.name + ".sha256-mismatch")
        os.replace(part, aside)
        raise DownloadError(
            f"{url}: sha256 {digest} differs from {expected} recorded in the dataset spec; "
            f"the file is kept aside as {aside} (runs do not read it): delete it and try again, "
            "or another mirror"
        )
    os.replace(part, target)
    remember_sha256(target, digest)  # the next run need not hash it again
    return Fetched(url, target, digest, "resumed" if resumed else "downloaded", expected is not None)


def _stream(url: str, part: Path, *, quiet: bool) -> bool:
    """Append the rest of `url` to `part` (or write it whole); True when it continued a part."""
    import requests

    offset = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = requests.get(url, headers=headers, stream=True, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise DownloadError(f"{url}: cannot connect ({_reason(exc)}); check the URL or network") from None
    with response:
        if offset and response.status_code == 416:  # the part is already whole, or longer
            part.unlink()
            return _stream(url, part, quiet=quiet)
        if response.status_code not in (200, 206):
            raise DownloadError(f"{url}: HTTP {response.status_code} {response.reason}")
        if offset and response.status_code == 206 and not _starts_at(response, offset):
            part.unlink()  # a range other than the one asked for: start over
            return _stream(url, part, quiet=quiet)
        resuming = offset > 0 and response.status_code == 206
        if not resuming:
            offset = 0  # the server ignored the Range (200): start over cleanly
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        written = offset
        try:
            with open(part, "ab" if resuming else "wb") as out, _byte_bar(
                url.rsplit("/", 1)[-1], total, offset, quiet
            ) as advance:
                for block in response.iter_content(CHUNK):
                    out.write(block)
                    written += len(block)
                    advance(len(block))
        except requests.RequestException as exc:
            raise DownloadError(
                f"{url}: download interrupted after {written} bytes ({_reason(exc)}); "
                f"run the same command again to continue from {part}"
            ) from None
    if total is not None and written != total:
        raise DownloadError(
            f"{url}: got {written} of {total} bytes; run the same command again to continue "
            f"from {part}"
        )
    return resuming


def _starts_at(response, offset: int) -> bool:  # noqa: ANN001 - a requests.Response
    """The 206 answer continues at `offset` (Content-Range: bytes OFFSET-END/TOTAL)."""
    content_range = response.headers.get("Content-Range", "")
    return content_range.startswith(f"bytes {offset}-")


def _reason(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:160]


@contextmanager
def _byte_bar(
    label: str, total: int | None, done: int, quiet: bool
) -> Iterator[Callable[[int], None]]:
    """A rich bar in bytes on stderr (size, speed, ETA); nothing when quiet or off a terminal."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield lambda n: None
        return
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total, completed=done)
        yield lambda n: progress.advance(task, n)
