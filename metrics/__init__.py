"""The metric suite; metrics read predictions, never models.

Registrations are lazy ("module:attr") so importing `metrics` does not import torch.
Each entry's meta holds `needs` (fields the metric reads) and `reports` (the base names it
reports) so the suite can choose metrics without importing them.
"""

from __future__ import annotations

from bench.registry import METRICS


def register_metric(
    name: str, target: str, *, needs: set[str] | frozenset[str], summary: str, reports=(), **meta
) -> None:
    """Lazy registration helper; other metric modules' entries go in this file."""
    if name in METRICS:
        return
    METRICS.register(
        name, target, summary=summary, needs=sorted(needs), reports=list(reports) or [name], **meta
    )
