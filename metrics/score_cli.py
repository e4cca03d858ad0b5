"""What `bench score` calls: rescore a run folder, or score a pairs file.

score_run_dir(run_dir, eval_cfg)  -> ScoreReport; rewrites metrics.json and per_example.jsonl
score_pairs(path, eval_cfg)       -> ScoreReport (nothing written)
report_to_json(report)            -> {"n", "metrics", "unavailable", "not_applicable"}
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.progress import ProgressSink
from metrics.pairs import pairs_to_rows
from metrics.suite import ScoreReport, score_rows

METRICS_SCHEMA_VERSION = 1  # the same schema bench.runner writes


def _default_cfg(eval_cfg: Any) -> Any:
    if eval_cfg is None:
        from bench.config import EvalConfig

        return EvalConfig()
    return eval_cfg


def score_run_dir(
    run_dir: str | Path,
    eval_cfg: Any = None,
    *,
    train_records: list[Any] | None = None,
    cache_dir: Path | None = None,
    progress: ProgressSink | None = None,
    judge: Callable[[list[str]], list[float]] | None = None,
) -> ScoreReport:
    """Rescore <run_dir>/predictions.jsonl; write metrics.json and per_example.jsonl atomically.

    Run identity (method, dataset, seed) comes from the existing metrics.json `run` block or
    config.resolved.yaml. The embedded coherence classifier needs `train_records` unless a
    trained one is already cached under <run_dir>/cache. DIV/FCR use the feature vocabulary the
    run saved (<run_dir>/feature_vocabulary.json)."""
    from bench.feature_truth import read_vocabulary
    from bench.rundir import atomic_write_json, atomic_write_jsonl, read_jsonl

    run_dir = Path(run_dir)
    pred_file = run_dir / "predictions.jsonl"
    if not pred_file.exists():
        raise BenchError(f"{run_dir} has no predictions.jsonl; run the method first")
    eval_cfg = _default_cfg(eval_cfg)
    rows = read_jsonl(pred_file)
    report = score_rows(
        rows,
        eval_cfg,
        train_records=train_records,
        cache_dir=cache_dir or run_dir / "cache",
        progress=progress,
        judge=judge,
        feature_set=read_vocabulary(run_dir),
    )
    info = _run_info(run_dir)
    payload = [
        {
            "run_id": info["run_id"],
            "method": info.get("method"),
            "dataset": info.get("dataset"),
            "split": eval_cfg.split,
            "seed": info.get("seed"),
            **v.to_row(),
        }
        for v in report.values
    ]
    atomic_write_jsonl(run_dir / "per_example.jsonl", report.per_example)
    atomic_write_json(
        run_dir / "metrics.json",
        {
            "schema_version": METRICS_SCHEMA_VERSION,
            "run": {**info, "rescored_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
            "rows": payload,
            "unavailable": report.unavailable,
        },
    )
    return report


def _run_info(run_dir: Path) -> dict[str, Any]:
    import json

    info: dict[str, Any] = {"run_id": run_dir.name}
    metrics_file = run_dir / "metrics.json"
    if metrics_file.exists():
        try:
            old = json.loads(metrics_file.read_text(encoding="utf-8")).get("run") or {}
            info.update({k: v for k, v in old.items() if k != "rescored_at"})
        except ValueError:
            pass
    cfg_file = run_dir / "config.resolved.yaml"
    if cfg_file.exists() and "method" not in info:
        import yaml

        cfg = yaml.safe_load(cfg_file.read_text(encoding="utf-8")) or {}
        info.update({k: cfg.get(k) for k in ("method", "dataset", "seed")})
    return info


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
