"""Platt scaling of next-item logits: p = sigmoid(a * logit + b), (a, b) fitted by logistic
regression (scikit-learn) of the valid split's labels on its logits. Monotone, so AUC is the
logit's AUC; LogLoss/MAE/RMSE are those of the calibrated probability."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def fit_platt(scores: Any, labels: Any) -> dict[str, float]:
    """{"a", "b", "n"} of p = sigmoid(a*s + b) fitted to 0/1 labels (scikit-learn's logistic
    regression, practically unpenalised, on standardised scores). With a single class or
    constant scores: a = 0 and b = logit of the label prior."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=float)
    n = len(s)
    if n == 0:
        return {"a": 0.0, "b": 0.0, "n": 0}
    prior = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    if np.all(y == y[0]) or np.std(s) == 0:
        return {"a": 0.0, "b": math.log(prior / (1 - prior)), "n": n}
    mu, sd = float(s.mean()), float(s.std())
    model = LogisticRegression(C=1e6, tol=1e-10, max_iter=1000).fit(((s - mu) / sd)[:, None], y)
    w, w0 = float(model.coef_[0, 0]), float(model.intercept_[0])
    return {"a": w / sd, "b": w0 - w * mu / sd, "n": n}


def calibrated(raw: Sequence[float], calibration: dict[str, float]) -> list[float]:
    """Probabilities of raw logits under a fitted calibration."""
    a, b = calibration["a"], calibration["b"]
    return [sigmoid(a * float(s) + b) for s in raw]
