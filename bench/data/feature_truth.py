"""The feature ground truth PETER's DIV/FCR/FMR read: the dataset's feature vocabulary and each
record's own feature, both mined from the data, never from what a method generated.

PETER (lileipisces/PETER utils.py, DataLoader.load_data) takes both from the dataset's Sentires
quadruples: `feature_set` holds every feature of the dataset (FCR's denominator) and a test
record's truth is the feature of its own quadruple (FMR). Here the quadruples come from
bench.data.features.FeatureExtractor fitted on the train split: the vocabulary PETER+ and CER
are trained with. One documented difference: PETER's set also holds features that occur only in
valid/test reviews; ours is mined from train reviews alone, so nothing about the test split
leaks into it.

The runner writes the vocabulary to <run>/feature_vocabulary.json so `bench score` rescores
with the same denominator.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api.run_folder import RunFolder, read_json_object


@dataclass(frozen=True)
class FeatureTruth:
    """The dataset's feature vocabulary and the extractor that names a record's own feature."""

    vocabulary: tuple[str, ...]  # sorted
    extractor: Any  # a fitted bench.data.features.FeatureExtractor

    def feature_of(self, record: Any) -> str | None:
        """The record's own mined feature (None when the extractor finds none)."""
        return self.extractor.feature(record) or None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": "bench.data.features.FeatureExtractor fitted on the train split",
            "sha256": vocabulary_digest(self.vocabulary),
            "features": list(self.vocabulary),
        }


def vocabulary_digest(vocabulary: Sequence[str]) -> str:
    """sha256 of the sorted vocabulary, one feature per line (recorded in the metric version)."""
    return hashlib.sha256("\n".join(sorted(vocabulary)).encode("utf-8")).hexdigest()


def mine_feature_truth(train: Sequence[Any], max_words: int = 15) -> FeatureTruth | None:
    """Fit the feature extractor on the train split; None when the data yields no feature."""
    from bench.data.features import FeatureExtractor

    extractor = FeatureExtractor(max_words=max_words).fit(train)
    if not extractor.feature_set:
        return None
    return FeatureTruth(tuple(sorted(extractor.feature_set)), extractor)


def read_vocabulary(run_dir: str | Path) -> tuple[str, ...] | None:
    """The vocabulary a run was scored with, or None for a folder without one."""
    folder = RunFolder(run_dir)
    if not folder.feature_vocabulary.exists():
        return None
    return tuple(read_json_object(folder.feature_vocabulary)["features"])
