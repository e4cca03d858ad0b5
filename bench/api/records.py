"""The canonical record every loader produces and the prediction every method returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class Record:
    """One user-item interaction in the shape every method and metric reads."""

    user_id: str
    item_id: str
    rating: float | None = None  # 1-5 stars where the source has them
    label: int | None = None  # binary click/like label (rating >= dataset threshold)
    review: str = ""
    summary: str = ""
    title: str = ""  # item title, "" where the source has none
    timestamp: int = 0
    user_profile: str = ""
    item_profile: str = ""
    reference_explanation: str = ""
    history_liked: list[str] = field(default_factory=list)  # titles of prior liked items
    history_disliked: list[str] = field(default_factory=list)
    source: str = ""  # "file:line" of the raw line, for error messages and provenance
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown record field(s): {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass
class Prediction:
    """What a method says about one record; fields it does not produce stay None."""

    rating: float | None = None
    ctr_score: float | None = None  # probability of a click/like, in [0, 1]
    explanation: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def _truth(default: Any = None) -> Any:
    return field(default=default, metadata={"role": "truth"})


def _predicted(default: Any = None) -> Any:
    return field(default=default, metadata={"role": "prediction"})


@dataclass
class PredictionRow:
    """One line of predictions.jsonl, and what every metric scores: the prediction beside the
    ground truth it is scored on. Truths come from the data, never from a method's `extras`;
    the pairs scorer (metrics.pairs) builds the same row from a JSONL file."""

    idx: int
    user_id: str = ""
    item_id: str = ""
    rating_true: float | None = _truth()
    label: int | None = _truth()
    reference: str | None = _truth()
    feature_true: str | None = _truth()  # the record's own mined feature (bench.data.feature_truth)
    rating: float | None = _predicted()
    ctr_score: float | None = _predicted()
    explanation: str | None = _predicted()
    extras: dict[str, Any] = field(default_factory=dict)  # method extras, e.g. extras.review

    @classmethod
    def of(
        cls, index: int, record: Record, pred: Prediction, feature_true: str | None = None
    ) -> PredictionRow:
        return cls(
            idx=index, user_id=record.user_id, item_id=record.item_id,
            rating_true=record.rating, label=record.label,
            reference=record.reference_explanation, feature_true=feature_true,
            rating=pred.rating, ctr_score=pred.ctr_score, explanation=pred.explanation,
            extras=pred.extras,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


TRUTH_FIELDS = frozenset(f.name for f in fields(PredictionRow) if f.metadata.get("role") == "truth")
PREDICTED_FIELDS = frozenset(
    f.name for f in fields(PredictionRow) if f.metadata.get("role") == "prediction"
)
# Scorable fields kept in a row's extras rather than a column of their own.
EXTRAS_FIELDS = frozenset({"review"})  # the ground-truth review text (coherence, judges)


@dataclass
class Splits:
    """Train/valid/test records plus how they were made (protocol, seed, digest)."""

    train: list[Record]
    valid: list[Record]
    test: list[Record]
    info: dict[str, Any] = field(default_factory=dict)
    # records in no split that are still history (split per-user-target: the users' other
    # interactions, which the samples' histories hold); models that read histories use them
    history_only: list[Record] = field(default_factory=list)
