"""Which runs fill which rows of a spec: runs are matched to rows by method and config
selector (the run's effective config and the settings it changed from their defaults, both
held by the results store), grouped by dataset and seed.

A run maps to exactly one cell per column: a run that two rows select is an error (except the
shared default point of a one-at-a-time sweep figure: one cell per axis), and of two runs of
one (row, dataset, seed) only the latest counts (the other is listed in `Table.notes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bench.api.config_keys import same_setting
from bench.api.errors import BenchError
from bench.results import ResultsStore
from bench.scored_records import ScoredRecords
from leaderboards.spec import RowSpec, Spec

_MISSING = object()


@dataclass
class RunInfo:
    run_id: str
    method: str
    dataset: str
    seed: int
    cfg_hash: str
    profile: str | None
    run_dir: str
    finished_at: str | None
    config: dict[str, Any]  # flattened effective config, as the store holds it
    # {key: default} of the settings the run changed (None: unknown, an old folder)
    changed_from_defaults: dict[str, Any] | None = None
    scored: ScoredRecords = ScoredRecords(None, None, None, None)
    # how the data it read differs from the dataset spec (bench.data.report.data_issues)
    data_issues: tuple[str, ...] = ()


def load_runs(store: ResultsStore) -> list[RunInfo]:
    """Every run of the store with its settings: read from the store alone."""
    runs = []
    for r in store.runs():
        scored = ScoredRecords(r["records_digest"], r["n_scored"], r["n_test"], r["split_digest"])
        runs.append(
            RunInfo(
                r["run_id"], r["method"], r["dataset"], int(r["seed"]), r["cfg_hash"],
                r.get("profile"), r["run_dir"], r.get("finished_at"), r["config"],
                r["changed_from_defaults"], scored, tuple(r.get("data_issues") or ()),
            )
        )  # fmt: skip
    return runs


def row_matches(row: RowSpec, run: RunInfo, axis_keys: Iterable[str]) -> bool:
    """Same method; every selector key has the selector's value; every other axis key of the
    spec is at its default; and every other setting the run changed from its profile's
    defaults (`changed_from_defaults`) is one of the row's selectors: an ablation or a
    `--set` run is not the row's default run, whether or not the spec has a row for it.
    Scoring-only eval.* keys are exempt (metric names carry their checkpoints)."""
    if row.method != run.method:
        return False
    for key, wanted in row.sets.items():
        value = run.config.get(key, _MISSING)
        if value is _MISSING or not same_setting(value, wanted):
            return False
    axes = set(axis_keys)
    changed = run.changed_from_defaults or {}
    return all(key in row.sets or (key.startswith("eval.") and key not in axes) for key in changed)


def why_set_aside(row: RowSpec, run: RunInfo, axis_keys: Iterable[str]) -> str:
    """Why `run` (of the row's method) does not fill `row`: the first selector it misses or
    the first setting it changed that the row does not select (row_matches' rules)."""
    for key, wanted in row.sets.items():
        value = run.config.get(key, _MISSING)
        if value is _MISSING or not same_setting(value, wanted):
            shown = "unset" if value is _MISSING else f"{key}={value!r}"
            return f"{shown}, the row selects {key}={wanted!r}"
    axes = set(axis_keys)
    for key, default in (run.changed_from_defaults or {}).items():
        if key not in row.sets and not (key.startswith("eval.") and key not in axes):
            return f"it changed {key} to {run.config.get(key)!r} (default {default!r}), a setting the row does not select"
    return "it does not match the row"


def missing_reason(
    row: RowSpec, dataset: str, runs: list[RunInfo], axis_keys: Iterable[str], used: set[str]
) -> str:
    """What a missing reproduced cell says: no run, or the runs of its method and dataset that
    fill no cell of the table (`used`: the run ids that do) and why they were set aside."""
    others = [r for r in runs if r.method == row.method and r.dataset == dataset and r.run_id not in used]
    if not others:
        return "no finished run"
    first = others[0]
    more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
    return (f"no finished run with the row's settings; {first.run_id}{more} set aside: "
            f"{why_set_aside(row, first, axis_keys)}")  # fmt: skip


def assign_runs(
    spec: Spec, runs: list[RunInfo]
) -> tuple[dict[tuple[str, str], dict[int, RunInfo]], list[str]]:
    """(row id, dataset) -> seed -> run, and notes about runs that were set aside."""
    rows = spec.reproduced_rows()
    axis_keys = spec.axis_keys()
    cells: dict[tuple[str, str], dict[int, RunInfo]] = {}
    notes: list[str] = []
    for run in runs:
        if run.dataset not in spec.datasets:
            continue
        hits = [row for row in rows if row_matches(row, run, axis_keys)]
        if len(hits) > 1 and not _shared_sweep_point(hits):
            raise BenchError(
                f"run {run.run_id} matches rows {', '.join(r.id for r in hits)} of spec "
                f"{spec.name!r}; a run must map to exactly one cell — make the selectors disjoint"
            )
        for hit in hits:
            by_seed = cells.setdefault((hit.id, run.dataset), {})
            other = by_seed.get(run.seed)
            if other is not None and other.run_id != run.run_id:
                keep, drop = max(run, other, key=_preference), min(run, other, key=_preference)
                by_seed[run.seed] = keep
                why = (
                    f"it read modified data ({'; '.join(drop.data_issues)})"
                    if drop.data_issues and not keep.data_issues
                    else "the later run is used"
                )
                notes.append(f"{drop.run_id}: same row, dataset and seed as {keep.run_id}; {why}")
            else:
                by_seed[run.seed] = run
    used = {run.run_id: run for by_seed in cells.values() for run in by_seed.values()}
    notes += [
        f"{run.run_id}: read modified data ({'; '.join(run.data_issues)}); its numbers may not "
        "compare with runs on the dataset as published"
        for run in used.values()
        if run.data_issues
    ]
    return cells, notes


def _preference(run: RunInfo) -> tuple[bool, str]:
    """Between two runs of one cell: a run on the data as its spec records it beats one on
    modified data (another file, skipped lines), whatever their age; then the later wins."""
    return (not run.data_issues, run.finished_at or "")


def _shared_sweep_point(hits: list[RowSpec]) -> bool:
    """One-at-a-time sweeps share their default point: the run with beta and delta both at
    default is the beta=0.05 point of one axis and the delta=1.0 point of the other. That run
    may sit in one virtual row per axis (of the same spec row), and nowhere else."""
    axes = [h.x[0] for h in hits if h.x is not None]
    return len(axes) == len(hits) == len(set(axes)) and len({h.base_id for h in hits}) == 1
