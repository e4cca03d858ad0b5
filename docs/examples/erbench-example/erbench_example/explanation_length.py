"""A metric: the mean length of the generated explanations, in words or characters.

It brings its own setting: `eval.explanation_length.unit` (stored as eval.explanation_length_unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bench.api.settings import Settings
from metrics.base import Batch, Metric, MetricValue


@dataclass
class ExplanationLengthSettings(Settings):
    section = "explanation_length"  # eval.explanation_length.<key>
    explanation_length_unit: Literal["words", "characters"] = "words"


class ExplanationLength(Metric):
    """Mean explanation length (sample-level: keeps per-record scores)."""

    name = "explanation_length"
    needs = frozenset({"explanation"})  # fields of the prediction row it reads
    level = "sample"
    higher_is_better = False  # reported as is; the direction orders leaderboard columns
    reports = ("explanation_length",)
    settings_classes = (ExplanationLengthSettings,)  # the eval.* keys it reads

    def compute(self, batch: Batch) -> list[MetricValue]:
        unit = ExplanationLengthSettings.of(self.eval_cfg).explanation_length_unit
        texts = batch.texts("explanation")
        lengths = [len(text) if unit == "characters" else len(text.split()) for text in texts]
        return [self.value_from_samples(self.name, lengths)]
