"""A run page's data: the effective config (settings changed from the profile's defaults
first), provenance with per-stage timings, every metric row with its version (scorer
checkpoint, judge) and the reasons of unavailable metrics, and the train log as curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.api.metrics_file import MetricsFile
from bench.api.run_folder import RunFolder
from bench.results import run_settings

MAX_CURVE_POINTS = 400  # per (stage, value): longer logs are thinned evenly, last point kept


def config_sections(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """{"changed": [{key, value, default}], "rest": [{key, value}]}, keys in config order."""
    config, recorded = run_settings(run_dir)
    changed = recorded or {}
    first = [{"key": k, "value": config.get(k), "default": d} for k, d in changed.items()]
    rest = [{"key": k, "value": v} for k, v in config.items() if k not in changed]
    return {"changed": first, "rest": rest, "changed_known": recorded is not None}


def _thin(points: list[list[float]]) -> list[list[float]]:
    if len(points) <= MAX_CURVE_POINTS:
        return points
    step = len(points) / MAX_CURVE_POINTS
    return [points[int(i * step)] for i in range(MAX_CURVE_POINTS - 1)] + [points[-1]]


def curves(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One curve per (stage, numeric value) of train_log.jsonl: [{stage, key, points}], points
    [[step, value], ...] (at most MAX_CURVE_POINTS)."""
    series: dict[tuple[str, str], list[list[float]]] = {}
    for row in log:
        stage, step = str(row.get("stage", "")), row.get("step")
        if not isinstance(step, (int, float)):
            continue
        for key, value in row.items():
            if key in ("stage", "step", "time") or isinstance(value, bool):
                continue
            if isinstance(value, (int, float)):
                series.setdefault((stage, key), []).append([step, value])
    return [{"stage": s, "key": k, "points": _thin(p)} for (s, k), p in series.items()]


def stage_seconds(folder: RunFolder) -> dict[str, float | None]:
    """{stage: seconds it trained} from each finished stage's DONE marker, in name order."""
    out: dict[str, float | None] = {}
    for name in folder.finished_stages():
        seconds = folder.read_stage_marker(name).get("seconds")
        out[name] = seconds if isinstance(seconds, (int, float)) else None
    return out


def run_page(run: Any, metrics: MetricsFile, n_records: int, chunks: int, metric_names: list[str]) -> dict[str, Any]:
    """Everything the run page shows but the explanations (those are the record chunks)."""
    run_dir = Path(run.run_dir)
    folder = RunFolder(run_dir)
    provenance = folder.read_provenance()
    return {
        "id": run.run_id,
        "method": run.method,
        "dataset": run.dataset,
        "seed": run.seed,
        "profile": run.profile,
        "finished_at": run.finished_at,
        "config": config_sections(run_dir),
        "provenance": provenance,
        "stage_seconds": stage_seconds(folder),
        "data_issues": list(run.data_issues),
        "metrics": [
            {"metric": r.get("metric"), "split": r.get("split"), "value": r.get("value"), "n": r.get("n"),
             "higher_is_better": r.get("higher_is_better"), "version": r.get("metric_version") or {}}
            for r in metrics.rows
        ],  # fmt: skip
        "unavailable": metrics.unavailable,
        "curves": curves(folder.read_train_log()),
        "records": n_records,
        "chunks": chunks,
        "per_example_metrics": metric_names,
    }
