"""Figures: sweep figures (metric vs a config value, e.g. mask ratio or β) and training
curves (values from train_log.jsonl). The only module of leaderboards that imports
matplotlib, and it does so inside the functions (Agg canvas, no pyplot global state).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leaderboards.curves import Curve
from leaderboards.spec import Spec
from leaderboards.table import Table


def _figure(spec: Spec, nrows: int, ncols: int) -> Any:
    from matplotlib.figure import Figure

    width = float(spec.figure.get("panel_width", 3.2))
    height = float(spec.figure.get("panel_height", 2.6))
    dpi = int(spec.figure.get("dpi", 100))
    fig = Figure(figsize=(ncols * width, nrows * height), dpi=dpi, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    fig.suptitle(spec.title, fontsize=9)
    return fig, axes


def figure_size_px(spec: Spec, nrows: int, ncols: int) -> tuple[int, int]:
    """The pixel size of the saved PNG (figsize x dpi)."""
    width = float(spec.figure.get("panel_width", 3.2))
    height = float(spec.figure.get("panel_height", 2.6))
    dpi = int(spec.figure.get("dpi", 100))
    return round(ncols * width * dpi), round(nrows * height * dpi)


def panel_grid(spec: Spec) -> tuple[int, int]:
    if spec.kind == "curves":
        return len(spec.datasets), len(spec.curves)
    return len(spec.axes) * len(spec.datasets), len(spec.columns)


# -- sweep figures ------------------------------------------------------------------------------------


def sweep_series(
    table: Table,
) -> dict[tuple[str, str, str, str], tuple[list[Any], list[float], list[float | None]]]:
    """(axis key, dataset, column id, base row id) -> (xs, means, stds); NaN where missing."""
    spec = table.spec
    col_index = {(c.dataset, c.spec.id): j for j, c in enumerate(table.columns) if c.official}
    rows = [r for b in table.blocks for r in b.rows if not r.published and r.spec.x is not None]
    out = {}
    for axis in spec.axes:
        for ds in spec.datasets:
            for cs in spec.columns:
                j = col_index[(ds, cs.id)]
                for base in spec.rows:
                    if not base.reproduced:
                        continue
                    xs, ys, sds = [], [], []
                    for value in axis.values:
                        row = next(
                            r
                            for r in rows
                            if r.spec.base_id == base.id and r.spec.x == (axis.key, value)
                        )
                        cell = row.cells[j]
                        xs.append(value)
                        ys.append(float("nan") if cell.mean is None else cell.mean)
                        sds.append(cell.std)
                    out[(axis.key, ds, cs.id, base.id)] = (xs, ys, sds)
    return out


def sweep_figure(table: Table) -> Any:
    spec = table.spec
    nrows, ncols = panel_grid(spec)
    fig, axes = _figure(spec, nrows, ncols)
    series = sweep_series(table)
    r = 0
    for axis in spec.axes:
        for ds in spec.datasets:
            for c, cs in enumerate(spec.columns):
                ax = axes[r][c]
                for base in spec.rows:
                    if not base.reproduced:
                        continue
                    xs, ys, sds = series[(axis.key, ds, cs.id, base.id)]
                    (line,) = ax.plot(xs, ys, marker="o", markersize=3, label=base.label)
                    if any(s is not None for s in sds):
                        lo = [y - (s or 0.0) for y, s in zip(ys, sds, strict=True)]
                        hi = [y + (s or 0.0) for y, s in zip(ys, sds, strict=True)]
                        ax.fill_between(xs, lo, hi, alpha=0.2, color=line.get_color())
                ax.set_title(f"{spec.dataset_label(ds)}: {cs.label}", fontsize=8)
                ax.set_xlabel(axis.label or axis.key, fontsize=8)
                ax.tick_params(labelsize=7)
                ax.grid(alpha=0.3)
                if r == 0 and c == 0:
                    ax.legend(fontsize=7)
            r += 1
    return fig


# -- training curves ------------------------------------------------------------------------------------


def curves_figure(spec: Spec, curves: list[Curve]) -> Any:
    nrows, ncols = panel_grid(spec)
    fig, axes = _figure(spec, nrows, ncols)
    for r, ds in enumerate(spec.datasets):
        for c, cs in enumerate(spec.curves):
            ax = axes[r][c]
            for curve in curves:
                if curve.dataset == ds and curve.label == cs.label:
                    ax.plot(curve.xs, curve.means, linewidth=1.2, label=curve.row_label)
            ax.set_title(f"{spec.dataset_label(ds)}: {cs.label}", fontsize=8)
            ax.set_xlabel("logged step", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            if r == 0 and c == 0 and len(spec.reproduced_rows()) > 1:
                ax.legend(fontsize=7)
    return fig


def save_figure(fig: Any, path: Path, fmt: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"Software": None} if fmt == "png" else {"Date": None}
    fig.savefig(path, format=fmt, metadata=metadata)
    return path
