"""Training curves of a `curves` spec: values read from the runs' train_log.jsonl.

The text formats show a summary table (points, first, last, max per curve) and the CSV
carries every point; the PNG/SVG is drawn by leaderboards.plot.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any

from bench.api.run_folder import RunFolder
from bench.results import ResultsStore
from leaderboards.runs import assign_runs, load_runs
from leaderboards.spec import ColumnSpec, RowSpec, Spec
from leaderboards.table import Block, Cell, Column, Row, Table, mean_std


@dataclass
class Curve:
    row: str
    row_label: str
    dataset: str
    label: str
    xs: list[int] = field(default_factory=list)
    means: list[float] = field(default_factory=list)
    stds: list[float | None] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)


def log_values(rows: list[dict[str, Any]], keys: tuple[str, ...], stage: str | None = None) -> list[float]:
    """Values of the first present key of each train-log row (RunFolder.read_train_log), in order."""
    values: list[float] = []
    for row in rows:
        if stage is not None and row.get("stage") != stage:
            continue
        for key in keys:
            value = row.get(key)
            if (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
            ):
                values.append(float(value))
                break
    return values


def curve_data(spec: Spec, store: ResultsStore) -> list[Curve]:
    """One curve per (row, dataset, curve spec): the mean over seeds at each logged point."""
    assigned, _ = assign_runs(spec, load_runs(store))
    curves = []
    for row in spec.reproduced_rows():
        for ds in spec.datasets:
            by_seed = assigned.get((row.id, ds), {})
            for cs in spec.curves:
                per_run = [
                    log_values(RunFolder(run.run_dir).read_train_log(), cs.keys, cs.stage)
                    for _, run in sorted(by_seed.items())
                ]
                curve = Curve(
                    row.id,
                    row.label,
                    ds,
                    cs.label,
                    runs=[r.run_id for _, r in sorted(by_seed.items())],
                )
                length = max((len(v) for v in per_run), default=0)
                for i in range(length):
                    vals = [v[i] for v in per_run if i < len(v)]
                    mean, std = mean_std(vals)
                    curve.xs.append(i + 1)
                    curve.means.append(mean)  # type: ignore[arg-type]
                    curve.stds.append(std)
                    curve.counts.append(len(vals))
                curves.append(curve)
    return curves


_SUMMARY = (("points", 0), ("first", 4), ("last", 4), ("max", 4))


def curves_table(spec: Spec, curves: list[Curve]) -> Table:
    """A summary Table (one row per curve) so the md/tex/html renderers can show it."""
    columns = [
        Column(id=name, label=name, dataset=None, top=None, decimals=dec, higher_is_better=None,
               spec=ColumnSpec(id=name, metric=name, label=name, decimals=dec))
        for name, dec in _SUMMARY
    ]  # fmt: skip
    rows, missing = [], []
    for curve in curves:
        label = f"{curve.row_label} / {spec.dataset_label(curve.dataset)} / {curve.label}"
        if curve.means:
            values = [float(len(curve.means)), curve.means[0], curve.means[-1], max(curve.means)]
            cells = [Cell(mean=v, n=1) for v in values]
        else:
            cells = [Cell() for _ in columns]
            why = "no finished run" if not curve.runs else "no matching values in train_log.jsonl"
            missing.append(f"{label}: {why}")
        rows.append(
            Row(
                f"{curve.row}/{curve.dataset}/{curve.label}",
                label,
                False,
                None,
                RowSpec(id=curve.row, label=curve.row_label),
                cells,
            )
        )
    return Table(
        name=spec.name, title=spec.title, source=spec.source, columns=columns,
        blocks=[Block(None, None, rows)], missing=missing, notes=[], reference=None,
        alpha=spec.alpha, seeds=[], spec=spec,
    )  # fmt: skip


def curves_csv(curves: list[Curve]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("row", "dataset", "curve", "x", "mean", "std", "n_runs"))
    for c in curves:
        for x, m, s, n in zip(c.xs, c.means, c.stds, c.counts, strict=True):
            writer.writerow(
                (
                    c.row,
                    c.dataset,
                    c.label,
                    x,
                    repr(round(m, 10)),
                    "" if s is None else repr(round(s, 10)),
                    n,
                )
            )
    return buf.getvalue()
