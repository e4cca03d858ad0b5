"""Published numbers transcribed from the papers (leaderboards/published/*.csv).

One CSV per paper table, long format, one cell per line:

    source,row,dataset,column,value
    Curr-RLCER Table 2 (papers/curr-rlcer.txt),PETER,amazon-baby,gptscore,45.11

`row` is the row's label in the paper, `column` a column id of the spec, and `value` the
number exactly as printed (kept as text so "0.33" stays "0.33").
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from leaderboards.spec import SpecError

FIELDS = ("source", "row", "dataset", "column", "value")


@dataclass(frozen=True)
class PublishedCell:
    source: str
    row: str
    dataset: str
    column: str
    value: str


def load_published(path: str | Path) -> list[PublishedCell]:
    path = Path(path)
    try:
        handle = open(path, encoding="utf-8", newline="")
    except FileNotFoundError:
        raise SpecError(f"published data file not found: {path}") from None
    with handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != FIELDS:
            raise SpecError(f"{path}: header must be {','.join(FIELDS)}")
        out = []
        seen: set[tuple[str, str, str]] = set()
        for line, rec in enumerate(reader, 2):
            cell = PublishedCell(*(rec[f].strip() for f in FIELDS))
            try:
                float(cell.value)
            except ValueError:
                raise SpecError(f"{path}:{line}: value {cell.value!r} is not a number") from None
            key = (cell.row, cell.dataset, cell.column)
            if key in seen:
                raise SpecError(f"{path}:{line}: duplicate cell {key}")
            seen.add(key)
            out.append(cell)
    return out
