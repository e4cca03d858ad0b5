"""glibc's allocator told to keep large freed blocks for reuse (`keep_freed_memory`).

glibc serves an allocation above its mmap threshold (at most 32 MB, whatever it has adapted to)
with a fresh mmap and unmaps it on free, so a tensor of that size allocated every step costs
the kernel a page fault and a zeroed page per 4 kB, every step. PETER's word logits and their
gradients on the `cpu` profile are 33-40 MB each, several per step: on this project's CPU box
zero-filling one such fresh tensor took 19-22 ms against 1.7 ms once the memory was reused.
Raising the mmap threshold and the trim threshold keeps those blocks in the heap. Nothing
computed changes; the process keeps up to `2 * limit` of freed memory instead of returning it.
Process-wide, so only the classic models' fit (baselines.text.ExplainerMethod) calls it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
M_MMAP_THRESHOLD = -3
LIMIT = 256 << 20


def keep_freed_memory(limit: int = LIMIT) -> bool:
    """Serve allocations below `limit` bytes from the heap and return freed heap memory to the
    system only beyond `2 * limit`; True when glibc took both settings (False elsewhere)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt  # glibc only (musl has none)
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, limit)) and bool(mallopt(M_TRIM_THRESHOLD, 2 * limit))
