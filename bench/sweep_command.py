"""`bench sweep --spec S`: plan a spec's cells, check them all, run them here or as cluster jobs
(bench.cluster), then render the table from the store."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def sweep_spec(
    spec: str,
    seeds: int | None,
    profile: str | None,
    dry_run: bool,
    sets: Sequence[str],
    runs_dir: str | Path,
    data_dir: str | None,
    skip_unavailable: bool = False,
    cluster: Any = None,
) -> int:
    """Plan, check and run a spec's cells, then render it. `cluster` (bench.cluster.
    ClusterOptions) runs the cells as submitit jobs instead of one after another here."""
    from rich.console import Console

    from bench.api.errors import BenchError
    from bench.sweep import plan, print_plan, run_plan, summary_line, unavailable_summary
    from leaderboards.commands import (
        build,
        get_spec,
        open_store,
        render_all,
        report_missing,
        selectors,
    )

    the_spec = get_spec(spec)
    if seeds is None:  # no --seeds: the spec's own count (the papers' tables use 3)
        seeds = the_spec.seeds
    if seeds < 1:
        raise BenchError("--seeds must be at least 1")
    console = Console(stderr=True)
    planned = plan(
        the_spec,
        seeds=seeds,
        profile=profile,
        sets=list(sets),
        runs_dir=runs_dir,
        data_dir=data_dir,
    )
    if dry_run:
        print_plan(planned, Console())
        return 0
    problems = unavailable_summary(planned)
    if problems and not skip_unavailable:  # checked before any cell starts
        raise BenchError(
            f"sweep not started: {problems}; fix these or pass --skip-unavailable to run the rest"
        )
    print_plan(planned, console)
    if cluster is None:
        failures = run_plan(planned, console)
    else:
        from bench.cluster import CellCommand, run_plan_as_jobs

        command = CellCommand(profile=profile, sets=tuple(sets), data_dir=data_dir)
        failures = run_plan_as_jobs(planned, console, cluster, command, name=f"erbench-{the_spec.name}")
    out = Path(runs_dir) / "tables"
    store = open_store(runs_dir)
    the_spec = the_spec.with_selectors(selectors(sets))  # the cells this sweep made
    if the_spec.kind == "arena":  # the judge is its own step; the table only reads its votes
        from bench.judge_step import judge

        judge(the_spec, runs_dir)
    table, extra = build(the_spec, store)
    formats = ["md", "csv"] + (["png"] if the_spec.kind not in ("table", "arena") else [])
    written = render_all(the_spec, table, extra, formats, out)
    sys.stdout.write(Path(written["md"]).read_text(encoding="utf-8"))
    for _fmt, path in written.items():
        console.print(f"wrote {path}", soft_wrap=True, highlight=False, markup=False)
    console.print(summary_line(planned, failures), soft_wrap=True, highlight=False, markup=False)
    if failures:
        return 1
    report_missing(table, strict=True)
    return 0
