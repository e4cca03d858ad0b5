"""Fill a spec's cells from the results store.

Runs are matched to rows by method and config selector (the run's effective config and the
settings it changed from their defaults, both held by the store), grouped by dataset, and a cell is the mean ± std over seeds of one
stored metric. A run maps to exactly one cell per column: a run that two rows select is an
error (except the shared default point of a one-at-a-time sweep figure: one cell per axis),
and of two runs of one (row, dataset, seed) only the latest counts (the other is
listed in `Table.notes`).

Cells are compared (ranked, tested against the reference row) only when they were scored on
the same test records: every stored value carries its n and the identity of the records
behind it (bench.scored_records); a cell on other records is marked and listed, not ranked.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bench.config import same_setting
from bench.errors import BenchError
from bench.metric_name import MetricName
from bench.results import MetricRow, ResultsStore
from bench.scored_records import ScoredRecords
from leaderboards.spec import ColumnSpec, RowSpec, Spec

MISSING_MARK = "—"
SIG_MARK = "†"
UNRANKED_MARK = "‡"
NA_MARK = "n/a"
_MISSING = object()


# -- runs and selectors ------------------------------------------------------------------------


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


def load_runs(store: ResultsStore) -> list[RunInfo]:
    """Every run of the store with its settings: read from the store alone."""
    runs = []
    for r in store.runs():
        scored = ScoredRecords(r["records_digest"], r["n_scored"], r["n_test"], r["split_digest"])
        runs.append(
            RunInfo(
                r["run_id"], r["method"], r["dataset"], int(r["seed"]), r["cfg_hash"],
                r.get("profile"), r["run_dir"], r.get("finished_at"), r["config"],
                r["changed_from_defaults"], scored,
            )
        )  # fmt: skip
    return runs


def row_matches(row: RowSpec, run: RunInfo, axis_keys: Iterable[str]) -> bool:
    """Same method; every selector key has the selector's value; every other axis key of the
    spec is at its default (the run did not change it)."""
    if row.method != run.method:
        return False
    changed = run.changed_from_defaults or {}
    for key in axis_keys:
        if key in row.sets:
            value = run.config.get(key, _MISSING)
            if value is _MISSING or not same_setting(value, row.sets[key]):
                return False
        elif key in changed:
            return False
    return True


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
                newer = (run.finished_at or "") >= (other.finished_at or "")
                keep, drop = (run, other) if newer else (other, run)
                by_seed[run.seed] = keep
                notes.append(
                    f"{drop.run_id}: same row, dataset and seed as {keep.run_id}; the later run is used"
                )
            else:
                by_seed[run.seed] = run
    return cells, notes


def _shared_sweep_point(hits: list[RowSpec]) -> bool:
    """One-at-a-time sweeps share their default point: the run with beta and delta both at
    default is the beta=0.05 point of one axis and the delta=1.0 point of the other. That run
    may sit in one virtual row per axis (of the same spec row), and nowhere else."""
    axes = [h.x[0] for h in hits if h.x is not None]
    return len(axes) == len(hits) == len(set(axes)) and len({h.base_id for h in hits}) == 1


# -- the table model ----------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Basis:
    """What one stored value was computed on: which records (ScoredRecords.key) and how many."""

    records: str
    n: int


@dataclass
class Cell:
    mean: float | None = None
    std: float | None = None  # sample std over seeds (ddof=1); None with one seed
    n: int = 0  # seeds
    values: list[float] = field(default_factory=list)
    text: str | None = None  # published cells: the number as printed in the paper
    bold: bool = False
    underline: bool = False
    mark: bool = False  # significantly different from the reference row (p < alpha)
    p: float | None = None
    published: bool = False
    na: bool = False  # the method does not produce this metric (spec row `na`)
    basis: tuple[Basis, ...] = ()  # one per value, sorted: equal tuples = same test records
    n_test: int | None = None  # size of the test split the records came from, when known
    unranked: str | None = None  # why the cell is not compared with its column (other records)

    @property
    def missing(self) -> bool:
        return self.mean is None and self.text is None and not self.na


@dataclass
class Column:
    id: str
    label: str
    dataset: str | None  # wide layout: each column belongs to a dataset
    top: str | None  # the header above the label: dataset (wide) or metric group (blocks)
    decimals: int
    higher_is_better: bool | None
    spec: ColumnSpec
    official: bool = True  # False for columns of a non-official checkpoint


@dataclass
class Row:
    id: str
    label: str
    published: bool
    group: str | None
    spec: RowSpec
    cells: list[Cell]


@dataclass
class Block:
    title: str | None
    dataset: str | None
    rows: list[Row]


@dataclass
class Table:
    name: str
    title: str
    source: str
    columns: list[Column]
    blocks: list[Block]
    missing: list[str]
    notes: list[str]
    reference: str | None
    alpha: float
    seeds: list[int]
    spec: Spec
    unranked: list[str] = field(default_factory=list)  # "row / dataset / column: why"
    n_by_column: list[tuple[str, str, str]] = field(default_factory=list)  # (dataset, column, n)

    def footnotes(self) -> list[str]:
        out = []
        if self.source:
            out.append(f"Source: {self.source}.")
        out.append(
            "Reproduced cells: mean ± std over seeds (std shown with 2+ seeds); "
            "bold = best, underlined = second best among reproduced rows."
        )
        if self.reference:
            out.append(
                f"{SIG_MARK} p < {self.alpha:g} against {self.reference} (paired t-test on the "
                "same test records, per-example scores)."
            )
        if self.n_by_column:
            out.append(f"n = test records scored per run: {n_summary(self.n_by_column)}.")
        if self.unranked:
            out.append(
                f"{UNRANKED_MARK} scored on other test records than the rest of its column: "
                f"not ranked, no {SIG_MARK} test ({len(self.unranked)} cell(s), listed below)."
            )
        if any(r.published for b in self.blocks for r in b.rows):
            out.append(
                "Rows marked (paper) are the published numbers, transcribed; they are not ranked."
            )
        if self.missing:
            out.append(
                f"{MISSING_MARK} = no result in the store ({len(self.missing)} missing cell(s))."
            )
        out.extend(self.spec.notes)
        return out


def n_text(ns: Iterable[int]) -> str:
    """'2,052', or '2,040–2,052' when the runs of a cell scored different numbers of records."""
    ns = list(ns)
    low, high = min(ns), max(ns)
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def n_summary(n_by_column: list[tuple[str, str, str]]) -> str:
    """'Instruments 2,052; ML-100K 9,430', naming columns only where a dataset's n differ."""
    by_dataset: dict[str, dict[str, list[str]]] = {}
    for dataset, column, n in n_by_column:
        by_dataset.setdefault(dataset, {}).setdefault(n, []).append(column)
    parts = []
    for dataset, by_n in by_dataset.items():
        if len(by_n) == 1:
            parts.append(f"{dataset} {next(iter(by_n))}".strip())
        else:
            shown = ", ".join(f"{n} ({', '.join(cols)})" for n, cols in by_n.items())
            parts.append(f"{dataset} {shown}".strip())
    return "; ".join(parts)


def _fmt(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return "0." + "0" * decimals if text.startswith("-") and float(text) == 0 else text


def cell_text(cell: Cell, column: Column) -> str:
    """The plain text of a cell (no emphasis): '0.4054 ± 0.0012', a paper number, or '—'."""
    if cell.text is not None:
        return cell.text
    if cell.na:
        return NA_MARK
    if cell.mean is None:
        return MISSING_MARK
    if cell.std is None:
        return _fmt(cell.mean, column.decimals)
    return f"{_fmt(cell.mean, column.decimals)} ± {_fmt(cell.std, column.decimals)}"


def mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


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
                            "no finished run"
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
        _compare_records(table, block)
        if spec.rank:
            _rank(table, block)
        if spec.reference:
            _significance(table, block, assigned, store)
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
    values, basis, n_test = [], [], None
    name = col.spec.stored_name
    for seed in sorted(by_seed):
        run = by_seed[seed]
        mr = metric_rows.get(run.run_id, {}).get(name)
        if mr is None or mr.value is None or (isinstance(mr.value, float) and math.isnan(mr.value)):
            continue
        values.append(float(mr.value))
        basis.append(Basis(run.scored.key(run.seed), int(mr.n)))
        n_test = n_test or run.scored.n_test
        if col.higher_is_better is None:
            col.higher_is_better = mr.higher_is_better
    mean, std = mean_std(values)
    return Cell(
        mean=mean, std=std, n=len(values), values=values, basis=tuple(sorted(basis)), n_test=n_test
    )


def _compare_records(table: Table, block: Block) -> None:
    """Per column: the record basis its cells are compared on (the most common one; ties go to
    the reference row's, then to the larger n); a cell on another basis is marked and listed,
    the reference row's too: then nothing in the column is tested against it."""
    for j, col in enumerate(table.columns):
        cells = [(r, r.cells[j]) for r in block.rows if not r.published and r.cells[j].basis]
        if not cells:
            continue
        ref = next((c.basis for r, c in cells if r.id == table.spec.reference), None)
        counts = Counter(c.basis for _, c in cells)
        chosen = max(counts, key=lambda b: (counts[b], b == ref, sum(x.n for x in b)))
        dataset = table.spec.dataset_label(col.dataset or block.dataset or "")
        for row, cell in cells:
            if cell.basis != chosen:
                cell.unranked = _why_unranked(cell, chosen)
                table.unranked.append(f"{row.label} / {dataset} / {col.label}: {cell.unranked}")
        table.n_by_column.append((dataset, col.label, n_text(b.n for b in chosen)))


def _seeds(k: int) -> str:
    return f"{k} seed" if k == 1 else f"{k} seeds"


def _why_unranked(cell: Cell, chosen: tuple[Basis, ...]) -> str:
    ns, compared = [b.n for b in cell.basis], [b.n for b in chosen]
    if len(ns) != len(compared):
        return (
            f"mean over {_seeds(len(ns))} where the compared rows have {_seeds(len(compared))} "
            "(other test records); not ranked"
        )
    if sorted(ns) != sorted(compared):
        of = f" of {cell.n_test:,}" if cell.n_test and max(ns) < cell.n_test else ""
        return (
            f"scored on n={n_text(ns)}{of} test records (compared rows: n={n_text(compared)}); "
            "not ranked"
        )
    return f"scored on other test records (n={n_text(ns)}: another split or sample); not ranked"


def _rank(table: Table, block: Block) -> None:
    for j, col in enumerate(table.columns):
        if col.higher_is_better is None:
            continue
        cells = [
            r.cells[j]
            for r in block.rows
            if not r.published and r.cells[j].mean is not None and r.cells[j].unranked is None
        ]
        if len(cells) < 2:
            continue
        distinct = sorted({c.mean for c in cells}, reverse=col.higher_is_better)  # type: ignore[type-var]
        for c in cells:
            c.bold = c.mean == distinct[0]
            c.underline = len(distinct) > 1 and c.mean == distinct[1]


def _significance(
    table: Table,
    block: Block,
    assigned: dict[tuple[str, str], dict[int, RunInfo]],
    store: ResultsStore,
) -> None:
    ref_id = table.spec.reference
    from leaderboards.stats import paired_pvalue

    ref_row = next((r for r in block.rows if r.id == ref_id), None)
    for j, col in enumerate(table.columns):
        if ref_row is None or ref_row.cells[j].unranked:
            continue
        for row in block.rows:
            if row.published or row.id == ref_id or row.cells[j].unranked:
                continue
            ds = col.dataset or block.dataset
            ref_runs = assigned.get((ref_id, ds), {})  # type: ignore[arg-type]
            row_runs = assigned.get((row.id, ds), {})
            a, b = [], []
            name = col.spec.stored_name
            for ref_run, row_run in _pair_runs(ref_runs, row_runs):
                sa = store.samples(ref_run.run_id, name)
                sb = store.samples(row_run.run_id, name)
                for idx in sorted(set(sa) & set(sb)):
                    a.append(sa[idx])
                    b.append(sb[idx])
            if len(a) < 2:
                continue
            p = paired_pvalue(a, b)
            cell = row.cells[j]
            cell.p = p
            cell.mark = p is not None and p < table.alpha


def _pair_runs(
    ref_runs: dict[int, RunInfo], row_runs: dict[int, RunInfo]
) -> list[tuple[RunInfo, RunInfo]]:
    """Runs of two cells that scored the same records (idx i = the same record in both): the
    same seed when its records agree, else any unused run on the same records."""
    pairs, unused = [], dict(row_runs)
    for seed, ref in sorted(ref_runs.items()):
        key = ref.scored.key(ref.seed)
        same_seed = unused.get(seed)
        if same_seed is not None and same_seed.scored.key(same_seed.seed) == key:
            match: RunInfo | None = same_seed
        else:
            match = next((r for r in unused.values() if r.scored.key(r.seed) == key), None)
        if match is not None:
            pairs.append((ref, match))
            del unused[match.seed]
    return pairs


# -- published numbers ------------------------------------------------------------------------------


def _published_cells(spec: Spec) -> dict[tuple[str, str, str], str]:
    from leaderboards.published import load_published

    path = spec.published_path()
    if path is None:
        return {}
    return {(r.row, r.dataset, r.column): r.value for r in load_published(path)}
