"""PETER-style ROUGE (lileipisces/PETER rouge.py) against hand-computed values."""

from __future__ import annotations

import pytest

from metrics.base import Batch
from metrics.rouge_peter import PeterRouge, rouge_peter
from metrics.settings import EvalConfig
from metrics.suite import score_rows


def test_distinct_ngrams_and_lcs_f_beta_on_one_pair():
    s = rouge_peter("the cat sat", "the cat was here")
    # ROUGE-1: distinct unigrams {the, cat, sat} vs {the, cat, was, here}: P = 2/3, R = 1/2,
    # F = 2PR/(P+R) = 4/7
    assert s["1"] == pytest.approx((2 / 3, 1 / 2, 4 / 7))
    # ROUGE-2: {the cat, cat sat} vs {the cat, cat was, was here}: P = 1/2, R = 1/3, F = 0.4
    assert s["2"] == pytest.approx((1 / 2, 1 / 3, 0.4))
    # ROUGE-L: LCS 2, R = 2/4, P = 2/3, beta = P/R = 4/3,
    # F = (1 + beta^2) R P / (R + beta^2 P) = (25/27) / (91/54) = 50/91 (not the F1 4/7)
    assert s["L"] == pytest.approx((2 / 3, 1 / 2, 50 / 91))


def test_repeated_words_count_once():
    s = rouge_peter("good good good", "good sound")
    # ROUGE-1 over sets: {good} vs {good, sound}: P = 1 (rouge-score's clipped counts give 1/3)
    assert s["1"] == pytest.approx((1.0, 1 / 2, 2 / 3))
    assert s["2"] == pytest.approx((0.0, 0.0, 0.0))
    # ROUGE-L: LCS 1, R = 1/2, P = 1/3, beta = 2/3: F = (13/9 * 1/6) / (1/2 + 4/27) = 13/35
    assert s["L"] == pytest.approx((1 / 3, 1 / 2, 13 / 35))


def test_empty_hypothesis_scores_zero():
    # "".split(" ") is [""], one empty token, as in PETER: no overlap, no division by zero
    assert all(v == pytest.approx((0.0, 0.0, 0.0)) for v in rouge_peter("", "good").values())


def test_metric_reports_means_times_100_under_its_own_names():
    rows = [
        {"idx": 0, "explanation": "the cat sat", "reference": "the cat was here"},
        {"idx": 1, "explanation": "good good good", "reference": "good sound"},
    ]
    v = {x.name: x.value for x in PeterRouge().compute(Batch(rows))}
    assert v["rouge1_p_peter"] == pytest.approx(100 * (2 / 3 + 1) / 2)
    assert v["rouge1_r_peter"] == pytest.approx(50.0)
    assert v["rouge2_f_peter"] == pytest.approx(100 * 0.4 / 2)
    assert v["rougeL_f_peter"] == pytest.approx(100 * (50 / 91 + 13 / 35) / 2)
    assert len(v) == 9
    # selectable by its reported name through the suite, with its population std
    rep = score_rows(rows, EvalConfig(metrics=["rougeL_f_peter"])).as_dict()
    assert rep == pytest.approx({"rougeL_f_peter": 100 * (50 / 91 + 13 / 35) / 2,
                                 "rougeL_f_peter_std": 100 * abs(50 / 91 - 13 / 35) / 2})
