"""What `eval.max_records = N` means, everywhere: a seeded random sample of N test records in
split order (the first N would favour whatever the split put first). The runner draws it before
predicting (and records it in eval_sample.json); the metric suite draws the same sample when it
is handed more rows than the cap (`bench score RUN --set eval.max_records=N`)."""

from __future__ import annotations

import random


def eval_sample(n: int, cap: int | None, seed: int) -> list[int] | None:
    """Sorted indices of the N records scored out of n; None when nothing is capped."""
    if not cap or cap >= n:
        return None
    return sorted(random.Random(f"eval-sample:{seed}").sample(range(n), cap))
