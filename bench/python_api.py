"""erbench from Python: the three verbs of the command line as functions with typed results.

    from bench import python_api as erbench

    result = erbench.run("mf-bias", "ml-100k", profile="tiny")      # bench run
    result.metrics["rmse"]                                            # {metric: value}
    report = erbench.score(result.run_dir, overrides={"metrics": ["mae"]})   # bench score RUN
    tables = erbench.tables("reference-rows", runs_dir="runs")        # bench tables --spec S
    print(tables.text["md"])

`bench run`, `bench score RUN` and `bench tables` call these functions; what they add is
printing. Errors are `bench.api.errors.BenchError`s (the CLI prints them as one line).
docs/python-api.md is a worked example that a test runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from typing_extensions import Unpack

from bench.config import RunConfig


class ConfigLayers(TypedDict, total=False):
    """How one cell's configuration is layered over the method's and dataset's defaults:
    the keywords `config` and `run` share."""

    profile: str | None  # a named profile, e.g. "tiny" or "paper"
    config_file: str | Path | None  # a YAML file over the profile
    sets: Sequence[str]  # "model.lr=0.01", over the file
    overrides: dict[str, Any] | None  # {"model": {"lr": 0.01}}, over everything
    seed: int | None


@dataclass(frozen=True)
class RunResult:
    """One finished cell: its id and folder, the metrics.json rows, what was unavailable."""

    run_id: str
    run_dir: Path
    rows: list[dict[str, Any]]
    unavailable: dict[str, str] = field(default_factory=dict)
    reused: bool = False  # a finished run was found: nothing was recomputed
    stages_run: list[str] = field(default_factory=list)
    stages_reused: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> dict[str, float | None]:
        """{metric name: value} of the test split's rows."""
        return {row["metric"]: row["value"] for row in self.rows}


@dataclass(frozen=True)
class Tables:
    """A built table spec: the table, and each requested format as text or as a written file."""

    spec: str
    table: Any  # leaderboards.table.Table
    text: dict[str, str]  # text formats (md, csv, tex, html) -> the rendered text
    files: dict[str, Path]  # formats written to a folder (figures, or text with `out`)


def config(method: str, dataset: str, **cell: Unpack[ConfigLayers]) -> RunConfig:
    """The resolved configuration of one cell (defaults < method yaml < dataset yaml < profile <
    `config_file` < `sets` ("model.lr=0.01") < `overrides` ({"model": {"lr": 0.01}})."""
    from bench.config import resolve

    unknown = sorted(set(cell) - set(ConfigLayers.__annotations__))
    if unknown:  # a TypedDict is not checked at run time: a misspelt keyword must not vanish
        raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
    return resolve(
        method, dataset, config_file=cell.get("config_file"), sets=list(cell.get("sets", ())),
        seed=cell.get("seed"), profile=cell.get("profile"), overrides=cell.get("overrides"),
    )  # fmt: skip


def run(
    method: str,
    dataset: str,
    *,
    resume: bool = False,
    force: bool = False,
    quiet: bool = True,
    **cell: Unpack[ConfigLayers],
) -> RunResult:
    """`bench run`: train, predict and score one cell (configured as `config` takes it), or
    reuse its finished folder."""
    return run_config(config(method, dataset, **cell), resume=resume, force=force, quiet=quiet)


def run_config(
    cfg: RunConfig, *, resume: bool = False, force: bool = False, quiet: bool = True, index: bool = True,
    preflight: bool = True,
) -> RunResult:
    """Run a resolved configuration; the preflight checks it first unless the run is reused
    (or `preflight=False`: the processes of a launched run, checked before the launch)."""
    from bench.api.run_folder import RunFolder
    from bench.runner import execute, validate

    if preflight and (force or not RunFolder(validate(cfg).run_dir).is_done()):
        from bench.preflight import run_preflight

        run_preflight(cfg).raise_if_failed()
    done = execute(cfg, resume=resume, force=force, quiet=quiet, index=index)
    return RunResult(
        done.run_id, done.run_dir, done.rows, dict(done.unavailable), done.reused,
        list(done.stages_run), list(done.stages_reused),
    )  # fmt: skip


def score(run_dir: str | Path, *, overrides: dict[str, Any] | None = None) -> Any:
    """`bench score RUN`: rescore a run folder's predictions with its eval settings plus
    `overrides` (eval keys, e.g. {"metrics": ["mae"]}), under the run's lock; the report is a
    metrics.suite.ScoreReport (values, unavailable, per_example)."""
    from bench import rescore
    from bench.api.run_folder import RunFolder
    from bench.runlock import run_lock
    from bench.warnings_log import route_third_party_warnings

    run_dir = Path(run_dir)
    cfg = rescore.run_config(run_dir, overrides or {})  # bad keys fail before data loads
    # the run's own lock: a live run (or a second bench score) never writes metrics.json at the
    # same time (issue 25.8)
    with run_lock(run_dir), route_third_party_warnings(RunFolder(run_dir).run_log):
        return rescore.rescore_run(run_dir, overrides or {}, train_records=rescore.train_split(cfg))


def tables(
    spec: str,
    *,
    runs_dir: str | Path = "runs",
    formats: Sequence[str] = ("md",),
    out: str | Path | None = None,
    sets: Sequence[str] = (),
    published: bool = True,
    strict: bool = False,
) -> Tables:
    """`bench tables --spec S`: build a table spec from the results store and render it. Formats
    are written to `out` when given; else text formats come back as text, and figures are
    written under <runs_dir>/tables (text formats then too). `strict`: a missing cell is a
    BenchError."""
    from leaderboards.commands import (
        build,
        check_formats,
        get_spec,
        open_store,
        render_all,
        report_missing,
        selectors,
    )
    from leaderboards.render import FIGURE_FORMATS

    formats = check_formats(formats)
    the_spec = get_spec(spec).with_selectors(selectors(sets))
    table, extra = build(the_spec, open_store(runs_dir), published=published)
    report_missing(table, strict)
    target = Path(out) if out else None
    if target is None and any(f in FIGURE_FORMATS for f in formats):
        target = Path(runs_dir) / "tables"
    rendered = render_all(the_spec, table, extra, formats, target)
    text = {
        f: (v.read_text(encoding="utf-8") if isinstance(v, Path) else v)
        for f, v in rendered.items() if f not in FIGURE_FORMATS
    }  # fmt: skip
    files = {f: v for f, v in rendered.items() if isinstance(v, Path)}
    return Tables(the_spec.name, table, text, files)
