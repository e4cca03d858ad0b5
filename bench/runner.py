"""One cell of a benchmark: load data, split, fit, predict, score, store.

Every file of the run folder is written atomically and DONE comes last, so a killed run
leaves no half-written metrics.json; `resume=True` continues an unfinished folder, reusing
every stage that finished.
"""

from __future__ import annotations

import random
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api.config_keys import flatten
from bench.api.errors import BenchError
from bench.api.eval_sample import eval_sample
from bench.api.method import Method
from bench.api.metrics_file import MetricsFile
from bench.api.records import PredictionRow, Record
from bench.api.run_folder import RunContext, RunFolder
from bench.api.threads import torch_threads
from bench.config import RunConfig, dump_yaml, to_dict
from bench.data.feature_truth import FeatureTruth, mine_feature_truth
from bench.identity import (
    RunIdentity,
    changed_from_defaults,
    effective_config,
    identify,
    method_class,
)
from bench.results import ResultsStore, default_store_path
from bench.runlock import run_lock


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


def validate(cfg: RunConfig) -> RunIdentity:
    """Everything that can be checked before work starts: the method and its parameters (and
    their ranges, bench.checks.ranges), the metric names, the GPTScore prompt file, the data
    files (hashed for the run identity). Raises a one-line BenchError."""
    from bench.checks.ranges import check_ranges
    from bench.trackers import check_trackers

    check_ranges(effective_config(cfg)[1], "model")  # before any file is read
    check_ranges(cfg.data, "data")
    check_ranges(cfg.eval, "eval")
    identity = identify(cfg)

    check_trackers(cfg.report_to)  # a missing tracker package fails now, not after training
    if cfg.eval.metrics:
        from metrics.suite import select_metrics

        select_metrics(cfg.eval.metrics)
    if cfg.eval.judge_prompt_file:
        from metrics.gptscore import read_prompt_file

        read_prompt_file(cfg.eval.judge_prompt_file)
    return identity


def execute(
    cfg: RunConfig, *, resume: bool = False, force: bool = False, quiet: bool = False,
    index: bool = True,
) -> RunResult:
    """Run one (method, dataset, seed, config) cell end to end.

    Under a launcher (`accelerate launch -m bench.cli run …`) every process calls this: the
    main one validates, holds the run lock and decides what happens to the folder, and tells
    the others (bench.api.distributed); all of them train, the main one alone predicts, scores
    and writes. `index=False` leaves the results store alone (cluster jobs of a sweep: the
    sweep indexes the finished folders itself, so SQLite never has concurrent writers).
    """
    from bench.api import distributed
    from bench.checks.device import check_device

    check_device(cfg.device)  # in every process: each computes on it
    distributed.process_device(cfg.device)  # a device the launch cannot honour fails everywhere
    distributed.world(cfg.device)
    identity = distributed.from_main(lambda: validate(cfg))
    with torch_threads(cfg.threads), _lock_on_main(identity.run_dir):  # threads: this run only
        return _execute(identity, resume=resume, force=force, quiet=quiet, index=index)


@contextmanager
def _lock_on_main(run_dir: Path) -> Iterator[None]:
    """The run lock, held by the main process only; the others learn whether it was taken."""
    from bench.api import distributed

    with ExitStack() as stack:
        distributed.from_main(lambda: stack.enter_context(run_lock(run_dir)))
        yield


def _reuse_or_prepare(run_dir: Path, *, resume: bool, force: bool) -> bool:
    """True for a finished folder to reuse; else the folder is ready for work (emptied by
    --force); an unfinished one without --resume is an error."""
    from bench.api.run_folder import remove_stale_temps

    remove_stale_temps(run_dir)  # left by a kill -9 inside an atomic write; we hold the lock
    if RunFolder(run_dir).is_done() and not force:
        return True
    if run_dir.exists() and force:
        shutil.rmtree(run_dir)
    elif run_dir.exists() and not resume:
        raise BenchError(
            f"run folder {run_dir} exists but is unfinished ({_finished_stages_text(run_dir)}); "
            "pass --resume to continue it or --force to start over"
        )
    return False


def _execute(identity: RunIdentity, *, resume: bool, force: bool, quiet: bool, index: bool) -> RunResult:
    from bench.api import distributed

    cfg, run_id, run_dir = identity.cfg, identity.run_id, identity.run_dir
    cls = method_class(cfg.method)
    main = distributed.is_main()
    store = ResultsStore(default_store_path(cfg.runs_dir)) if index and main else None

    if distributed.from_main(lambda: _reuse_or_prepare(run_dir, resume=resume, force=force)):
        if main:
            _record_defaults_of_request(run_dir, cfg)
        if store is not None:
            store.add_run(run_dir)  # the store may have been lost; the folder is the truth
        metrics = MetricsFile.read(run_dir)
        return RunResult(run_id, run_dir, metrics.rows, metrics.unavailable, reused=True)
    from bench.api.progress import silent_bar, third_party_bars_off, use_progress
    from bench.warnings_log import route_third_party_warnings

    try:
        with ExitStack() as stack:
            # the other processes of a launched run write into a scratch folder, never the run's
            work_dir = run_dir if main else stack.enter_context(distributed.scratch_folder(run_id))
            # library notices go to the log, not the terminal; bars opened deep inside (TRL,
            # PPO, scoring, encoders) follow --quiet
            stack.enter_context(route_third_party_warnings(RunFolder(work_dir).run_log))
            stack.enter_context(use_progress(silent_bar if quiet or not main else None))
            if quiet or not main or not sys.stderr.isatty():  # no HF tqdm lines in logs either
                stack.enter_context(third_party_bars_off())
            result = _work(identity, cls, store, work_dir=work_dir, resume=resume, quiet=quiet or not main)
    except BaseException as exc:
        if main:
            _after_failure(run_dir, exc)
        raise
    if cfg.report_to and main:
        from bench.trackers import report_run

        report_run(cfg.report_to, run_dir, flatten(to_dict(cfg)), RunFolder(run_dir).read_train_log(), result.rows)
    return result


def _record_defaults_of_request(run_dir: Path, cfg: RunConfig) -> None:
    """A finished run requested again is the same computation (same hash), but the request may
    name it differently: once a profile's defaults move to its settings (an ablation that became
    the default), it is the default run. Its record follows the latest request, noted in
    provenance.json `defaults_rerecorded`, so tables place it where today's request would.
    eval.* entries stay as recorded: `bench score` may have rescored the folder since."""
    folder = RunFolder(run_dir)
    if not folder.provenance.exists():
        return
    recorded = folder.read_provenance()
    before = recorded.get("changed_from_defaults")
    if before is None:
        return
    now = {k: v for k, v in changed_from_defaults(cfg).items() if not k.startswith("eval.")}
    now.update({k: v for k, v in before.items() if k.startswith("eval.")})
    if before == now:
        return
    recorded["changed_from_defaults"] = now
    recorded.setdefault("defaults_rerecorded", []).append(
        {"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "changed_from_defaults_before": before}
    )
    folder.write_provenance(recorded)


def _after_failure(run_dir: Path, exc: BaseException) -> None:
    """A run that failed before finishing any stage leaves nothing that blocks the next
    attempt; one that finished stages keeps them and says how to continue."""
    finished = RunFolder(run_dir).finished_stages()
    if not finished:
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    if isinstance(exc, BenchError) and exc.args:
        exc.args = (
            f"{exc.args[0]} (run folder {run_dir} keeps finished stage(s) {', '.join(finished)}; "
            "fix this and rerun with --resume to continue from them)",
            *exc.args[1:],
        )


def _finished_stages_text(run_dir: Path) -> str:
    finished = RunFolder(run_dir).finished_stages()
    return f"finished stages: {', '.join(finished)}" if finished else "no finished stage"


def _work(
    identity: RunIdentity, cls: type[Method], store: ResultsStore | None, *, work_dir: Path,
    resume: bool, quiet: bool,
) -> RunResult:
    from bench.api import distributed

    cfg, run_id, run_dir = identity.cfg, identity.run_id, identity.run_dir
    work_dir.mkdir(parents=True, exist_ok=True)
    folder = RunFolder(run_dir)
    RunFolder(work_dir).write_config(dump_yaml(to_dict(cfg)))
    seed_everything(cfg.seed)

    from bench import data as data_layer
    from bench import provenance

    loaded = data_layer.load_dataset(cfg.dataset, cfg.data, seed=cfg.seed)
    splits = data_layer.make_splits(loaded, cfg.data, cfg.seed)
    RunFolder(work_dir).write_splits(splits.info)

    ctx = RunContext(work_dir, cfg, resume=resume, quiet=quiet, finished_stages_in=run_dir)
    distributed.select_device(ctx.device)  # "cuda:N": libraries placing models on "cuda" use GPU N
    method = cls(identity.params, ctx)
    started = time.time()
    method.fit(splits)
    fit_seconds = time.time() - started
    if not distributed.is_main():  # trained alongside the main process, which does the rest
        return RunResult(run_id, run_dir, [], stages_run=list(ctx.stages_run), stages_reused=list(ctx.stages_reused))

    test = _eval_records(splits.test, cfg, run_dir)
    started = time.time()
    predictions = method.predict(test)
    predict_seconds = time.time() - started
    if len(predictions) != len(test):
        raise BenchError(
            f"method {cfg.method!r} returned {len(predictions)} predictions for {len(test)} records"
        )
    _check_outputs(cls, predictions)
    truth = _feature_truth(cls, cfg, splits.train, run_dir)
    rows = [
        PredictionRow.of(i, rec, pred, truth.feature_of(rec) if truth else None).to_dict()
        for i, (rec, pred) in enumerate(zip(test, predictions, strict=True))
    ]
    folder.write_predictions(rows)

    from metrics.suite import score_rows

    started = time.time()
    report = score_rows(
        rows, cfg.eval, train_records=splits.train, cache_dir=ctx.cache_dir,
        feature_set=truth.vocabulary if truth else None, seed=cfg.seed,
    )  # fmt: skip
    score_seconds = time.time() - started
    folder.write_per_example(report.per_example)

    info = {
        "run_id": run_id,
        "method": cfg.method,
        "dataset": cfg.dataset,
        "seed": cfg.seed,
        "cfg_hash": identity.cfg_hash,
        "profile": cfg.profile,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    metrics = MetricsFile.of(info, cfg.eval.split, report.values, report.unavailable)
    folder.write_provenance(
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
                "checkpoints": _checkpoints(metrics.rows),
                "changed_from_defaults": changed_from_defaults(cfg),
            },
        ),
    )
    metrics.write(run_dir)
    folder.mark_done(info["finished_at"])
    if store is not None:
        store.add_run(run_dir)
    return RunResult(
        run_id, run_dir, metrics.rows, dict(report.unavailable),
        stages_run=list(ctx.stages_run), stages_reused=list(ctx.stages_reused),
    )  # fmt: skip


def _eval_records(test: list[Record], cfg: RunConfig, run_dir: Path) -> list[Record]:
    sample = eval_sample(len(test), cfg.eval.max_records, cfg.seed)
    records = list(test) if sample is None else [test[i] for i in sample]
    if sample is not None:  # recorded, so anyone can tell which records a row was scored on
        RunFolder(run_dir).write_eval_sample(
            {"max_records": cfg.eval.max_records, "seed": cfg.seed, "of": len(test), "test_indices": sample},
        )
    if cfg.eval.mask_ratio:
        from bench.data.masking import mask_records

        records = mask_records(records, cfg.eval.mask_ratio, seed=cfg.seed)
    return records


def _feature_truth(
    cls: type[Method], cfg: RunConfig, train: list[Record], run_dir: Path
) -> FeatureTruth | None:
    """The dataset's feature vocabulary and each record's own feature (bench.data.feature_truth), for
    PETER's DIV/FCR/FMR: mined when the method explains and those metrics are wanted, and saved
    in the run folder so `bench score` rescores with the same vocabulary."""
    if "explanation" not in cls.produces:
        return None
    if cfg.eval.metrics:
        from metrics.suite import select_metrics

        if "feature" not in select_metrics(cfg.eval.metrics):
            return None
    truth = mine_feature_truth(train, cfg.data.explanation_max_words)
    if truth is not None:
        RunFolder(run_dir).write_feature_vocabulary(truth.to_json())
    return truth


def _check_outputs(cls: type[Method], predictions: list[Any]) -> None:
    """A method must fill what it declares it produces."""
    for kind in cls.produces:
        missing = sum(getattr(p, kind) is None for p in predictions)
        if missing:
            raise BenchError(f"{cls.__name__} declares {kind!r} but left it empty for {missing} records")


def _checkpoints(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Which scorer checkpoint produced each metric (also inside each metric row)."""
    return {r["metric"]: r["metric_version"].get("checkpoint") for r in rows if r["metric_version"].get("checkpoint")}
