"""RMSE/MAE, CTR metrics and population std against hand-computed values."""

from __future__ import annotations

import math

import pytest

from metrics.base import MetricValue, std_values
from metrics.settings import EvalConfig
from metrics.suite import score_rows


def rating_rows(pred, true):
    return [
        {"idx": i, "rating": p, "rating_true": t}
        for i, (p, t) in enumerate(zip(pred, true, strict=False))
    ]


def test_rmse_mae_clipped_like_peter():
    rep = score_rows(rating_rows([5.5, 3, 1], [5, 4, 2]), EvalConfig(metrics=["rating"]))
    v = rep.as_dict()
    # clipped to [1, 5]: errors 0, 1, 1 -> MAE = 2/3, RMSE = sqrt(2/3)
    assert v["mae"] == pytest.approx(2 / 3)
    assert v["rmse"] == pytest.approx(math.sqrt(2 / 3))
    # mae_std = population std of |errors| [0, 1, 1]
    assert v["mae_std"] == pytest.approx(math.sqrt(2 / 9))


def test_rmse_mae_unclipped():
    cfg = EvalConfig(metrics=["rmse", "mae"], rating_clip=False)
    v = score_rows(rating_rows([5.5, 3, 1], [5, 4, 2]), cfg).as_dict()
    # errors 0.5, 1, 1 -> MAE = 2.5/3, RMSE = sqrt((0.25 + 1 + 1)/3)
    assert v["mae"] == pytest.approx(2.5 / 3)
    assert v["rmse"] == pytest.approx(math.sqrt(0.75))


def test_ctr_metrics_hand_values():
    y, p = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    data = [
        {"idx": i, "label": a, "ctr_score": b} for i, (a, b) in enumerate(zip(y, p, strict=False))
    ]
    v = score_rows(data, EvalConfig(metrics=["ctr"])).as_dict()
    # AUC = P(score_pos > score_neg) over 4 pairs = 3/4
    assert v["auc"] == pytest.approx(0.75)
    # LogLoss = -mean(y log p + (1-y) log(1-p))
    ll = -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    assert v["logloss"] == pytest.approx(ll)
    # MSE = mean((y - p)^2) = (0.01 + 0.16 + 0.4225 + 0.04) / 4
    assert v["ctr_mse"] == pytest.approx(0.158125)
    assert v["ctr_rmse"] == pytest.approx(math.sqrt(0.158125))
    assert v["ctr_mae"] == pytest.approx((0.1 + 0.4 + 0.65 + 0.2) / 4)


def test_auc_single_class_is_reported_unavailable():
    data = [{"idx": i, "label": 1, "ctr_score": 0.5} for i in range(3)]
    rep = score_rows(data, EvalConfig(metrics=["ctr"]))
    assert "auc" not in rep.as_dict()
    assert "single class" in rep.unavailable["auc"]


def test_population_std():
    # sqrt(mean((x - mean)^2)) with ddof = 0, the papers' *_std columns
    def std_of(samples):
        (std,) = std_values([MetricValue("m", 0.0, len(samples), True, {}, samples)])
        return std.value

    assert std_of([1, 2, 3, 4]) == pytest.approx(math.sqrt(1.25))
    assert std_of([0.6875, 0.4375]) == pytest.approx(0.125)
