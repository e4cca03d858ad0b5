"""Plan and run every cell a spec needs: rows (with their selectors) x datasets x seeds.

A planned run is DONE (finished folder: skipped), RESUME (unfinished folder: continued with
execute(cfg, resume=True)), NEW, or UNAVAILABLE (its data or settings fail the checks the
runner makes first, or a checkpoint or endpoint it loads fails bench.preflight: nothing of the
sweep starts until every cell has been checked). Each
cell is named by bench.identity, exactly as `bench run` names it. Published-only rows are
never planned.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api.run_folder import RunFolder
from leaderboards.spec import RowSpec, Spec

DONE, RESUME, NEW, UNAVAILABLE = "done", "resume", "new", "unavailable"


@dataclass
class PlannedRun:
    row: RowSpec
    dataset: str
    seed: int
    cfg: Any  # bench.config.RunConfig
    run_id: str
    run_dir: Path
    status: str
    problem: str | None = None  # why an UNAVAILABLE cell cannot run


def plan(
    spec: Spec,
    *,
    seeds: int,
    profile: str | None = None,
    sets: list[str] | tuple[str, ...] = (),
    runs_dir: str | Path = "runs",
    data_dir: str | None = None,
) -> list[PlannedRun]:
    from bench.api.errors import BenchError
    from bench.config import resolve
    from bench.preflight import run_preflight
    from bench.runner import validate

    overrides: dict[str, Any] = {"runs_dir": str(runs_dir)}
    if data_dir:
        overrides["data"] = {"data_dir": data_dir}
    out: list[PlannedRun] = []
    seen: set[str] = set()
    probed: dict[Any, Any] = {}  # checkpoints and endpoints many cells share are probed once
    for row in spec.reproduced_rows():
        for dataset in spec.datasets:
            if _all_na(spec, row, dataset):
                continue  # the method produces nothing this table shows on that dataset
            for seed in range(seeds):
                # user --set first, the row's selector last: the selector defines the cell
                cfg = resolve(
                    row.method or "",
                    dataset,
                    sets=[*sets, *row.set_args()],
                    seed=seed,
                    profile=profile,
                    overrides=overrides,
                )
                try:
                    identity = validate(cfg)  # the runner's own checks: data files, params, metrics
                except BenchError as exc:
                    label = f"{cfg.method}__{dataset}__s{seed}"
                    out.append(PlannedRun(row, dataset, seed, cfg, label, Path(cfg.runs_dir) / label,
                                          UNAVAILABLE, str(exc)))  # fmt: skip
                    continue
                if identity.run_id in seen:
                    continue
                seen.add(identity.run_id)
                run_dir = identity.run_dir
                status = (
                    DONE if RunFolder(run_dir).is_done() else RESUME if run_dir.exists() else NEW
                )
                try:  # checkpoints, endpoints, device (bench.preflight)
                    report = None if status == DONE else run_preflight(cfg, probed)
                except BenchError:  # a setting out of range: the cell reports it when it starts
                    report = None
                if report is not None and report.failed:
                    out.append(PlannedRun(row, dataset, seed, identity.cfg, identity.run_id, run_dir,
                                          UNAVAILABLE, report.failure_summary()))  # fmt: skip
                    continue
                out.append(PlannedRun(row, dataset, seed, identity.cfg, identity.run_id, run_dir, status))
    return out


def unavailable_summary(planned: list[PlannedRun]) -> str:
    """One line naming each distinct reason cells cannot run (empty when all can)."""
    reasons: dict[str, list[str]] = {}
    for p in planned:
        if p.status == UNAVAILABLE:
            reasons.setdefault(p.problem or "?", []).append(p.run_id)
    return "; ".join(
        f"{len(ids)} cell(s) ({ids[0]}{', …' if len(ids) > 1 else ''}): {reason}"
        for reason, ids in reasons.items()
    )


def _all_na(spec: Spec, row: Any, dataset: str) -> bool:
    ids = [c.id for c in spec.columns if getattr(c, "dataset", None) in (None, dataset)]
    return bool(ids) and all(i in row.na or f"{i}@{dataset}" in row.na for i in ids)


def print_plan(planned: list[PlannedRun], console: Any) -> None:
    """One line per planned run (plain text, never truncated): status, run id, row, selector."""
    console.print(f"{len(planned)} planned run(s)", highlight=False)
    width = max((len(p.row.label) for p in planned), default=0)
    for p in planned:
        selector = " ".join(f"--set {s}" for s in p.row.set_args())
        line = f"  {p.status:<6}  {p.row.label:<{width}}  {p.run_id}" + (
            f"  {selector}" if selector else ""
        )
        console.print(line, soft_wrap=True, highlight=False, markup=False)
        if p.problem:
            console.print(f"      {p.problem}", soft_wrap=True, highlight=False, markup=False)
    counts = {s: sum(p.status == s for p in planned) for s in (DONE, RESUME, NEW, UNAVAILABLE)}
    console.print(
        f"done: {counts[DONE]}  resume: {counts[RESUME]}  new: {counts[NEW]}"
        + (f"  unavailable: {counts[UNAVAILABLE]}" if counts[UNAVAILABLE] else ""),
        highlight=False,
    )


def summary_line(planned: list[PlannedRun], failures: list[tuple[PlannedRun, str]]) -> str:
    """The sweep's last line: what ran, what was already there, what could not run."""
    failed = {id(p) for p, _ in failures}
    ran = sum(p.status in (RESUME, NEW) and id(p) not in failed for p in planned)
    reused = sum(p.status == DONE for p in planned)
    skipped = sum(p.status == UNAVAILABLE for p in planned)
    line = f"sweep: {ran} run, {reused} already done, {skipped} skipped (unavailable), {len(failures)} failed"
    if failures:
        line += " — " + "; ".join(f"{p.run_id}: {message}" for p, message in failures)
    return line


def run_plan(planned: list[PlannedRun], console: Any) -> list[tuple[PlannedRun, str]]:
    """Run what is not done; returns the failures (run, message). A failing run does not stop
    the others."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from bench.api.errors import BenchError
    from bench.results import ResultsStore, default_store_path
    from bench.runner import execute

    failures: list[tuple[PlannedRun, str]] = []
    todo = [p for p in planned if p.status in (RESUME, NEW)]
    for p in planned:
        if p.status == DONE:  # make sure the store knows it (it may have been lost)
            ResultsStore(default_store_path(p.cfg.runs_dir)).add_run(p.run_dir)
    columns = [
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("sweep", total=len(todo))
        for p in todo:
            progress.update(task, description=f"{p.row.label} · {p.dataset} · s{p.seed}")
            try:
                execute(p.cfg, resume=p.status == RESUME, quiet=True)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - reported, the sweep goes on
                message = str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"
                failures.append((p, message))
                progress.console.print(
                    f"failed {p.run_id}: {message}", soft_wrap=True, highlight=False, markup=False
                )
            progress.advance(task)
    return failures
