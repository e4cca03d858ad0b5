"""The table model a spec is filled into and the renderers read: columns, rows, cells (mean ±
std over seeds, the records they were scored on, emphasis and marks), footnotes, cell text."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from leaderboards.spec import ColumnSpec, RowSpec, Spec

MISSING_MARK = "—"
SIG_MARK = "†"
UNRANKED_MARK = "‡"
MODIFIED_MARK = "§"  # a value computed on data other than the spec's (see Table.notes)
NA_MARK = "n/a"


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
    modified: str | None = None  # how the data of its run(s) differs from the dataset spec

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
        if any(c.modified for b in self.blocks for r in b.rows for c in r.cells):
            out.append(
                f"{MODIFIED_MARK} computed on modified data (another file, skipped lines); "
                "see the notes."
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
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) >= 2 else None  # sample std (ddof=1)
