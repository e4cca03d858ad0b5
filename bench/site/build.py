"""`bench site build`: the results store and run folders -> one static folder.

    OUT/index.html, app.js, style.css    the page (bench/site/static), the same for every build
    OUT/data/index.js                    leaderboards, the runs, record groups, campaigns
    OUT/data/runs/<r>.js                 one run page each
    OUT/data/records/<r>/<k>.js          a run's records k*CHUNK.. (bench.site.records)
    OUT/data/compare/<r>-<s>.js          two runs on the same records (bench.site.comparisons)

Runs scored on the same test records (bench.scored_records: same dataset, split and sample)
form a group; the instance browser and the comparisons pair runs within a group only.
A folder that holds anything but an earlier site is refused, never emptied.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.api.errors import BenchError
from bench.api.metrics_file import MetricsFile
from bench.site import comparisons, human, records, run_pages
from bench.site.chunks import write_chunk

STATIC = Path(__file__).resolve().parent / "static"
PAGE_FILES = ("index.html", "app.js", "style.css")
DEFAULT_COMPARE_PAIRS = 50


@dataclass
class BuildReport:
    out: Path
    runs: int = 0
    records: int = 0
    tables: int = 0
    comparisons: int = 0
    comparisons_skipped: int = 0
    files: int = 0
    largest: tuple[int, str] = (0, "")
    seconds: float = 0.0
    skipped_tables: list[str] = field(default_factory=list)

    def wrote(self, relpath: str, size: int) -> None:
        self.files += 1
        self.largest = max(self.largest, (size, relpath))


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise BenchError(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()):
        ours = {p.name for p in out.iterdir()} <= {*PAGE_FILES, "data"} and (out / "index.html").exists()
        if not ours:
            raise BenchError(f"--out {out} holds other files; give an empty or new folder (or an earlier site)")
        shutil.rmtree(out / "data", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    for name in PAGE_FILES:
        shutil.copyfile(STATIC / name, out / name)


def _located(run: Any, runs_dir: Path) -> Any:
    """The run with its folder as it is now: the store keeps the absolute path it was indexed
    from, and a runs folder copied or moved elsewhere holds the run under its id."""
    if Path(run.run_dir).is_dir():
        return run
    here = runs_dir / run.run_id
    if here.is_dir():
        return replace(run, run_dir=str(here))
    raise BenchError(f"run {run.run_id}: no folder at {run.run_dir} or {here}; "
                     f"bench results rebuild --runs-dir {runs_dir} re-indexes the folders that exist")  # fmt: skip


def _group_label(run: Any, n: int) -> str:
    """'amazon-instruments · 2,052 records · seed 0 · 3fa1c2d4' (the records' digest)."""
    key = run.scored.key(run.seed)
    return f"{run.dataset} · {n:,} records · seed {run.seed} · {key.split(':')[-1][:8]}"


def build_site(
    runs_dir: str | Path,
    out: str | Path,
    *,
    specs: list[str] | None = None,
    campaigns: list[str] | None = None,
    max_compare_pairs: int = DEFAULT_COMPARE_PAIRS,
) -> BuildReport:
    from leaderboards.commands import open_store
    from leaderboards.runs import load_runs

    started = time.perf_counter()
    runs_dir, out = Path(runs_dir), Path(out)
    if not runs_dir.is_dir():
        raise BenchError(f"no runs folder {runs_dir} (give --runs-dir)")
    store = open_store(runs_dir)
    runs = sorted((_located(r, runs_dir) for r in load_runs(store)), key=lambda r: r.run_id)
    if not runs:
        raise BenchError(f"no finished runs in {runs_dir} (the results store {store.path} is empty)")
    campaign_data = [human.campaign_results(c) for c in campaigns or []]  # fail before writing
    from bench.site.leaderboards import all_specs, leaderboards

    spec_list = all_specs(specs)
    _prepare(out)
    report = BuildReport(out)

    files = {r.run_id: f"r{i:04d}" for i, r in enumerate(runs)}
    held, metric_rows, run_index, groups = _write_runs(out, runs, files, report)
    compare_files = _write_comparisons(out, runs, files, groups, held, metric_rows, max_compare_pairs, report)

    tables, report.skipped_tables = leaderboards(spec_list, store, runs)
    report.tables = len(tables)
    index = {
        "tables": tables,
        "skipped_tables": report.skipped_tables,
        "runs": run_index,
        "groups": groups,
        "compare": compare_files,
        "compare_skipped": report.comparisons_skipped,
        "campaigns": campaign_data,
        "chunk": records.CHUNK,
    }
    report.wrote("data/index.js", write_chunk(out, "data/index.js", "index", index))
    report.seconds = time.perf_counter() - started
    return report


def _write_runs(out: Path, runs: list[Any], files: dict[str, str], report: BuildReport) -> tuple[
    dict[str, list[dict[str, Any]]], dict[str, dict[str, dict[str, Any]]], list[dict[str, Any]], list[dict[str, Any]]
]:  # fmt: skip
    """Each run's record chunks and page; returns (records by run, metric rows by run and name,
    the index's run list, the groups of runs scored on the same records)."""
    held: dict[str, list[dict[str, Any]]] = {}
    metric_rows: dict[str, dict[str, dict[str, Any]]] = {}
    run_index: list[dict[str, Any]] = []
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        fid = files[run.run_id]
        rows, names = records.run_records(Path(run.run_dir))
        held[run.run_id] = rows
        parts = records.chunked(rows)
        for k, part in enumerate(parts):
            rel = f"data/records/{fid}/{k}.js"
            report.wrote(rel, write_chunk(out, rel, f"records/{run.run_id}/{k}", part))
        metrics = MetricsFile.read(Path(run.run_dir))
        metric_rows[run.run_id] = {row["metric"]: row for row in metrics.rows}
        page = run_pages.run_page(run, metrics, len(rows), len(parts), names)
        rel = f"data/runs/{fid}.js"
        report.wrote(rel, write_chunk(out, rel, f"run/{run.run_id}", page))
        group = groups.setdefault(
            (run.dataset, run.scored.key(run.seed)),
            {"id": f"g{len(groups)}", "label": _group_label(run, len(rows)), "dataset": run.dataset, "runs": []},
        )
        group["runs"].append(run.run_id)
        run_index.append({
            "id": run.run_id, "file": fid, "method": run.method, "dataset": run.dataset, "seed": run.seed,
            "profile": run.profile, "finished_at": run.finished_at, "group": group["id"], "records": len(rows),
            "chunks": len(parts), "per_example_metrics": names,
            "has": {f: any(r.get(f) is not None for r in rows[:50]) for f in ("explanation", "rating", "ctr_score")},
        })  # fmt: skip
        report.records += len(rows)
    report.runs = len(runs)
    return held, metric_rows, run_index, list(groups.values())


def _write_comparisons(out: Path, runs: list[Any], files: dict[str, str], groups: list[dict[str, Any]],
                       held: dict[str, list[dict[str, Any]]], metric_rows: dict[str, dict[str, dict[str, Any]]],
                       limit: int, report: BuildReport) -> dict[str, str]:  # fmt: skip
    """The comparison chunks of run pairs within each group, at most `limit`; "a|b" -> file."""
    picked, report.comparisons_skipped = comparisons.pairs([g["runs"] for g in groups], limit)
    by_id = {r.run_id: r for r in runs}
    compare_files = {}
    for a, b in picked:
        rel = f"data/compare/{files[a]}-{files[b]}.js"
        data = comparisons.comparison(by_id[a], by_id[b], (metric_rows[a], metric_rows[b]), held[a], held[b])
        report.wrote(rel, write_chunk(out, rel, f"compare/{a}/{b}", data))
        compare_files[f"{a}|{b}"] = rel
    report.comparisons = len(picked)
    return compare_files
