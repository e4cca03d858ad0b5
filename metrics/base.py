"""The Metric contract every scorer implements (text, semantic, rating, CTR, coherence, judge).

A metric reads prediction rows (the lines of predictions.jsonl, see bench.api.records.PredictionRow)
and returns one or more MetricValue. It never imports a model from baselines/ or methods/.

Plugging in a new metric (e.g. metrics/bartscore.py):

    from metrics.base import Metric, MetricValue, Batch

    class BARTScore(Metric):
        name = "bartscore"                      # base name; checkpoint appended via `checkpoint`
        needs = frozenset({"explanation", "reference"})
        level = "sample"
        higher_is_better = True

        def __init__(self, eval_cfg=None, **kw):
            super().__init__(eval_cfg, **kw)
            self.checkpoint_path = eval_cfg.bartscore_checkpoint if eval_cfg else None

        @property
        def checkpoint(self):                   # short label shown in the name, or None
            return "bart-large-cnn"

        def version(self):                      # every parameter that defines the number
            return {**super().version(), "checkpoint": self.checkpoint_path}

        def available(self):
            if not self.checkpoint_path:
                return False, "bartscore_checkpoint is unset"
            return True, ""

        def compute(self, batch):
            scores = ...                        # list[float], one per row
            return [self.value_from_samples(self.name, scores)]

and in metrics/__init__.py one lazy line: ("bartscore", "metrics.bartscore:BARTScore", summary);
`needs` and `reports` are read from the class (Metric.declarations), never copied. The suite instantiates the class as `cls(eval_cfg, **ctx)` where ctx
may hold train_records, cache_dir, judge (a callable) and human_ratings; unknown keywords must
be accepted (`**kw`).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bench.api.loads import Endpoint, Load
from bench.api.metric_name import MetricName, metric_name
from bench.api.records import EXTRAS_FIELDS, PREDICTED_FIELDS, TRUTH_FIELDS
from bench.api.settings import Settings

# Every field a metric may need: the columns of a prediction row (bench.api.records.PredictionRow)
# and the scorable fields kept in its extras. Ground truths come from the data, so they are
# read from the row itself and never from a method's `extras`.
FIELDS = TRUTH_FIELDS | PREDICTED_FIELDS | EXTRAS_FIELDS
DATA_TRUTHS = TRUTH_FIELDS



@dataclass(frozen=True)
class MetricValue:
    """One reported number. `name` already carries the checkpoint, e.g. bertscore_f1[roberta-large]."""

    name: str
    value: float
    n: int
    higher_is_better: bool
    version: dict[str, Any] = field(default_factory=dict)
    per_sample: list[float] | None = None
    # the scored rows' positions among all rows, when the metric scored a subset of them (rows
    # without a reference); None: per_sample follows every row
    rows: list[int] | None = None

    def __iter__(self):  # allows `name, value, n, hib, version, per_sample = mv`
        return iter(
            (self.name, self.value, self.n, self.higher_is_better, self.version, self.per_sample)
        )


class Batch:
    """The rows a metric scores, with field accessors that read both flat rows and extras.

    Generated text is scored without its reasoning: <think> ... </think> is stripped from
    `explanation` (bench.backbones.thinking)."""

    def __init__(self, rows: Sequence[dict[str, Any]]):
        self.rows = [_without_thinking(row) for row in rows]

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> list[Any]:
        return [field_value(row, name) for row in self.rows]

    def texts(self, name: str) -> list[str]:
        return ["" if v is None else str(v) for v in self.column(name)]

    def floats(self, name: str) -> list[float]:
        return [float(v) for v in self.column(name)]

    @property
    def idx(self) -> list[Any]:
        return [row.get("idx", i) for i, row in enumerate(self.rows)]


def _without_thinking(row: dict[str, Any]) -> dict[str, Any]:
    from bench.backbones.thinking import strip_think

    text = row.get("explanation")
    extras = row.get("extras")
    if isinstance(text, str) and "think>" in text:
        row = {**row, "explanation": strip_think(text)}
    if isinstance(extras, dict) and isinstance(extras.get("explanation"), str) and "think>" in extras["explanation"]:
        row = {**row, "extras": {**extras, "explanation": strip_think(extras["explanation"])}}
    return row


def field_value(row: dict[str, Any], name: str) -> Any:
    """A field of a prediction row; anything but a data truth may also live in row['extras']."""
    if name in row and row[name] is not None:
        return row[name]
    if name in DATA_TRUTHS:
        return None
    extras = row.get("extras") or {}
    if isinstance(extras, dict) and extras.get(name) is not None:
        return extras[name]
    return None


def present_fields(rows: Sequence[dict[str, Any]]) -> set[str]:
    """Fields that are non-null in every row (a metric runs only when all rows have its needs)."""
    if not rows:
        return set()
    return {f for f in FIELDS if all(field_value(r, f) is not None for r in rows)}




class Metric:
    """Base class. Subclasses set the class attributes and implement compute()."""

    name: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset()
    level: ClassVar[str] = "sample"  # "sample" (mean of per-sample scores) or "corpus"
    higher_is_better: ClassVar[bool] = True
    # names this metric reports (for `bench ls` and for selecting by name); default [name]
    reports: ClassVar[tuple[str, ...]] = ()
    # the settings dataclasses this metric reads from the eval section (metrics.settings)
    settings_classes: ClassVar[tuple[type[Settings], ...]] = ()

    def __init__(self, eval_cfg: Any = None, **context: Any):
        self.eval_cfg = eval_cfg
        self.context = context
        # reported names this metric could not compute on this batch -> reason (e.g. AUC with a
        # single class); the suite moves them into ScoreReport.unavailable
        self.skipped: dict[str, str] = {}

    @classmethod
    def declarations(cls) -> dict[str, Any]:
        """What the registry reports about this metric (bench.api.registry.Registry.declared)."""
        return {
            "needs": sorted(cls.needs),
            "reports": list(cls.reports or (cls.name,)),
            "level": cls.level,
            "higher_is_better": cls.higher_is_better,
        }

    @classmethod
    def loads(cls, eval_cfg: Any) -> list[Load]:
        """The checkpoints and endpoints this metric will load or call under `eval_cfg`, read
        from its settings without loading anything (bench.preflight resolves them first). Unset
        ones are left out: an unconfigured scorer is reported unavailable, not a failed run."""
        return []

    @staticmethod
    def judge_endpoint(eval_cfg: Any, role: str) -> list[Load]:
        """The judge endpoint of eval.judge_* as a declaration, when one is configured."""
        from bench.backbones.chat_client import JudgeEndpointSettings

        s = JudgeEndpointSettings.of(eval_cfg)
        if not (s.judge_base_url and s.judge_model):
            return []
        return [Endpoint(role, s.judge_base_url, s.judge_model, s.judge_api_key_env)]

    # -- identity -----------------------------------------------------------------
    @property
    def checkpoint(self) -> str | None:
        """Short label of the scoring model, appended to reported names; None for pure formulas."""
        return None

    def reported_names(self) -> list[str]:
        bases = list(self.reports) or [self.name]
        return [metric_name(b, self.checkpoint) for b in bases]

    def version(self) -> dict[str, Any]:
        """Parameters that define the number (checkpoint, layer, rescale, judge, prompt hash...)."""
        return {"metric": self.name, "level": self.level, "impl": "erbench-1"}

    def available(self) -> tuple[bool, str]:
        """(True, "") when computable here; else (False, reason) and the suite reports it."""
        return True, ""

    # -- scoring --------------------------------------------------------------------
    def compute(self, batch: Batch) -> list[MetricValue]:
        raise NotImplementedError

    # -- helpers for subclasses -------------------------------------------------------
    def value(
        self,
        name: str,
        value: float,
        n: int,
        per_sample: list[float] | None = None,
        higher_is_better: bool | None = None,
        checkpoint_in_name: bool = True,
    ) -> MetricValue:
        full = metric_name(name, self.checkpoint) if checkpoint_in_name else name
        hib = self.higher_is_better if higher_is_better is None else higher_is_better
        return MetricValue(full, float(value), int(n), hib, self.version(), per_sample)

    def value_from_samples(
        self, name: str, scores: Sequence[float], higher_is_better: bool | None = None
    ) -> MetricValue:
        """Mean of per-sample scores, keeping them for *_std, significance and per-example files."""
        scores = [float(s) for s in scores]
        mean = statistics.fmean(scores) if scores else float("nan")
        return self.value(name, mean, len(scores), scores, higher_is_better)


def std_values(values: Sequence[MetricValue]) -> list[MetricValue]:
    """`<name>_std` for every value with per-sample scores: the population std (ddof=0), the
    papers' *_std columns."""
    out = []
    for v in values:
        name = MetricName.parse(v.name)
        if v.per_sample is None or name.is_std:
            continue
        out.append(
            MetricValue(
                str(name.std()), _pstdev(v.per_sample), v.n, False, {**v.version, "stat": "pstd"}, None
            )
        )
    return out


def _pstdev(values: Sequence[float]) -> float:
    return statistics.pstdev(values) if values else float("nan")
