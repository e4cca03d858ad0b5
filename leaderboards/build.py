"""Fill a spec's cells from the results store: runs assigned to rows (leaderboards.runs), a
cell the mean ± std over seeds of one stored metric (leaderboards.table), then compared within
each column (leaderboards.ranking). Published numbers sit beside the reproduced rows.
"""

from __future__ import annotations

import math

from bench.api.metric_name import MetricName
from bench.results import MetricRow, ResultsStore
from leaderboards.ranking import compare_records, rank, significance
from leaderboards.runs import RunInfo, assign_runs, load_runs, missing_reason
from leaderboards.spec import ColumnSpec, Spec
from leaderboards.table import Basis, Block, Cell, Column, Row, Table, mean_std


def build_table(
    spec: Spec, store: ResultsStore, *, published: bool = True, runs: list[RunInfo] | None = None
) -> Table:
    runs = load_runs(store) if runs is None else runs
    assigned, notes = assign_runs(spec, runs)
    metric_rows: dict[str, dict[str, MetricRow]] = {}
    for mr in store.rows(split=spec.split):
        metric_rows.setdefault(mr.run_id, {})[mr.metric] = mr

    used_run_ids = {run.run_id for by_seed in assigned.values() for run in by_seed.values()}
    column_specs = _with_variants(
        spec.columns, {m for rid in used_run_ids for m in metric_rows.get(rid, {})}
    )
    datasets_for_blocks: list[str | None] = (
        list(spec.datasets) if spec.layout == "blocks" else [None]
    )
    columns: list[Column] = []
    if spec.layout == "wide":  # dataset groups, metrics inside
        for ds in spec.datasets:
            for cs in column_specs:
                columns.append(_column(cs, ds, spec.dataset_label(ds), cs.label))
    elif spec.layout == "wide-by-metric":  # metric groups, datasets inside
        for cs in column_specs:
            for ds in spec.datasets:
                columns.append(_column(cs, ds, cs.label, spec.dataset_label(ds)))
    else:
        for cs in column_specs:
            columns.append(_column(cs, None, cs.group, cs.label))

    pub = _published_cells(spec) if published else {}
    seeds_seen: set[int] = set()
    blocks: list[Block] = []
    missing: list[str] = []
    for block_ds in datasets_for_blocks:
        rows: list[Row] = []
        for rs in spec.cell_rows():
            if rs.reproduced:
                cells = []
                for col in columns:
                    ds = col.dataset or block_ds
                    by_seed = assigned.get((rs.id, ds), {})
                    seeds_seen.update(by_seed)
                    cell = _reproduced_cell(col, by_seed, metric_rows)
                    col_id = col.spec.variant_of or col.spec.id
                    if cell.mean is None and (col_id in rs.na or f"{col_id}@{ds}" in rs.na):
                        cell.na = True
                    if cell.missing and col.official:
                        why = (
                            missing_reason(rs, ds, runs, spec.axis_keys(), used_run_ids)
                            if not by_seed
                            else f"metric {col.spec.stored_name} not in its run(s)"
                        )
                        missing.append(
                            f"{rs.label} / {spec.dataset_label(ds)} / {col.spec.label}: {why}"
                        )
                    cells.append(cell)
                rows.append(Row(rs.id, rs.label, False, rs.group, rs, cells))
            if rs.published and published:
                cells = []
                for col in columns:
                    ds = col.dataset or block_ds
                    text = pub.get((rs.published, ds, col.spec.id)) if col.official else None
                    cells.append(Cell(text=text, published=True, mean=_to_float(text)))
                label = f"{rs.label} (paper)"
                rows.append(Row(rs.id + "@paper", label, True, rs.group, rs, cells))
        blocks.append(Block(spec.dataset_label(block_ds) if block_ds else None, block_ds, rows))

    table = Table(
        name=spec.name, title=spec.title, source=spec.source, columns=columns, blocks=blocks,
        missing=missing, notes=notes, reference=_ref_label(spec), alpha=spec.alpha,
        seeds=sorted(seeds_seen), spec=spec,
    )  # fmt: skip
    for block in blocks:
        compare_records(table, block)
        if spec.rank:
            rank(table, block)
        if spec.reference:
            significance(table, block, assigned, store)
    return table


def _ref_label(spec: Spec) -> str | None:
    if not spec.reference:
        return None
    return next(r.label for r in spec.rows if r.id == spec.reference)


def _to_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _column(cs: ColumnSpec, dataset: str | None, top: str | None, label: str) -> Column:
    return Column(
        id=f"{dataset}/{cs.id}" if dataset else cs.id, label=label, dataset=dataset, top=top,
        decimals=cs.decimals, higher_is_better=cs.higher_is_better, spec=cs, official=cs.variant_of is None,
    )  # fmt: skip


def _with_variants(columns: list[ColumnSpec], stored: set[str]) -> list[ColumnSpec]:
    """Add a column for every stored checkpoint of a spec'd family that is not the official one
    of any column: `bertscore_f1[all-MiniLM-L6-v2]` never lands under BERTScore (roberta-large)."""
    official = {(c.metric, c.checkpoint) for c in columns}
    first_of_family: dict[str, ColumnSpec] = {}
    for c in columns:
        first_of_family.setdefault(c.metric, c)
    extra: dict[str, list[ColumnSpec]] = {}
    for name in sorted(stored):
        parsed = MetricName.parse(name)
        base, ck = parsed.base, parsed.tag
        if base not in first_of_family or (base, ck) in official:
            continue
        parent = first_of_family[base]
        label = parent.label
        extra.setdefault(parent.id, []).append(
            ColumnSpec(
                id=f"{parent.id}@{ck or 'none'}", metric=base, checkpoint=ck,
                label=f"{label} ({ck or 'no checkpoint'})", decimals=parent.decimals,
                higher_is_better=parent.higher_is_better, group=parent.group, variant_of=parent.id,
            )
        )  # fmt: skip
    out: list[ColumnSpec] = []
    for c in columns:
        out.append(c)
        out.extend(extra.get(c.id, []))
    return out


def _reproduced_cell(
    col: Column, by_seed: dict[int, RunInfo], metric_rows: dict[str, dict[str, MetricRow]]
) -> Cell:
    values, basis, n_test, issues = [], [], None, []
    name = col.spec.stored_name
    for seed in sorted(by_seed):
        run = by_seed[seed]
        mr = metric_rows.get(run.run_id, {}).get(name)
        if mr is None or mr.value is None or (isinstance(mr.value, float) and math.isnan(mr.value)):
            continue
        values.append(float(mr.value))
        basis.append(Basis(run.scored.key(run.seed), int(mr.n)))
        n_test = n_test or run.scored.n_test
        issues += [i for i in run.data_issues if i not in issues]
        if col.higher_is_better is None:
            col.higher_is_better = mr.higher_is_better
    mean, std = mean_std(values)
    return Cell(
        mean=mean, std=std, n=len(values), values=values, basis=tuple(sorted(basis)), n_test=n_test,
        modified="; ".join(issues) or None,
    )


# -- published numbers ------------------------------------------------------------------------------


def _published_cells(spec: Spec) -> dict[tuple[str, str, str], str]:
    from leaderboards.published import load_published

    path = spec.published_path()
    if path is None:
        return {}
    return {(r.row, r.dataset, r.column): r.value for r in load_published(path)}
