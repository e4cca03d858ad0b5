"""Position ids of a left-padded batch, as generate computes them: every forward that runs
such a batch by hand (shared prefills, prefix caches, answer scoring) must use the same ones."""

from __future__ import annotations

from typing import Any


def padded_position_ids(mask: Any) -> Any:
    """The count of real tokens before each position (padding gets 0); a slice starting at a
    real token equals the unclamped count."""
    return (mask.long().cumsum(-1) - 1).clamp(min=0)
