"""torch's intra-op thread count, set for a block of work and restored after it.

One thread is often several times faster for small models on a shared CPU; the run option
`threads` and RecBole's `model.torch_threads` both go through here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count (None or 0: leave it alone, import nothing)."""
    if not n:
        yield
        return
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(saved)
