"""What `bench score --pairs` calls (a run folder is rescored by bench.rescore).

score_pairs(path, eval_cfg)       -> ScoreReport (nothing written)
report_to_json(report)            -> {"n", "metrics", "unavailable", "not_applicable"}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.api.progress import ProgressSink
from metrics.pairs import pairs_to_rows
from metrics.suite import ScoreReport, score_rows


def _default_cfg(eval_cfg: Any) -> Any:
    if eval_cfg is None:
        from metrics.settings import EvalConfig

        return EvalConfig()
    return eval_cfg


def score_pairs(
    path: str | Path,
    eval_cfg: Any = None,
    *,
    progress: ProgressSink | None = None,
    cache_dir: Path | None = None,
) -> ScoreReport:
    """Score a JSONL of {prediction, reference[, rating, predicted_rating]} pairs."""
    return score_rows(
        pairs_to_rows(path), _default_cfg(eval_cfg), progress=progress, cache_dir=cache_dir
    )


def report_to_json(report: ScoreReport) -> dict[str, Any]:
    """What `bench score --json` prints: the values and, by name, why each missing one is missing.

    {"n": records scored, "metrics": {name: value},
     "unavailable": {name: reason}  (requested or applicable, but not computable: no checkpoint,
                                     no judge endpoint, a scorer error),
     "not_applicable": {name: reason}  (the rows lack what the metric needs)}
    """
    return {
        "n": report.n,
        "metrics": {v.name: v.value for v in report.values},
        "unavailable": dict(sorted(report.unavailable.items())),
        "not_applicable": dict(sorted(report.not_applicable.items())),
    }
