"""One process per run folder: an OS lock held while a cell runs.

Without it a `--resume` started while the same cell runs trains twice into one folder, and
a `--force` deletes a live run's folder. The lock file sits beside the folder
(`<runs_dir>/.locks/<run_id>.lock`) so `--force` can delete the folder while holding it.
flock is released by the kernel when the process dies, so a killed run never leaves a
stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.api.errors import BenchError


class RunLocked(BenchError):
    """Another process holds this run folder."""


def lock_path(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    return run_dir.parent / ".locks" / f"{run_dir.name}.lock"


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    path = lock_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunLocked(
                f"run {Path(run_dir).name} is running in {holder}; wait for it to finish "
                "(then rerun to reuse it) — neither --resume nor --force can take a live run"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock
