"""The paired test behind significance marks: the suite's own paired t-test
(metrics.significance.paired_ttest) on per-example scores."""

from __future__ import annotations

import math
from collections.abc import Sequence

from metrics.significance import paired_ttest


def paired_pvalue(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p of a paired t-test; None when undefined (fewer than 2 pairs, unequal lengths)."""
    if len(a) != len(b) or len(a) < 2:
        return None
    p = paired_ttest(list(a), list(b)).p_value
    return None if math.isnan(p) else p
