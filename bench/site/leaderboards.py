"""The site's leaderboards: every table spec with at least one filled cell, built by
leaderboards.build exactly as `bench tables` builds it (same cells, marks, footnotes, unranked
and missing lists), plus what only a page can show: the runs behind each reproduced cell.

`kind: arena` specs are left out: building them may call the AI judge (leaderboards.arena),
and a site build only reads. Human votes are shown from campaign exports (bench.site.human).
"""

from __future__ import annotations

from typing import Any

from leaderboards.runs import RunInfo, assign_runs
from leaderboards.spec import Spec
from leaderboards.table import (
    MODIFIED_MARK,
    SIG_MARK,
    UNRANKED_MARK,
    Cell,
    Column,
    Table,
    cell_text,
    n_text,
)

SKIPPED_KINDS = {"arena": "built by the AI judge step (bench tables --spec NAME); not read by the site"}


def all_specs(names: list[str] | None = None) -> list[Spec]:
    """The registered table specs (or the named ones / yaml paths), in name order."""
    from bench.api.registry import registry_for
    from leaderboards.commands import get_spec

    return [get_spec(n) for n in (names or sorted(registry_for("tables").names()))]


def _marks(cell: Cell) -> list[dict[str, str]]:
    """The marks bench tables prints after a cell, in its order, each with its reason."""
    marks = []
    if cell.mark:
        marks.append({"mark": SIG_MARK, "class": "sig", "why": "significant against the reference row"
                      + (f" (p = {cell.p:.3g})" if cell.p is not None else "")})  # fmt: skip
    if cell.unranked:
        marks.append({"mark": UNRANKED_MARK, "class": "unranked", "why": cell.unranked})
    if cell.modified:
        marks.append({"mark": MODIFIED_MARK, "class": "modified", "why": f"modified data: {cell.modified}"})
    return marks


def _cell(cell: Cell, col: Column, runs: list[str]) -> dict[str, Any]:
    return {
        "text": cell_text(cell, col),
        "mean": cell.mean,
        "std": cell.std,
        "seeds": cell.n,
        "n": n_text(b.n for b in cell.basis) if cell.basis else None,
        "bold": cell.bold,
        "underline": cell.underline,
        "mark": cell.mark,
        "p": cell.p,
        "unranked": cell.unranked,
        "modified": cell.modified,
        "marks": _marks(cell),
        "missing": cell.missing,
        "na": cell.na,
        "runs": runs,
    }


def table_data(table: Table, assigned: dict[tuple[str, str], dict[int, RunInfo]],
               has_metric: dict[str, set[str]], row_runs: dict[str, list[str]] | None = None) -> dict[str, Any]:  # fmt: skip
    """The page's copy of a built Table; `runs` of a reproduced cell: the run ids whose value
    of the column's metric entered its mean, seed order (or, for a curves summary, the runs of
    its row's curve: `row_runs`)."""
    blocks = []
    for block in table.blocks:
        rows = []
        for row in block.rows:
            cells = []
            for cell, col in zip(row.cells, table.columns, strict=True):
                by_seed = {} if row.published else assigned.get((row.id, col.dataset or block.dataset or ""), {})
                runs = [by_seed[s].run_id for s in sorted(by_seed)
                        if col.spec.stored_name in has_metric.get(by_seed[s].run_id, set())]  # fmt: skip
                if row_runs and row.id in row_runs and cell.mean is not None:
                    runs = row_runs[row.id]
                cells.append(_cell(cell, col, runs))
            rows.append({"id": row.id, "label": row.label, "published": row.published,
                         "group": row.group, "cells": cells})  # fmt: skip
        blocks.append({"title": block.title, "rows": rows})
    return {
        "name": table.name,
        "title": table.title,
        "kind": table.spec.kind,
        "columns": [{"id": c.id, "label": c.label, "top": c.top, "higher_is_better": c.higher_is_better,
                     "official": c.official} for c in table.columns],  # fmt: skip
        "blocks": blocks,
        "footnotes": table.footnotes(),
        "unranked": list(table.unranked),
        "missing": list(table.missing),
        "notes": list(table.notes),
    }


def filled(table: Table) -> bool:
    return any(c.mean is not None for b in table.blocks for r in b.rows if not r.published for c in r.cells)


def leaderboards(specs: list[Spec], store: Any, runs: list[RunInfo]) -> tuple[list[dict[str, Any]], list[str]]:
    """(the tables with a filled cell, one line per spec left out and why)."""
    from leaderboards.build import build_table
    from leaderboards.curves import curve_data, curves_table

    by_split: dict[str, dict[str, set[str]]] = {}
    for mr in store.rows():
        if mr.value is not None:
            by_split.setdefault(mr.split, {}).setdefault(mr.run_id, set()).add(mr.metric)
    out, skipped = [], []
    for spec in specs:
        if spec.kind in SKIPPED_KINDS:
            skipped.append(f"{spec.name}: {SKIPPED_KINDS[spec.kind]}")
            continue
        row_runs = None
        if spec.kind == "curves":
            curves = curve_data(spec, store)
            table, assigned = curves_table(spec, curves), {}
            row_runs = {f"{c.row}/{c.dataset}/{c.label}": c.runs for c in curves}  # curves_table's row ids
        else:
            table = build_table(spec, store, runs=runs)
            assigned, _notes = assign_runs(spec, runs)
        if filled(table):
            out.append(table_data(table, assigned, by_split.get(spec.split, {}), row_runs))
        else:
            skipped.append(f"{spec.name}: no filled cell")
    return out, skipped
