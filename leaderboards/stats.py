"""The paired test behind significance marks.

Uses metrics.significance (the suite's paired t-test) when that module is present, else
scipy.stats.ttest_rel: the same two-sided paired t-test on per-example scores.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Sequence
from typing import Any


def _from_result(result: Any) -> float | None:
    for attr in ("pvalue", "p_value", "p"):
        if hasattr(result, attr):
            return float(getattr(result, attr))
    if isinstance(result, dict):
        for key in ("pvalue", "p_value", "p"):
            if key in result:
                return float(result[key])
    if isinstance(result, (tuple, list)) and len(result) >= 2:
        return float(result[1])
    if isinstance(result, (int, float)):
        return float(result)
    return None


def paired_pvalue(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p of a paired t-test (metrics.significance.paired_ttest when present); None when
    undefined (fewer than 2 pairs; zero-variance differences under the scipy fallback)."""
    if len(a) != len(b) or len(a) < 2:
        return None
    p: float | None = None
    if importlib.util.find_spec("metrics.significance") is not None:
        mod = importlib.import_module("metrics.significance")
        for name in ("paired_ttest", "paired_t_test", "ttest_paired"):
            fn = getattr(mod, name, None)
            if callable(fn):
                try:
                    p = _from_result(fn(list(a), list(b)))
                except (TypeError, ValueError):
                    p = None
                break
    if p is None:
        diffs = [x - y for x, y in zip(a, b, strict=True)]
        if max(diffs) == min(diffs):
            return None  # identical differences: the t statistic is undefined
        from scipy import stats

        p = float(stats.ttest_rel(list(a), list(b)).pvalue)
    return None if p is None or math.isnan(p) else p
