"""Paired significance between two runs' per-example scores on the same records.

    paired_ttest(a, b)          -> PairedTest(t, p, mean_diff, n)       (scipy.stats.ttest_rel)
    paired_bootstrap(a, b, ...) -> BootstrapCI(mean_diff, low, high, p)  (resampling record indices)
    align(per_example_a, per_example_b, metric) -> (a, b) matched by idx

a and b are the same metric's per-example scores of run A and run B; differences are a - b.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PairedTest:
    statistic: float
    p_value: float
    mean_diff: float
    n: int


@dataclass(frozen=True)
class BootstrapCI:
    mean_diff: float
    low: float
    high: float
    p_value: float  # two-sided: 2 * min(P(diff* <= 0), P(diff* >= 0))
    n: int
    n_resamples: int
    confidence: float


def _check(a: Sequence[float], b: Sequence[float]) -> None:
    if len(a) != len(b):
        raise ValueError(f"paired scores differ in length: {len(a)} vs {len(b)}")
    if len(a) < 2:
        raise ValueError("need at least 2 paired scores")


def paired_ttest(a: Sequence[float], b: Sequence[float]) -> PairedTest:
    """Two-sided paired t-test of mean(a - b) = 0."""
    from scipy import stats

    _check(a, b)
    diffs = [x - y for x, y in zip(a, b, strict=False)]
    mean = sum(diffs) / len(diffs)
    if all(d == diffs[0] for d in diffs):  # zero variance: scipy returns nan
        p = 1.0 if mean == 0 else 0.0
        return PairedTest(math.copysign(math.inf, mean) if mean else 0.0, p, mean, len(diffs))
    res = stats.ttest_rel(a, b)
    return PairedTest(float(res.statistic), float(res.pvalue), mean, len(diffs))


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapCI:
    """Percentile CI of mean(a - b) over resampled record indices (the same indices for both)."""
    import numpy as np

    _check(a, b)
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(d), size=(n_resamples, len(d)))
    means = d[idx].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    p = 2 * min((means <= 0).mean(), (means >= 0).mean())
    return BootstrapCI(
        float(d.mean()),
        float(low),
        float(high),
        float(min(1.0, p)),
        len(d),
        n_resamples,
        confidence,
    )


def align(
    per_example_a: Sequence[dict[str, Any]], per_example_b: Sequence[dict[str, Any]], metric: str
) -> tuple[list[float], list[float]]:
    """Scores of `metric` for the idx both runs hold (per_example.jsonl rows)."""
    a = {r["idx"]: r[metric] for r in per_example_a if r.get(metric) is not None}
    b = {r["idx"]: r[metric] for r in per_example_b if r.get(metric) is not None}
    common = sorted(set(a) & set(b), key=str)
    if not common:
        raise ValueError(f"the two runs share no records scored with {metric!r}")
    return [float(a[i]) for i in common], [float(b[i]) for i in common]
