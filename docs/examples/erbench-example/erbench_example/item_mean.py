"""A method: the item's mean train rating, and a one-line explanation that says so."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from bench.api.method import Method
from bench.api.records import Prediction, Record, Splits
from bench.api.run_folder import atomic_write_json


@dataclass
class Params:
    """The `model:` section; unknown keys and wrong types are config errors."""

    shrink: float = 0.0  # pseudo-ratings at the global mean added to every item's mean


class ItemMean(Method):
    """Item mean rating (shrunk toward the global mean), explained in one sentence."""

    produces = frozenset({"rating", "explanation"})
    Params: ClassVar[type] = Params
    config_file = "item_mean.yaml"  # defaults and profiles, shipped beside this module

    def fit(self, splits: Splits) -> None:
        def train(stage_dir):  # a stage: checkpointed, and skipped by --resume once done
            ratings = [r.rating for r in splits.train if r.rating is not None]
            mu = sum(ratings) / len(ratings)
            sums: dict[str, list[float]] = {}
            for r in splits.train:
                if r.rating is not None:
                    sums.setdefault(r.item_id, []).append(r.rating)
            k = self.params.shrink
            means = {i: (sum(v) + k * mu) / (len(v) + k) for i, v in sums.items()}
            atomic_write_json(stage_dir / "means.json", {"mu": mu, "means": means})
            load(stage_dir)

        def load(stage_dir):
            saved = json.loads((stage_dir / "means.json").read_text())
            self.mu, self.means = saved["mu"], saved["means"]

        self.run.stage("item-mean", train, load)

    def predict(self, records: list[Record]) -> list[Prediction]:
        out = []
        for r in records:
            rating = self.means.get(r.item_id, self.mu)
            out.append(Prediction(rating=rating, explanation=f"others rated it {rating:.1f} stars"))
        return out
