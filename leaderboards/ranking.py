"""Comparing the cells of a column: which cells share the records they were scored on (the
others are marked and listed, not ranked), best and second best by higher_is_better, and the
paired test against the reference row.

Cells are compared (ranked, tested against the reference row) only when they were scored on
the same test records: every stored value carries its n and the identity of the records
behind it (bench.scored_records).
"""

from __future__ import annotations

from collections import Counter

from bench.results import ResultsStore
from leaderboards.runs import RunInfo
from leaderboards.table import Basis, Block, Cell, Table, n_text


def compare_records(table: Table, block: Block) -> None:
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


def rank(table: Table, block: Block) -> None:
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


def significance(
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
