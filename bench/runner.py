"""One cell of a benchmark: load data, split, fit, predict, score, store.

Every file of the run folder is written atomically and DONE comes last, so a killed run
leaves no half-written metrics.json; `resume=True` continues an unfinished folder, reusing
every stage that finished.
"""

from __future__ import annotations

import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import RunConfig, build_dataclass, config_hash, dump_yaml, to_dict
from bench.errors import BenchError
from bench.method import Method
from bench.records import Record, prediction_row
from bench.registry import METHODS, load_builtins
from bench.results import ResultsStore, default_store_path, metric_rows_payload
from bench.rundir import (
    RunContext,
    atomic_write_json,
    atomic_write_jsonl,
    atomic_write_text,
    run_id_for,
)
from bench.threads import torch_threads

METRICS_SCHEMA_VERSION = 1


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    rows: list[dict[str, Any]]
    unavailable: dict[str, str] = field(default_factory=dict)
    reused: bool = False  # True when a finished run was found and nothing was recomputed
    stages_run: list[str] = field(default_factory=list)
    stages_reused: list[str] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:
        pass
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


def method_class(name: str) -> type[Method]:
    load_builtins()
    cls = METHODS.get(name)
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise BenchError(f"method {name!r} does not resolve to a bench.method.Method subclass")
    return cls


def run_dir_for(cfg: RunConfig) -> Path:
    return Path(cfg.runs_dir) / run_id_for(cfg)


def execute(
    cfg: RunConfig, *, resume: bool = False, force: bool = False, quiet: bool = False
) -> RunResult:
    """Run one (method, dataset, seed, config) cell end to end."""
    with torch_threads(cfg.threads):  # cfg.threads: intra-op threads for this run only
        return _execute(cfg, resume=resume, force=force, quiet=quiet)


def _execute(cfg: RunConfig, *, resume: bool, force: bool, quiet: bool) -> RunResult:
    cls = method_class(cfg.method)
    params = build_dataclass(cls.Params, cfg.model, "model")  # unknown model.* keys fail here
    run_id = run_id_for(cfg)
    run_dir = run_dir_for(cfg)
    store = ResultsStore(default_store_path(cfg.runs_dir))

    if (run_dir / "DONE").exists() and not force:
        store.add_run(run_dir)  # the store may have been lost; the folder is the truth
        metrics = _read_json(run_dir / "metrics.json")
        return RunResult(run_id, run_dir, metrics["rows"], metrics.get("unavailable", {}), reused=True)
    if run_dir.exists() and force:
        shutil.rmtree(run_dir)
    elif run_dir.exists() and not resume:
        raise BenchError(
            f"run folder {run_dir} exists but is unfinished; pass --resume to continue it "
            "or --force to start over"
        )

    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.resolved.yaml", dump_yaml(to_dict(cfg)))
    seed_everything(cfg.seed)

    from bench import data as data_layer
    from bench import provenance

    loaded = data_layer.load_dataset(cfg.dataset, cfg.data, seed=cfg.seed)
    splits = data_layer.make_splits(loaded, cfg.data, cfg.seed)
    atomic_write_json(run_dir / "splits.json", splits.info)

    ctx = RunContext(run_dir, cfg, resume=resume, quiet=quiet)
    method = cls(params, ctx)
    started = time.time()
    method.fit(splits)
    fit_seconds = time.time() - started

    test = _eval_records(splits.test, cfg)
    started = time.time()
    predictions = method.predict(test)
    predict_seconds = time.time() - started
    if len(predictions) != len(test):
        raise BenchError(
            f"method {cfg.method!r} returned {len(predictions)} predictions for {len(test)} records"
        )
    _check_outputs(cls, predictions)
    rows = [prediction_row(i, rec, pred) for i, (rec, pred) in enumerate(zip(test, predictions, strict=True))]
    atomic_write_jsonl(run_dir / "predictions.jsonl", rows)

    from metrics.suite import score_rows

    started = time.time()
    report = score_rows(rows, cfg.eval, train_records=splits.train, cache_dir=ctx.cache_dir)
    score_seconds = time.time() - started
    atomic_write_jsonl(run_dir / "per_example.jsonl", report.per_example)

    info = {
        "run_id": run_id,
        "method": cfg.method,
        "dataset": cfg.dataset,
        "seed": cfg.seed,
        "cfg_hash": config_hash(cfg),
        "profile": cfg.profile,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    payload = metric_rows_payload(info, cfg.eval.split, report.values)
    atomic_write_json(
        run_dir / "provenance.json",
        provenance.collect(
            seed=cfg.seed,
            device=ctx.device,
            data_report=loaded.report.to_dict(),
            extra={
                "splits": splits.info,
                "records": {"train": len(splits.train), "valid": len(splits.valid), "test": len(splits.test), "scored": len(test)},
                "stages": {"run": ctx.stages_run, "reused": ctx.stages_reused},
                "seconds": {
                    "fit": round(fit_seconds, 3),
                    "predict": round(predict_seconds, 3),
                    "score": round(score_seconds, 3),
                    "score_by_metric": {k: round(v, 3) for k, v in report.seconds.items()},
                },
                "checkpoints": _checkpoints(payload),
            },
        ),
    )
    atomic_write_json(
        run_dir / "metrics.json",
        {"schema_version": METRICS_SCHEMA_VERSION, "run": info, "rows": payload, "unavailable": report.unavailable},
    )
    atomic_write_text(run_dir / "DONE", info["finished_at"] + "\n")
    store.add_run(run_dir)
    return RunResult(
        run_id, run_dir, payload, dict(report.unavailable),
        stages_run=list(ctx.stages_run), stages_reused=list(ctx.stages_reused),
    )  # fmt: skip


def _eval_records(test: list[Record], cfg: RunConfig) -> list[Record]:
    records = test[: cfg.eval.max_records] if cfg.eval.max_records else list(test)
    if cfg.eval.mask_ratio:
        from bench.data.masking import mask_records

        records = mask_records(records, cfg.eval.mask_ratio, seed=cfg.seed)
    return records


def _check_outputs(cls: type[Method], predictions: list[Any]) -> None:
    """A method must fill what it declares it produces."""
    for kind in cls.produces:
        missing = sum(getattr(p, kind) is None for p in predictions)
        if missing:
            raise BenchError(f"{cls.__name__} declares {kind!r} but left it empty for {missing} records")


def _checkpoints(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Which scorer checkpoint produced each metric (also inside each metric row)."""
    return {r["metric"]: r["metric_version"].get("checkpoint") for r in rows if r["metric_version"].get("checkpoint")}


def _read_json(path: Path) -> dict[str, Any]:
    import json

    return json.loads(path.read_text(encoding="utf-8"))
