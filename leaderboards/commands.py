"""`bench tables` and `bench sweep`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from leaderboards.render import FIGURE_FORMATS, TEXT_FORMATS
from leaderboards.spec import Spec, as_spec

ALL_FORMATS = TEXT_FORMATS + FIGURE_FORMATS


def get_spec(name: str) -> Spec:
    """A spec by registry name (unknown names say "did you mean"), or a path to a yaml file."""
    from bench.registry import registry_for

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
    elif not existed and any(Path(runs_dir).glob("*/DONE")):
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
            from bench.rundir import atomic_write_text

            atomic_write_text(path, text)
            results[fmt] = path
    return results


def _check_formats(formats: Sequence[str]) -> list[str]:
    out = []
    for fmt in formats or ["md"]:
        if fmt not in ALL_FORMATS:
            raise BenchError(f"unknown format {fmt!r}; choose from {', '.join(ALL_FORMATS)}")
        if fmt not in out:
            out.append(fmt)
    return out


def _report_missing(table: Any, strict: bool) -> None:
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
    from bench.config import flatten, parse_set

    out: dict[str, Any] = {}
    for expr in sets:
        out.update(flatten(parse_set(expr)))
    return out


def tables(
    spec: str,
    formats: Sequence[str],
    out_dir: str | Path | None,
    strict: bool,
    runs_dir: str | Path,
    published: bool,
    sets: Sequence[str] = (),
) -> int:
    formats = _check_formats(formats)
    the_spec = get_spec(spec).with_selectors(selectors(sets))
    store = open_store(runs_dir)
    table, extra = build(the_spec, store, published=published)
    _report_missing(table, strict)
    for note in table.notes:
        print(f"note: {note}", file=sys.stderr)
    target = Path(out_dir) if out_dir else None
    if target is None and any(f in FIGURE_FORMATS for f in formats):
        target = Path(runs_dir) / "tables"
    text_to_stdout = out_dir is None
    results = render_all(
        the_spec, table, extra, formats, None if text_to_stdout and not target else target
    )
    if text_to_stdout:
        # text formats print; figures (if any) were written under runs_dir/tables
        for fmt in formats:
            if fmt in TEXT_FORMATS:
                value = results[fmt]
                sys.stdout.write(
                    value.read_text(encoding="utf-8") if isinstance(value, Path) else value
                )
    for fmt in formats:
        value = results[fmt]
        if isinstance(value, Path) and not (text_to_stdout and fmt in TEXT_FORMATS):
            print(f"wrote {value}", file=sys.stderr)
    return 0


def sweep(
    spec: str,
    seeds: int | None,
    profile: str | None,
    dry_run: bool,
    sets: Sequence[str],
    runs_dir: str | Path,
    data_dir: str | None,
    skip_unavailable: bool = False,
    cluster: Any = None,
) -> int:
    """Plan, check and run a spec's cells, then render it. `cluster` (leaderboards.cluster.
    ClusterOptions) runs the cells as submitit jobs instead of one after another here."""
    from rich.console import Console

    from leaderboards import sweep as sweeping

    the_spec = get_spec(spec)
    if seeds is None:  # no --seeds: the spec's own count (the papers' tables use 3)
        seeds = the_spec.seeds
    if seeds < 1:
        raise BenchError("--seeds must be at least 1")
    console = Console(stderr=True)
    planned = sweeping.plan(
        the_spec,
        seeds=seeds,
        profile=profile,
        sets=list(sets),
        runs_dir=runs_dir,
        data_dir=data_dir,
    )
    if dry_run:
        sweeping.print_plan(planned, Console())
        return 0
    problems = sweeping.unavailable_summary(planned)
    if problems and not skip_unavailable:  # checked before any cell starts
        raise BenchError(
            f"sweep not started: {problems}; fix these or pass --skip-unavailable to run the rest"
        )
    sweeping.print_plan(planned, console)
    if cluster is None:
        failures = sweeping.run_plan(planned, console)
    else:
        from leaderboards.cluster import CellCommand, run_plan_as_jobs

        command = CellCommand(profile=profile, sets=tuple(sets), data_dir=data_dir)
        failures = run_plan_as_jobs(planned, console, cluster, command, name=f"erbench-{the_spec.name}")
    out = Path(runs_dir) / "tables"
    store = open_store(runs_dir)
    the_spec = the_spec.with_selectors(selectors(sets))  # the cells this sweep made
    table, extra = build(the_spec, store)
    formats = ["md", "csv"] + (["png"] if the_spec.kind not in ("table", "arena") else [])
    written = render_all(the_spec, table, extra, formats, out)
    sys.stdout.write(Path(written["md"]).read_text(encoding="utf-8"))
    for _fmt, path in written.items():
        console.print(f"wrote {path}", soft_wrap=True, highlight=False, markup=False)
    console.print(sweeping.summary_line(planned, failures), soft_wrap=True, highlight=False, markup=False)
    if failures:
        return 1
    _report_missing(table, strict=True)
    return 0
