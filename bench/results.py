"""The results store: an SQLite database of every metric row of every finished run.

The run folders are the source of truth; the store is an index over them and can be
rebuilt from them at any time (`bench results rebuild`). Tables read only the store.
A store written under an older schema is rebuilt from the run folders beside it when opened.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api.metrics_file import MetricsFile
from bench.api.run_folder import RunFolder, finished_runs
from bench.scored_records import read_scored_records

# 2: runs record which test records were scored (bench.scored_records)
# 3: runs carry their flattened effective config and the settings changed from its defaults
# 4: runs list how the data they read differs from the dataset spec (data_issues)
SCHEMA_VERSION = 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    dataset TEXT NOT NULL,
    seed INTEGER NOT NULL,
    cfg_hash TEXT NOT NULL,
    profile TEXT,
    run_dir TEXT NOT NULL,
    finished_at TEXT,
    records_digest TEXT,
    n_scored INTEGER,
    n_test INTEGER,
    split_digest TEXT,
    config TEXT NOT NULL,
    changed_from_defaults TEXT,
    data_issues TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    dataset TEXT NOT NULL,
    split TEXT NOT NULL,
    seed INTEGER NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    n INTEGER,
    higher_is_better INTEGER,
    metric_version TEXT,
    PRIMARY KEY (run_id, split, metric)
);
CREATE TABLE IF NOT EXISTS samples (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    idx INTEGER NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, metric, idx)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""
_TABLES = ("samples", "metrics", "runs", "meta")


@dataclass
class MetricRow:
    run_id: str
    method: str
    dataset: str
    split: str
    seed: int
    metric: str
    value: float | None
    n: int
    higher_is_better: bool
    metric_version: dict[str, Any]


def default_store_path(runs_dir: str | Path) -> Path:
    return Path(runs_dir) / "results.sqlite"


class ResultsStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # (runs, rows) when an older schema was found and rebuilt from the folders beside it
        self.migrated: tuple[int, int] | None = None
        if self._create_schema():
            self.migrated = self.rebuild(self.path.parent)

    def _create_schema(self) -> bool:
        """Create the tables; drop them first when they hold an older schema. True if dropped.
        One exclusive transaction, so two processes opening an old store migrate it once."""
        with closing(self._connect()) as con:
            con.isolation_level = None
            con.execute("BEGIN EXCLUSIVE")
            try:
                has_meta = con.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
                ).fetchone()
                found = (
                    con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                    if has_meta
                    else None
                )
                stale = found is not None and found[0] != str(SCHEMA_VERSION)
                if stale:
                    for table in _TABLES:
                        con.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return stale

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30)
        con.execute("PRAGMA foreign_keys = ON")
        return con

    # -- writing ------------------------------------------------------------------------
    def add_run(self, run_dir: str | Path) -> int:
        """Index one finished run folder (DONE present). Replaces earlier rows of that run in
        one transaction, so a kill leaves either the old rows or the new ones."""
        run_dir = Path(run_dir)
        folder = RunFolder(run_dir)
        if not folder.is_done():
            raise ValueError(f"{run_dir} is not a finished run (no DONE marker)")
        metrics = MetricsFile.read(run_dir)
        info = metrics.run
        samples = list(_per_example_values(folder.read_per_example()))
        scored = read_scored_records(run_dir)
        config, changed = run_settings(run_dir)
        with closing(self._connect()) as con, con:
            con.execute("DELETE FROM runs WHERE run_id = ?", (info["run_id"],))
            con.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    info["run_id"],
                    info["method"],
                    info["dataset"],
                    info["seed"],
                    info["cfg_hash"],
                    info.get("profile"),
                    str(run_dir.resolve()),
                    info.get("finished_at"),
                    scored.digest,
                    scored.n_scored,
                    scored.n_test,
                    scored.split_digest,
                    json.dumps(config, default=str),
                    None if changed is None else json.dumps(changed, default=str),
                    json.dumps(_data_issues(run_dir)),
                ),
            )
            con.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        info["run_id"],
                        info["method"],
                        info["dataset"],
                        row["split"],
                        info["seed"],
                        row["metric"],
                        row["value"],
                        row["n"],
                        int(bool(row["higher_is_better"])),
                        json.dumps(row.get("metric_version", {}), sort_keys=True),
                    )
                    for row in metrics.rows
                ],
            )
            con.executemany(
                "INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?)",
                [(info["run_id"], metric, idx, value) for metric, idx, value in samples],
            )
        return len(metrics.rows)

    def rebuild(self, runs_dir: str | Path) -> tuple[int, int]:
        """Drop everything and re-index every finished run under runs_dir."""
        with closing(self._connect()) as con, con:
            con.execute("DELETE FROM samples")
            con.execute("DELETE FROM metrics")
            con.execute("DELETE FROM runs")
        runs = rows = 0
        for folder in finished_runs(runs_dir):
            rows += self.add_run(folder.path)
            runs += 1
        return runs, rows

    # -- reading ------------------------------------------------------------------------
    def rows(
        self,
        *,
        method: str | None = None,
        dataset: str | None = None,
        metric: str | None = None,
        split: str | None = None,
    ) -> list[MetricRow]:
        clauses, args = [], []
        for column, value in (("method", method), ("dataset", dataset), ("metric", metric), ("split", split)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with closing(self._connect()) as con:
            cursor = con.execute(
                "SELECT run_id, method, dataset, split, seed, metric, value, n, higher_is_better,"
                f" metric_version FROM metrics {where} ORDER BY method, dataset, metric, seed",
                args,
            )
            return [
                MetricRow(*r[:8], bool(r[8]), json.loads(r[9] or "{}"))  # type: ignore[arg-type]
                for r in cursor.fetchall()
            ]

    def samples(self, run_id: str, metric: str) -> dict[int, float]:
        with closing(self._connect()) as con:
            cursor = con.execute(
                "SELECT idx, value FROM samples WHERE run_id = ? AND metric = ?", (run_id, metric)
            )
            return {idx: value for idx, value in cursor.fetchall()}

    def runs(self) -> list[dict[str, Any]]:
        """One dict per run; `config` is the flattened effective config and
        `changed_from_defaults` {key: default} (None: unknown, see run_settings)."""
        with closing(self._connect()) as con:
            con.row_factory = sqlite3.Row
            runs = [dict(r) for r in con.execute("SELECT * FROM runs ORDER BY method, dataset, seed")]
        for run in runs:
            run["config"] = json.loads(run["config"])
            changed = run["changed_from_defaults"]
            run["changed_from_defaults"] = None if changed is None else json.loads(changed)
            run["data_issues"] = json.loads(run["data_issues"])
        return runs


def _data_issues(run_dir: Path) -> list[str]:
    from bench.data.report import data_issues

    return data_issues(RunFolder(run_dir).read_provenance().get("data") or {})


def run_settings(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(flattened config.resolved.yaml, the settings changed from their defaults) of a run folder.
    Runs record the latter in provenance.json; for older folders it is worked out from today's
    yaml files (None when that fails)."""
    from bench.api.config_keys import flatten
    from bench.api.errors import BenchError
    from bench.config import RunConfig, build_dataclass

    folder = RunFolder(run_dir)
    raw = folder.read_config()
    recorded = folder.read_provenance()
    changed = recorded.get("changed_from_defaults")
    if changed is None and raw:
        from bench.identity import changed_from_defaults

        try:
            changed = changed_from_defaults(build_dataclass(RunConfig, raw))
        except BenchError:
            changed = None
    return flatten(raw), changed


def _per_example_values(rows: list[dict[str, Any]]) -> Iterator[tuple[str, int, float]]:
    """per_example.jsonl rows {"idx": i, "<metric>": value, ...} -> (metric, idx, value)."""
    for row in rows:
        idx = row["idx"]
        for metric, value in row.items():
            if metric != "idx" and isinstance(value, (int, float)) and not isinstance(value, bool):
                yield metric, int(idx), float(value)

