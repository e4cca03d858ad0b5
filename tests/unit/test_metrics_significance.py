"""Paired t-test and paired bootstrap between two runs' per-example scores."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from metrics.significance import align, paired_bootstrap, paired_ttest


def test_paired_ttest_hand_value():
    # diffs [1, 2, 3]: mean 2, sample sd 1 -> t = 2 / (1 / sqrt(3))
    res = paired_ttest([1, 2, 3], [0, 0, 0])
    assert res.statistic == pytest.approx(2 * math.sqrt(3))
    assert res.p_value == pytest.approx(stats.ttest_rel([1, 2, 3], [0, 0, 0]).pvalue)
    assert res.mean_diff == 2 and res.n == 3


def test_paired_ttest_constant_difference():
    assert paired_ttest([1, 1, 1], [1, 1, 1]).p_value == 1.0
    assert paired_ttest([2, 2, 2], [1, 1, 1]).p_value == 0.0


def test_paired_bootstrap_ci_contains_mean_and_is_seeded():
    a = [0.1 * i for i in range(50)]
    b = [x - 0.5 + 0.01 * (i % 7) for i, x in enumerate(a)]
    ci = paired_bootstrap(a, b, n_resamples=500, seed=1)
    assert ci.low <= ci.mean_diff <= ci.high
    assert ci.p_value < 0.05
    assert ci == paired_bootstrap(a, b, n_resamples=500, seed=1)
    assert paired_bootstrap([1, 2], [1, 2]).p_value == 1.0


def test_align_by_idx_and_length_check():
    a, b = align([{"idx": 0, "m": 1.0}, {"idx": 1, "m": 2.0}], [{"idx": 1, "m": 0.5}], "m")
    assert (a, b) == ([2.0], [0.5])
    with pytest.raises(ValueError):
        paired_ttest([1, 2], [1])
