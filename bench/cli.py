"""The `bench` command line. User mistakes print one line and exit 2, no traceback.

Heavy modules (torch, models, metric back ends) are imported inside the commands that need
them, so `bench --help` and `bench ls` stay fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.api.errors import BenchError, BenchWarning


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML file layered over the method and dataset defaults")
    p.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
        help="override one config key, e.g. --set model.epochs=5 (repeatable)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--profile", help="named config profile, e.g. tiny or paper")
    p.add_argument("--runs-dir", help="where run folders and results.sqlite live (default ./runs)")
    p.add_argument("--data-dir", help="raw dataset files (default $ERBENCH_DATA_DIR)")
    p.add_argument("--on-bad-line", choices=("error", "skip"), help="malformed raw lines: stop (default) or skip and count")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--report-to", action="append", default=[], metavar="TRACKER",
        help="also report the finished run to mlflow, tensorboard or wandb (repeatable or a comma list)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench", description="erbench: train, score and tabulate explainable recommenders"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="train + predict + score one (method, dataset, seed) cell")
    p.add_argument("--method", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--resume", action="store_true", help="continue an unfinished run folder")
    p.add_argument("--force", action="store_true", help="delete an existing run folder and start over")
    p.add_argument("--dry-run", action="store_true",
                   help="check everything, print the run id, effective config and data digests, and stop")
    p.add_argument("--launcher", choices=("accelerate",),
                   help="train data-parallel in --num-processes processes (accelerate launch on CUDA, torchrun on CPU)")
    p.add_argument("--num-processes", type=int, default=1, help="processes (GPUs) for --launcher accelerate")
    p.add_argument("--accelerate-config", metavar="FILE",
                   help="accelerate config file, or a shipped one: zero2, zero3 (DeepSpeed, bench/configs/accelerate)")
    p.add_argument("--no-index", action="store_true",
                   help="leave the results store alone (sweep jobs: the sweep indexes the run folders)")
    _add_run_options(p)

    p = sub.add_parser("ls", help="list registered methods, datasets, metrics or tables")
    p.add_argument("kind", choices=("methods", "datasets", "metrics", "tables"))

    p = sub.add_parser("data", help="prepare raw dataset files or inspect them")
    dsub = p.add_subparsers(dest="data_command", required=True)
    q = dsub.add_parser("prepare", help="validate raw files and place them under the data dir")
    q.add_argument("dataset")
    q.add_argument("--raw", required=True, help="folder holding the downloaded raw files")
    q.add_argument("--data-dir")
    q.add_argument("--on-bad-line", choices=("error", "skip"))
    q.add_argument("--allow-pickle", action="store_true",
                   help="XRec datasets: convert XRec's pandas pickles (trn/val/tst.pkl) to JSON lines once; "
                   "unpickling executes code stored in the files, so only for files you trust")  # fmt: skip
    q = dsub.add_parser("info", help="files, checksums and record counts of a dataset")
    q.add_argument("dataset")
    q.add_argument("--data-dir")
    q = dsub.add_parser("download", help="fetch a dataset's public raw files into the data dir")
    q.add_argument("dataset")
    q.add_argument("--data-dir")
    q.add_argument("--base-url", help="mirror: replaces each URL up to the file name "
                   "(default $ERBENCH_DOWNLOAD_BASE_URL)")  # fmt: skip
    q.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("results", help="the results store")
    rsub = p.add_subparsers(dest="results_command")
    q = rsub.add_parser("list", help="metric rows in the store (default)")
    q.add_argument("--method")
    q.add_argument("--dataset")
    q.add_argument("--metric")
    q.add_argument("--runs-dir", default=argparse.SUPPRESS)  # also after the subcommand
    q = rsub.add_parser("rebuild", help="rebuild the store from the run folders")
    q.add_argument("--runs-dir", default=argparse.SUPPRESS)
    p.add_argument("--runs-dir", default=None)

    p = sub.add_parser("compare", help="two runs metric by metric: A − B, paired t-test p, bootstrap CI")
    p.add_argument("run_a", help="a run folder, or a run id under --runs-dir")
    p.add_argument("run_b", help="the run compared with it (same test records)")
    p.add_argument("--metric", dest="metrics", action="append", default=[], help="only this metric (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--runs-dir")

    p = sub.add_parser("score", help="(re)score a run folder, or any JSONL of prediction/reference pairs")
    p.add_argument("run_dir", nargs="?", help="a run folder holding predictions.jsonl")
    p.add_argument("--pairs", help="JSONL with `prediction` and `reference` per line")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="eval.KEY=VALUE")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: n, metrics, unavailable and not_applicable (with reasons)")

    p = sub.add_parser("tables", help="render a paper table or figure from the results store")
    p.add_argument("--spec", required=True)
    p.add_argument("--format", dest="formats", action="append", choices=("md", "tex", "csv", "html", "png", "svg"))
    p.add_argument("--out", help="folder for rendered files (default: print Markdown)")
    p.add_argument("--strict", action="store_true", help="fail if any cell is missing")
    p.add_argument("--no-published", action="store_true", help="hide the papers' published rows")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="the --set a sweep ran with: its runs fill the rows (a run that changed a setting fills no plain row)")
    p.add_argument("--runs-dir")

    p = sub.add_parser("judge", help="judge an arena spec's runs with its AI judge and score their alignment (bench tables then reads)")
    p.add_argument("--spec", required=True)
    p.add_argument("--runs-dir")

    p = sub.add_parser("sweep", help="run every cell a table needs, then render it")
    p.add_argument("--spec", required=True)
    p.add_argument("--seeds", type=int, default=None, help="seeds per cell (default: the spec's own count)")
    p.add_argument("--profile")
    p.add_argument("--dry-run", action="store_true", help="list the planned runs and stop")
    p.add_argument("--skip-unavailable", action="store_true",
                   help="run the cells that can run when others lack data (default: start none)")
    p.add_argument("--launcher", choices=("local", "slurm"),
                   help="run each cell as a submitit job: on this machine (local) or a Slurm job array")
    p.add_argument("--max-parallel", type=int, default=4, help="cells running at once (--launcher)")
    p.add_argument("--gpus-per-cell", type=int, default=None,
                   help="GPUs per cell (default 1 on Slurm, 0 local); >1 trains each cell data-parallel")
    p.add_argument("--partition", help="Slurm partition")
    p.add_argument("--timeout-min", type=int, default=24 * 60, help="time limit of one cell's job, minutes")
    p.add_argument("--slurm-option", dest="slurm_options", action="append", default=[], metavar="KEY=VALUE",
                   help="any other sbatch option, e.g. account=abc or qos=high (repeatable)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--runs-dir")
    p.add_argument("--data-dir")

    p = sub.add_parser("site", help="the results explorer: a static site of leaderboards, runs and explanations")
    ssub = p.add_subparsers(dest="site_command", required=True)
    q = ssub.add_parser("build", help="write the static site folder from the results store and run folders")
    q.add_argument("--out", default="site", help="the folder to write (default ./site)")
    q.add_argument("--runs-dir", help="where run folders and results.sqlite live (default ./runs)")
    q.add_argument("--spec", dest="specs", action="append", default=[], help="only this table spec (repeatable; default all)")
    q.add_argument("--campaign", dest="campaigns", action="append", default=[],
                   help="an exported annotation campaign folder to show (repeatable)")
    q.add_argument("--max-compare-pairs", type=int, default=50,
                   help="run pairs on the same records whose bench compare numbers are precomputed (default 50)")
    q = ssub.add_parser("serve", help="serve a built site on 127.0.0.1 for a quick look")
    q.add_argument("--dir", default="site", help="the built site folder (default ./site)")
    q.add_argument("--port", type=int, default=8000)

    p = sub.add_parser("annotate", help="human evaluation: blind pairwise arena, explanation -> rating")
    asub = p.add_subparsers(dest="annotate_command", required=True)
    q = asub.add_parser("create", help="sample a campaign's items from finished run folders")
    q.add_argument("--task", required=True, choices=("arena", "coherence"))
    q.add_argument("--runs", nargs="+", required=True, metavar="RUN", help="run folders (arena: two or more)")
    q.add_argument("--n", type=int, required=True, help="battles (arena) or items (coherence) to sample")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out", help="campaign folder (default campaigns/<task>__n<N>__s<seed>__<hash>)")
    q.add_argument("--with-data", action="store_true",
                   help="show title, profiles and history from the runs' dataset (loads it)")
    q.add_argument("--per-item", type=int, help="annotators per item (default: every annotator does every item)")
    q.add_argument("--quota", type=int, help="items per annotator at most")
    q.add_argument("--adaptive", action="store_true",
                   help="arena: serve the model pair whose Bradley-Terry difference is most uncertain")
    q.add_argument("--practice", metavar="JSONL", help="practice items, shown first, not counted")
    q.add_argument("--gold", metavar="JSONL", help="gold / attention items with known answers")
    q.add_argument("--gold-rate", type=float, default=0.0, help="gold items per real item (e.g. 0.2)")
    q.add_argument("--consent", metavar="MD", help="consent page (Markdown), agreed to before any item")
    q.add_argument("--instructions", metavar="MD", help="instructions page (Markdown), shown before the items")
    q.add_argument("--completion-code", help="code shown when an annotator is done (Prolific, MTurk)")
    q.add_argument("--completion-url", help="where the done page sends the annotator (e.g. Prolific's)")
    q = asub.add_parser("serve", help="serve the web app of one campaign or several")
    q.add_argument("campaign", nargs="+")
    q.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    q.add_argument("--port", type=int, default=8000)
    q = asub.add_parser("invite", help="print secret links: one per new annotator, or one per crowd study")
    q.add_argument("campaign")
    q.add_argument("--annotators", type=int, help="new annotators, one link each")
    q.add_argument("--base-url", default="http://127.0.0.1:8000",
                   help="where annotators reach the app: serve's --port, or your TLS proxy's URL")
    q.add_argument("--csv", metavar="FILE", help="write annotator,link rows to FILE instead of printing")
    q.add_argument("--study", choices=("prolific", "mturk"), help="one link for a whole crowd study")
    q.add_argument("--revoke", nargs="+", metavar="NAME", default=[], help="stop these annotators' links")
    q.add_argument("--reissue", nargs="+", metavar="NAME", default=[], help="new links for these annotators")
    q = asub.add_parser("export", help="write the votes (arena) or ratings CSVs (coherence) and summary.json")
    q.add_argument("campaign")
    q.add_argument("--out", help="folder (default CAMPAIGN/export)")
    q = asub.add_parser("analyze", help="arena / coherence results, agreement and quality control")
    q.add_argument("campaign")
    q.add_argument("--exclude", nargs="+", default=[], metavar="WHO",
                   help="annotator names, or too-fast / failed-gold (every annotator so flagged)")
    q.add_argument("--min-seconds", type=float, default=2.0, help="answers faster than this are too fast")
    q.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples of the arena intervals")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--format", choices=("md", "html", "json"), help="default: from --out's suffix, else md")
    q.add_argument("--out", help="file (default: stdout)")
    return parser


# -- commands ----------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from bench.config import resolve

    overrides: dict[str, Any] = {}  # flag values are taken as given, never re-read as YAML
    runs_dir = args.runs_dir or os.environ.get("ERBENCH_RUNS_DIR")
    if runs_dir:
        overrides["runs_dir"] = runs_dir
    if args.data_dir:
        overrides.setdefault("data", {})["data_dir"] = args.data_dir
    if args.on_bad_line:
        overrides.setdefault("data", {})["on_bad_line"] = args.on_bad_line
    if args.report_to:
        overrides["report_to"] = args.report_to  # "mlflow,wandb" is split by RunConfig
    cfg = resolve(
        args.method, args.dataset, config_file=args.config, sets=args.sets, seed=args.seed,
        profile=args.profile, overrides=overrides,
    )  # fmt: skip

    from bench.preflight import print_lines, run_preflight
    from bench.runner import validate

    if args.dry_run:
        report = run_preflight(cfg)
        if report.failed:
            print_lines(report.lines(), to_stderr=True)
            report.raise_if_failed()
        print_identity(validate(cfg), force=args.force)
        print_lines([f"# {line}" for line in report.lines()])  # comments: the output stays YAML
        return 0
    if not args.force and _finished(cfg):
        pass  # a finished run is reused: nothing is loaded, nothing to check
    elif _is_main_process():  # a launched run's processes were checked before the launch
        report = run_preflight(cfg)
        if report.failed:
            print_lines(report.lines(), to_stderr=True)
            report.raise_if_failed()
        elif args.quiet:  # only the warnings
            print_lines([f"warning: {w}" for w in report.warnings], to_stderr=True)
        else:
            print_lines(report.lines())
    if args.launcher:
        return _launch_run(args, cfg)
    from bench.python_api import run_config

    # the preflight above printed its lines (a launched run's processes were checked before)
    result = run_config(cfg, resume=args.resume, force=args.force, quiet=args.quiet, index=not args.no_index,
                        preflight=False)  # fmt: skip
    from bench.api.distributed import is_main

    if is_main():  # the other processes of a launched run trained alongside; nothing to print
        print_run_result(result)
    return 0


def _finished(cfg: Any) -> bool:
    """True when the cell's run folder is finished (its rerun reuses it); False when unsure."""
    from bench.runner import validate

    try:
        from bench.api.run_folder import RunFolder

        return RunFolder(validate(cfg).run_dir).is_done()
    except BenchError:
        return False  # the preflight says why


def _launch_run(args: argparse.Namespace, cfg: Any) -> int:
    """`bench run … --launcher accelerate`: check the cell here, then run this same command
    in --num-processes processes (bench.launch)."""
    from bench import launch
    from bench.api.distributed import process_device
    from bench.runner import validate

    validate(cfg)  # a mistake is one line here, not one per process
    config_file = launch.accelerate_config(args.accelerate_config)
    cuda = process_device(cfg.device).startswith("cuda")
    return launch.relaunch(launch.without_launch_options(args.argv), args.num_processes, cuda=cuda,
                           config_file=config_file)  # fmt: skip


def print_identity(identity: Any, *, force: bool = False) -> None:
    """`bench run --dry-run`: what would run, checked, as plain YAML a reader can diff."""
    from bench.api.run_folder import RunFolder
    from bench.config import dump_yaml, to_dict

    if force and identity.run_dir.exists():
        state = "exists; --force would delete it and start over"
    else:
        state = "finished (would be reused)" if RunFolder(identity.run_dir).is_done() else (
            "unfinished (--resume continues it)" if identity.run_dir.exists() else "new")
    print(f"# run {identity.run_id}: {state}\n# folder {identity.run_dir}")
    print(dump_yaml({**to_dict(identity.cfg), "data_files": identity.data_digests}), end="")


def print_run_result(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    state = "already finished; reused" if result.reused else "finished"
    console.print(f"[bold]{result.run_id}[/bold] {state} -> {result.run_dir}", soft_wrap=True)
    table = Table(title="test metrics", show_lines=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("n", justify="right")
    table.add_column("better", justify="center")
    for row in result.rows:
        value = "—" if row["value"] is None else f"{row['value']:.4f}"
        table.add_row(row["metric"], value, str(row["n"]), "↑" if row["higher_is_better"] else "↓")
    console.print(table)
    for name, reason in sorted(result.unavailable.items()):
        console.print(f"[yellow]unavailable[/yellow] {name}: {reason}")
    from rich.markup import escape

    for issue in _data_issues_of(result.run_dir):  # skipped lines were said nowhere on screen
        console.print(f"[yellow]modified data[/yellow] {escape(issue)} (provenance.json lists them; "
                      "tables mark its cells §)", soft_wrap=True, highlight=False)  # fmt: skip


def _data_issues_of(run_dir: Path) -> list[str]:
    """How the data a finished run read differs from its spec (bench.data.report.data_issues)."""
    from bench.api.errors import BenchError
    from bench.api.run_folder import RunFolder
    from bench.data.report import data_issues

    try:
        recorded = RunFolder(run_dir).read_provenance()
    except (OSError, BenchError):
        return []
    return data_issues(recorded.get("data") or {})


def cmd_ls(args: argparse.Namespace) -> int:
    from bench.api.registry import registry_for

    registry = registry_for(args.kind)
    names = registry.names()
    width = max((len(n) for n in names), default=0)
    for entry in registry.entries():
        origin = "" if entry.origin == "builtin" else f"  [{entry.origin}]"
        # datasets: the papers' short names (read from the spec; other kinds stay unimported)
        short = registry.declared(entry.name).get("aliases") or () if args.kind == "datasets" else ()
        alias = f"  (alias: {', '.join(short)})" if short else ""
        print(f"{entry.name.ljust(width)}  {entry.summary}{alias}{origin}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from bench import data as data_layer
    from bench.data.settings import DataConfig

    cfg = DataConfig(data_dir=args.data_dir)
    if args.data_command == "prepare":
        if args.on_bad_line:
            cfg.on_bad_line = args.on_bad_line
        path = data_layer.prepare_dataset(args.dataset, Path(args.raw), cfg, allow_pickle=args.allow_pickle)
        print(f"prepared {args.dataset} -> {path}")
    elif args.data_command == "download":
        from bench.data.download import download_dataset

        fetched = download_dataset(args.dataset, cfg, base_url=args.base_url, quiet=args.quiet)
        for f in fetched:
            check = "matches the spec" if f.verified else "the spec records no digest"
            print(f"{f.state}: {f.path} (sha256 {f.sha256}, {check})")
        if not fetched:
            print(f"{args.dataset}: its files are already in place; nothing to download")
    else:
        print(json.dumps(data_layer.dataset_info(args.dataset, cfg), indent=2, default=str))
    return 0


def _runs_dir(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "runs_dir", None) or os.environ.get("ERBENCH_RUNS_DIR") or "runs")


def cmd_results(args: argparse.Namespace) -> int:
    from bench.results import ResultsStore, default_store_path

    runs_dir = _runs_dir(args)
    store = ResultsStore(default_store_path(runs_dir))
    if args.results_command == "rebuild":
        runs, rows = store.rebuild(runs_dir)
        print(f"rebuilt {store.path}: {runs} runs, {rows} metric rows")
        return 0
    rows = store.rows(
        method=getattr(args, "method", None), dataset=getattr(args, "dataset", None), metric=getattr(args, "metric", None)
    )
    runs = store.runs()
    profiles = {run["run_id"]: run["profile"] or "-" for run in runs}
    modified = {run["run_id"]: run["data_issues"] for run in runs if run.get("data_issues")}
    for r in rows:  # the run id (config hash last) tells apart runs of one (method, dataset, seed)
        value = "—" if r.value is None else f"{r.value:.4f}"
        mark = "§" if r.run_id in modified else " "  # on modified data, listed below (issue 25.8)
        print(
            f"{r.method:16s} {r.dataset:20s} s{r.seed:<3d} {r.metric:40s} {value:>10s}{mark} n={r.n!s:<6}"
            f" profile={profiles.get(r.run_id, '-'):8s} {r.run_id}"
        )
    if not rows:
        print(f"no results in {store.path}")
    listed = {r.run_id for r in rows}
    for run_id, issues in sorted(modified.items()):
        if run_id in listed:
            print(f"§ {run_id}: modified data ({'; '.join(issues)})")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from bench.compare import compare_command

    return compare_command(
        args.run_a, args.run_b, metrics=args.metrics, as_json=args.json, runs_dir=_runs_dir(args)
    )


def cmd_score(args: argparse.Namespace) -> int:
    from bench.api.config_keys import parse_set
    from bench.config import build_dataclass, deep_merge, to_dict
    from metrics.settings import EvalConfig

    overrides: dict[str, Any] = {}
    for expr in args.sets:
        overrides = deep_merge(overrides, parse_set(expr))
    if set(overrides) - {"eval"}:
        raise BenchError("bench score accepts only eval.* keys in --set")
    if bool(args.pairs) == bool(args.run_dir):
        raise BenchError("give either a run folder or --pairs FILE")
    from metrics import score_cli

    if args.pairs:
        eval_cfg = build_dataclass(EvalConfig, deep_merge(to_dict(EvalConfig()), overrides.get("eval", {})), "eval")
        report = score_cli.score_pairs(Path(args.pairs), eval_cfg)
    else:
        from bench.python_api import score

        report = score(args.run_dir, overrides=overrides.get("eval", {}))
    if args.json:
        print(json.dumps(score_cli.report_to_json(report), indent=2))
    else:
        for v in report.values:
            print(f"{v.name:45s} {v.value:.4f}  n={v.n}" if v.value is not None else f"{v.name:45s} —")
        for name, reason in sorted(report.unavailable.items()):
            print(f"unavailable {name}: {reason}")
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    from bench.python_api import tables

    built = tables(
        args.spec, runs_dir=_runs_dir(args), formats=args.formats or ["md"], out=args.out,
        sets=args.sets, published=not args.no_published, strict=args.strict,
    )  # fmt: skip
    for note in built.table.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.out is None:  # text formats print; figures were written under runs_dir/tables
        for text in built.text.values():
            sys.stdout.write(text)
    for fmt, path in built.files.items():
        if not (args.out is None and fmt in built.text):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def cmd_judge(args: argparse.Namespace) -> int:
    from bench.judge_step import judge

    report = judge(args.spec, _runs_dir(args))
    for line in report.lines:
        print(line)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from bench.sweep_command import sweep_spec

    return sweep_spec(
        spec=args.spec, seeds=args.seeds, profile=args.profile, dry_run=args.dry_run, sets=args.sets,
        runs_dir=_runs_dir(args), data_dir=args.data_dir, skip_unavailable=args.skip_unavailable,
        cluster=_cluster_options(args),
    )  # fmt: skip


def _cluster_options(args: argparse.Namespace) -> Any:
    """`bench sweep --launcher local|slurm …` as bench.cluster.ClusterOptions (None: in here)."""
    if not args.launcher:
        if args.partition or args.slurm_options or args.gpus_per_cell is not None:
            raise BenchError("--partition, --gpus-per-cell and --slurm-option need --launcher local or slurm")
        return None
    from bench.cluster import ClusterOptions

    if args.max_parallel < 1:
        raise BenchError("--max-parallel must be at least 1")
    options = {}
    for expr in args.slurm_options:
        key, sep, value = expr.partition("=")
        if not sep or not key:
            raise BenchError(f"--slurm-option expects KEY=VALUE, got {expr!r}")
        options[key.strip().replace("-", "_")] = value
    gpus = args.gpus_per_cell if args.gpus_per_cell is not None else (1 if args.launcher == "slurm" else 0)
    return ClusterOptions(launcher=args.launcher, max_parallel=args.max_parallel, gpus_per_cell=gpus,
                          partition=args.partition, timeout_min=args.timeout_min, slurm_options=options)


def cmd_annotate(args: argparse.Namespace) -> int:
    from bench.annotate import commands

    if args.annotate_command == "create":
        return commands.create_command(
            args.task, args.runs, args.n, args.seed, args.out, args.with_data,
            per_item=args.per_item, quota=args.quota, adaptive=args.adaptive, gold_rate=args.gold_rate,
            practice=args.practice, gold=args.gold, consent=args.consent, instructions=args.instructions,
            completion_code=args.completion_code, completion_url=args.completion_url)  # fmt: skip
    if args.annotate_command == "serve":
        return commands.serve_command(args.campaign, args.host, args.port)
    if args.annotate_command == "invite":
        return commands.invite_command(args.campaign, args.annotators, args.base_url, csv_path=args.csv,
                                       study=args.study, revoke_names=args.revoke,
                                       reissue_names=args.reissue)  # fmt: skip
    if args.annotate_command == "analyze":
        return commands.analyze_command(args.campaign, args.exclude, args.min_seconds, args.bootstrap,
                                        args.seed, args.format, args.out)  # fmt: skip
    return commands.export_command(args.campaign, args.out)


def cmd_site(args: argparse.Namespace) -> int:
    from bench.site import commands

    if args.site_command == "build":
        return commands.build_command(_runs_dir(args), args.out, args.specs, args.campaigns, args.max_compare_pairs)
    return commands.serve_command(args.dir, args.port)


COMMANDS = {
    "run": cmd_run,
    "ls": cmd_ls,
    "data": cmd_data,
    "results": cmd_results,
    "compare": cmd_compare,
    "score": cmd_score,
    "tables": cmd_tables,
    "judge": cmd_judge,
    "sweep": cmd_sweep,
    "annotate": cmd_annotate,
    "site": cmd_site,
}


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") in ("", "0")


def _one_line_warnings(previous: Any) -> Any:
    """A warnings.formatwarning that prints a BenchWarning as `warning: message` only."""

    def format_warning(message, category, filename, lineno, line=None):  # noqa: ANN001, ANN202
        if issubclass(category, BenchWarning):
            return f"warning: {message}\n"
        return previous(message, category, filename, lineno, line)

    return format_warning


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # relaunched as is by --launcher
    previous_format = warnings.formatwarning
    warnings.formatwarning = _one_line_warnings(previous_format)
    try:
        return COMMANDS[args.command](args)
    except BenchError as exc:
        if _is_main_process():  # a launched run's error is the same in every process: say it once
            print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = previous_format


if __name__ == "__main__":
    sys.exit(main())
