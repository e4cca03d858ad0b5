"""sha256 of raw data files, cached by (path, size, mtime) so large files are hashed once.

MovieLens 32M is ~900 MB: hashing it takes seconds, and every run, `bench data info` and
the run identity need its digest. A digest is stored in cache_dir()/sha256/ under the
file's resolved path and reused while the file's size and mtime are unchanged (the same
test make, rsync and pip use to decide a file is unchanged).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The file's sha256, read in blocks (uncached; see cached_sha256)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _entry_path(resolved: Path) -> Path:
    from bench.paths import cache_dir

    key = hashlib.sha256(str(resolved).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir() / "sha256" / f"{key}.json"


def _stamp(resolved: Path) -> dict[str, object]:
    stat = resolved.stat()
    return {"path": str(resolved), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def cached_sha256(path: Path) -> str:
    """sha256 of `path`, from the cache when its size and mtime match the cached entry."""
    resolved = Path(path).resolve()
    stamp = _stamp(resolved)
    try:
        entry = json.loads(_entry_path(resolved).read_text("utf-8"))
        if {k: entry.get(k) for k in stamp} == stamp and isinstance(entry.get("sha256"), str):
            return entry["sha256"]
    except (OSError, ValueError, AttributeError):
        pass  # no entry, or a damaged one: hash again
    digest = sha256_file(resolved)
    remember_sha256(resolved, digest)
    return digest


def remember_sha256(path: Path, digest: str) -> None:
    """Cache a digest just computed elsewhere (e.g. by a download) for `path` as it is now."""
    from bench.rundir import atomic_write_text

    resolved = Path(path).resolve()
    try:
        atomic_write_text(_entry_path(resolved), json.dumps({**_stamp(resolved), "sha256": digest}))
    except OSError:
        pass  # a read-only cache only costs the next call a re-hash
