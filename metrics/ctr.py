"""CTR metrics on click probabilities (ExpCTR §5.1.3): AUC, LogLoss, MSE, RMSE, MAE."""

from __future__ import annotations

import math
from typing import Any

from bench.api.errors import MetricUnavailable
from metrics.base import Batch, Metric, MetricValue

LOGLOSS_EPS = 1e-7


class CTRMetrics(Metric):
    name = "ctr"
    needs = frozenset({"ctr_score", "label"})
    level = "corpus"
    higher_is_better = False
    reports = ("auc", "logloss", "ctr_mse", "ctr_rmse", "ctr_mae")

    def version(self) -> dict[str, Any]:
        import sklearn

        return {**super().version(), "sklearn": sklearn.__version__, "logloss_eps": LOGLOSS_EPS}

    def compute(self, batch: Batch) -> list[MetricValue]:
        import numpy as np
        from sklearn.metrics import (
            log_loss,
            mean_absolute_error,
            mean_squared_error,
            roc_auc_score,
        )

        y = np.asarray([int(v) for v in batch.column("label")])
        p = np.asarray(batch.floats("ctr_score"), dtype=np.float64)
        if ((p < 0) | (p > 1)).any():
            raise MetricUnavailable("ctr_score must be probabilities in [0, 1]")
        n = len(batch)
        out = []
        if len(set(y.tolist())) == 2:
            out.append(self.value("auc", roc_auc_score(y, p), n, higher_is_better=True))
        else:
            self.skipped["auc"] = "AUC is undefined: the labels hold a single class"
        pc = np.clip(p, LOGLOSS_EPS, 1 - LOGLOSS_EPS)
        out.append(self.value("logloss", log_loss(y, pc, labels=[0, 1]), n))
        mse = mean_squared_error(y, p)
        out.append(self.value("ctr_mse", mse, n))
        out.append(self.value("ctr_rmse", math.sqrt(mse), n))
        out.append(
            self.value("ctr_mae", mean_absolute_error(y, p), n, per_sample=np.abs(y - p).tolist())
        )
        return out
