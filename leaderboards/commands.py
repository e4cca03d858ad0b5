"""`bench tables` and `bench sweep`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.api.errors import BenchError
from bench.api.run_folder import finished_runs
from leaderboards.render import FIGURE_FORMATS, TEXT_FORMATS
from leaderboards.spec import Spec, as_spec

ALL_FORMATS = TEXT_FORMATS + FIGURE_FORMATS


def get_spec(name: str) -> Spec:
    """A spec by registry name (unknown names say "did you mean"), or a path to a yaml file."""
    from bench.api.registry import registry_for

    registry = registry_for("tables")
    if name not in registry and name.endswith((".yaml", ".yml")) and Path(name).exists():
        return as_spec(Path(name))
    return as_spec(registry.get(name))


def open_store(runs_dir: str | Path) -> Any:
    """The store under runs_dir; rebuilt from the run folders when the database file is gone."""
    from bench.results import ResultsStore, default_store_path

    path = default_store_path(runs_dir)
    existed = path.exists()
    store = ResultsStore(path)
    if store.migrated is not None:  # an older schema: rebuilt when opened
        runs, rows = store.migrated
        print(f"rebuilt {path} (older schema) from the run folders: {runs} runs, {rows} rows", file=sys.stderr)
    elif not existed and finished_runs(runs_dir):
        runs, rows = store.rebuild(runs_dir)
        print(f"rebuilt {path} from the run folders: {runs} runs, {rows} rows", file=sys.stderr)
    return store


def build(spec: Spec, store: Any, *, published: bool = True) -> tuple[Any, Any]:
    """(table for the text formats, extra data for figures)."""
    if spec.kind == "curves":
        from leaderboards.curves import curve_data, curves_table

        curves = curve_data(spec, store)
        return curves_table(spec, curves), curves
    if spec.kind == "arena":  # several tables, from the runs' folders and raw votes
        from leaderboards.arena import arena_tables

        return arena_tables(spec, store, Path(store.path).parent), None
    from leaderboards.build import build_table

    table = build_table(spec, store, published=published)
    return table, None


def render_all(
    spec: Spec, table: Any, extra: Any, formats: Sequence[str], out_dir: Path | None
) -> dict[str, Any]:
    """Render each format; text goes to out_dir/<spec>.<fmt> or (no out_dir) is returned for
    printing. Returns fmt -> Path or text."""
    from leaderboards.render import render

    results: dict[str, Any] = {}
    for fmt in formats:
        if fmt in FIGURE_FORMATS:
            if spec.kind in ("table", "arena"):
                raise BenchError(
                    f"spec {spec.name!r} is {'an' if spec.kind[0] in 'aeiou' else 'a'} {spec.kind}; --format {fmt} "
                    "is for figure specs (kind sweep or curves)"
                )
            from leaderboards import plot

            fig = (
                plot.curves_figure(spec, extra)
                if spec.kind == "curves"
                else plot.sweep_figure(table)
            )
            assert out_dir is not None
            results[fmt] = plot.save_figure(fig, out_dir / f"{spec.name}.{fmt}", fmt)
            continue
        if fmt == "csv" and spec.kind == "curves":
            from leaderboards.curves import curves_csv

            text = curves_csv(extra)
        elif spec.kind == "arena":
            from leaderboards.arena import render_set

            text = render_set(table, fmt)
        else:
            text = render(table, fmt)
        if out_dir is None:
            results[fmt] = text
        else:
            path = out_dir / f"{spec.name}.{fmt}"
            from bench.api.run_folder import atomic_write_text

            atomic_write_text(path, text)
            results[fmt] = path
    return results


def check_formats(formats: Sequence[str]) -> list[str]:
    out = []
    for fmt in formats or ["md"]:
        if fmt not in ALL_FORMATS:
            raise BenchError(f"unknown format {fmt!r}; choose from {', '.join(ALL_FORMATS)}")
        if fmt not in out:
            out.append(fmt)
    return out


def report_missing(table: Any, strict: bool) -> None:
    if not table.missing:
        return
    if strict:
        shown = "\n  ".join(table.missing[:20])
        more = f"\n  ... and {len(table.missing) - 20} more" if len(table.missing) > 20 else ""
        raise BenchError(
            f"--strict: spec {table.name!r} has {len(table.missing)} missing cell(s):\n  {shown}{more}\n"
            f"run `bench sweep --spec {table.name}` to fill them"
        )
    print(f"{len(table.missing)} missing cell(s) shown as — (listed under the table)", file=sys.stderr)


def selectors(sets: Sequence[str]) -> dict[str, Any]:
    """`--set key=value` expressions as {dotted key: value}."""
    from bench.api.config_keys import flatten, parse_set

    out: dict[str, Any] = {}
    for expr in sets:
        out.update(flatten(parse_set(expr)))
    return out
