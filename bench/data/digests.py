"""sha256 of raw data files, cached by (path, inode, size, mtime, ctime) so large files are
hashed once.

MovieLens 32M is ~900 MB: hashing it takes seconds, and every run, `bench data info` and
the run identity need its digest. A digest is stored in cache_dir()/sha256/ under the
file's resolved path and reused while the file's inode, size, mtime and ctime are unchanged.
Size and mtime alone are not enough: an in-place edit that keeps the size and resets the
mtime (`touch -r`, `os.utime`, an archive extraction) kept the old digest, so the old run id.
The ctime cannot be set by a user: every write, rename or utime moves it. As git does for its
index ("racily clean" files), an entry is trusted only when the file's ctime is RACY_NS older
than the moment hashing began: on a filesystem with coarse timestamps an edit in the same
clock tick would otherwise keep the stamp; such a fresh file is simply hashed again next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

RACY_NS = 2_000_000_000  # a file changed this close to its hashing is hashed again next time


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The file's sha256, read in blocks (uncached; see cached_sha256)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _entry_path(resolved: Path) -> Path:
    from bench.api.paths import cache_dir

    key = hashlib.sha256(str(resolved).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir() / "sha256" / f"{key}.json"


def _stamp(resolved: Path) -> dict[str, object]:
    stat = resolved.stat()
    return {
        "path": str(resolved), "inode": stat.st_ino, "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns,
    }  # fmt: skip


def cached_sha256(path: Path) -> str:
    """sha256 of `path`, from the cache when its stamp (`_stamp`) matches the cached entry."""
    resolved = Path(path).resolve()
    stamp = _stamp(resolved)
    try:
        entry = json.loads(_entry_path(resolved).read_text("utf-8"))
        if (
            {k: entry.get(k) for k in stamp} == stamp
            and isinstance(entry.get("sha256"), str)
            and isinstance(entry.get("hashed_at_ns"), int)
            and entry["hashed_at_ns"] - stamp["ctime_ns"] > RACY_NS
        ):
            return entry["sha256"]
    except (OSError, ValueError, AttributeError, TypeError):
        pass  # no entry, a damaged or racy one: hash again
    started = time.time_ns()
    digest = sha256_file(resolved)
    remember_sha256(resolved, digest, hashed_at_ns=started)
    return digest


def remember_sha256(path: Path, digest: str, *, hashed_at_ns: int | None = None) -> None:
    """Cache a digest just computed elsewhere (e.g. by a download) for `path` as it is now;
    `hashed_at_ns`: when reading the file for it began (default: now)."""
    from bench.api.run_folder import atomic_write_text

    resolved = Path(path).resolve()
    started = time.time_ns() if hashed_at_ns is None else hashed_at_ns
    try:
        entry = {**_stamp(resolved), "hashed_at_ns": started, "sha256": digest}
        atomic_write_text(_entry_path(resolved), json.dumps(entry))
    except OSError:
        pass  # a read-only cache only costs the next call a re-hash
