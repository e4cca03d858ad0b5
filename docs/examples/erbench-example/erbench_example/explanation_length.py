"""A metric: the mean number of words of the generated explanations."""

from __future__ import annotations

from metrics.base import Batch, Metric, MetricValue


class ExplanationLength(Metric):
    """Mean explanation length in words (sample-level: keeps per-record scores)."""

    name = "explanation_length"
    needs = frozenset({"explanation"})  # fields of the prediction row it reads
    level = "sample"
    higher_is_better = False  # reported as is; the direction orders leaderboard columns
    reports = ("explanation_length",)

    def compute(self, batch: Batch) -> list[MetricValue]:
        lengths = [len(text.split()) for text in batch.texts("explanation")]
        return [self.value_from_samples(self.name, lengths)]
