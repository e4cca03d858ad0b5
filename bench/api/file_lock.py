"""An OS lock (flock) held while one process makes a file that others would make too.

`target_lock(target, doing="downloading")` keys the lock by the target's resolved path, in
cache_dir()/<folder>/; a second process waits for the first (saying so) and then finds the
file there. The kernel drops a flock when its process dies, so a killed writer leaves no stale
lock. Used by dataset downloads (bench/data/download.py) and the BERTScore encoder's ONNX
export (metrics/bertscore_onnx.py).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.api.paths import cache_dir


@contextmanager
def target_lock(
    target: Path, *, doing: str, quiet: bool = False, folder: str = "download-locks"
) -> Iterator[None]:
    """Hold the lock of `target`; wait (saying "waiting for <holder>, which is <doing>
    <target>" unless `quiet`) while another process holds it."""
    import fcntl

    key = hashlib.sha256(str(target.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    path = cache_dir() / folder / f"{key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            if not quiet:
                print(f"waiting for {holder}, which is {doing} {target} ...", file=sys.stderr)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield
