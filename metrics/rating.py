"""Rating prediction error: RMSE and MAE (optionally clipped to the rating range, as PETER)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.api.settings import Settings
from metrics.base import Batch, Metric, MetricValue


@dataclass
class RatingSettings(Settings):
    section = "rating"
    always_hashed = True
    rating_clip: bool = True  # clip predicted ratings to [rating_min, rating_max] (as PETER)
    rating_min: float = 1.0
    rating_max: float = 5.0



def clip(values: Sequence[float], lo: float | None, hi: float | None) -> list[float]:
    out = []
    for v in values:
        if hi is not None and v > hi:
            v = hi
        if lo is not None and v < lo:
            v = lo
        out.append(float(v))
    return out


def rmse(pred: Sequence[float], true: Sequence[float]) -> float:
    """sqrt(mean((p - r)^2))."""
    return math.sqrt(sum((p - t) ** 2 for p, t in zip(pred, true, strict=False)) / len(pred))


def mae(pred: Sequence[float], true: Sequence[float]) -> float:
    """mean(|p - r|)."""
    return sum(abs(p - t) for p, t in zip(pred, true, strict=False)) / len(pred)


class RatingError(Metric):
    """RMSE and MAE; per-sample absolute errors are kept for MAE (std and significance)."""

    name = "rating"
    needs = frozenset({"rating", "rating_true"})
    level = "corpus"
    higher_is_better = False
    settings_classes = (RatingSettings,)
    reports = ("rmse", "mae")

    def _range(self) -> tuple[float | None, float | None]:
        settings = RatingSettings.of(self.eval_cfg)
        if not settings.rating_clip:
            return None, None
        return float(settings.rating_min), float(settings.rating_max)

    def version(self) -> dict[str, Any]:
        lo, hi = self._range()
        return {**super().version(), "clip": None if lo is None else [lo, hi]}

    def compute(self, batch: Batch) -> list[MetricValue]:
        lo, hi = self._range()
        pred = clip(batch.floats("rating"), lo, hi)
        true = batch.floats("rating_true")
        abs_err = [abs(p - t) for p, t in zip(pred, true, strict=False)]
        n = len(batch)
        return [
            self.value("rmse", rmse(pred, true), n),
            self.value("mae", mae(pred, true), n, per_sample=abs_err),
        ]
