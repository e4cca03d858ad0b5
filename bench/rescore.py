"""`bench score RUN`: rescore a finished run folder's predictions, and say so in its records.

The rows it rescored replace theirs in metrics.json and per_example.jsonl; every other row
stays. config.resolved.yaml then holds the eval settings of the latest scoring and
provenance.json lists each rescoring under `rescored` (when, the eval overrides, the metrics
written and those unavailable), so a row's config is never silently another's. The results
store is updated when the run is finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.api.config_keys import flatten, same_setting
from bench.api.errors import BenchError
from bench.api.metrics_file import MetricsFile
from bench.api.progress import ProgressSink
from bench.api.run_folder import RunFolder
from bench.config import RunConfig, build_dataclass, deep_merge, dump_yaml, to_dict
from bench.identity import NOT_SETTINGS


def run_config(run_dir: Path, eval_overrides: dict[str, Any] | None = None) -> RunConfig:
    """The run's saved config with `eval_overrides` layered over its eval section."""
    folder = RunFolder(run_dir)
    if not folder.config.exists():
        raise BenchError(f"{run_dir} is not a run folder (no {folder.config.name})")
    raw = folder.read_config()
    raw["eval"] = deep_merge(raw.get("eval") or {}, eval_overrides or {})
    return build_dataclass(RunConfig, raw)


def train_split(cfg: RunConfig) -> list[Any]:
    """The run's train split rebuilt from its saved data config and seed (for scorers trained
    on it, e.g. the coherence classifier)."""
    from bench import data as data_layer

    loaded = data_layer.load_dataset(cfg.dataset, cfg.data, seed=cfg.seed)
    return data_layer.make_splits(loaded, cfg.data, cfg.seed).train


def rescore_run(
    run_dir: str | Path,
    eval_overrides: dict[str, Any] | None = None,
    *,
    train_records: list[Any] | None = None,
    progress: ProgressSink | None = None,
    judge: Callable[[list[str]], list[float]] | None = None,
) -> Any:
    """Score <run_dir>/predictions.jsonl with the run's eval config plus `eval_overrides` and
    record it (module doc). Returns the metrics.suite.ScoreReport."""
    from bench.data.feature_truth import read_vocabulary
    from metrics.suite import score_rows

    run_dir = Path(run_dir)
    folder = RunFolder(run_dir)
    cfg = run_config(run_dir, eval_overrides)
    if not folder.predictions.exists():
        raise BenchError(f"{run_dir} has no {folder.predictions.name}; run the method first")
    report = score_rows(
        folder.read_predictions(), cfg.eval, train_records=train_records,
        cache_dir=run_dir / "cache", progress=progress, judge=judge,
        feature_set=read_vocabulary(run_dir), seed=cfg.seed,
    )  # fmt: skip
    _metrics_file(run_dir, cfg).updated(cfg.eval.split, report.values, report.unavailable).write(
        run_dir
    )
    folder.write_per_example(merge_per_example(folder.read_per_example(), report.per_example))
    _record(folder, cfg, eval_overrides or {}, report)
    if folder.is_done():  # keep the store in step with the folder
        from bench.results import ResultsStore, default_store_path

        ResultsStore(default_store_path(run_dir.parent)).add_run(run_dir)
    return report


def _metrics_file(run_dir: Path, cfg: RunConfig) -> MetricsFile:
    if RunFolder(run_dir).metrics.exists():
        return MetricsFile.read(run_dir)
    return MetricsFile({"run_id": run_dir.name, "method": cfg.method, "dataset": cfg.dataset, "seed": cfg.seed})


def merge_per_example(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per-record scores by idx: the new scores replace those of the same metric, others stay."""
    by_idx: dict[Any, dict[str, Any]] = {row["idx"]: dict(row) for row in old}
    for row in new:
        by_idx.setdefault(row["idx"], {"idx": row["idx"]}).update(row)
    return list(by_idx.values())


def _record(folder: RunFolder, cfg: RunConfig, overrides: dict[str, Any], report: Any) -> None:
    saved = folder.read_config()
    before = flatten(saved)
    saved["eval"] = to_dict(cfg.eval)
    folder.write_config(dump_yaml(saved))
    provenance = folder.read_provenance()
    if "changed_from_defaults" in provenance:  # a key at its default before had that value
        changed = provenance["changed_from_defaults"]
        for key, value in flatten({"eval": saved["eval"]}).items():
            if key in NOT_SETTINGS:
                continue
            default = changed.get(key, before.get(key))
            if same_setting(value, default):
                changed.pop(key, None)
            else:
                changed[key] = default
    provenance.setdefault("rescored", []).append(
        {
            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "eval_overrides": overrides,
            "metrics": [v.name for v in report.values],
            "unavailable": sorted(report.unavailable),
        }
    )
    folder.write_provenance(provenance)
