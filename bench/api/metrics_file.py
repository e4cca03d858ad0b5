"""metrics.json: the numbers one run reports, with its one writer and reader.

    {"schema_version": 1,
     "run": {run_id, method, dataset, seed, cfg_hash, profile, finished_at},
     "rows": [{run_id, method, dataset, split, seed, metric, value, n, higher_is_better,
               metric_version}],
     "unavailable": {metric name: reason}}

The runner writes it once; `bench score` replaces the rows it rescored and keeps the others
(`MetricsFile.updated`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api.errors import BenchError, DataError
from bench.api.run_folder import RunFolder, atomic_write_json

SCHEMA_VERSION = 1


def metric_row(run: dict[str, Any], split: str, value: Any) -> dict[str, Any]:
    """One row from a metric value (metrics.base.MetricValue: name, value, n, higher_is_better,
    version) and the run it belongs to."""
    return {
        "run_id": run["run_id"],
        "method": run.get("method"),
        "dataset": run.get("dataset"),
        "split": split,
        "seed": run.get("seed"),
        "metric": value.name,
        "value": None if value.value is None else float(value.value),
        "n": int(value.n),
        "higher_is_better": bool(value.higher_is_better),
        "metric_version": dict(value.version or {}),
    }


@dataclass
class MetricsFile:
    run: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls, run: dict[str, Any], split: str, values: Iterable[Any], unavailable: dict[str, str]
    ) -> MetricsFile:
        return cls(dict(run), [metric_row(run, split, v) for v in values], dict(unavailable))

    def updated(self, split: str, values: Iterable[Any], unavailable: dict[str, str]) -> MetricsFile:
        """These values replace the rows of the same (split, metric); every other row stays. A
        name newly unavailable keeps its earlier row (whose metric_version says how it was made)."""
        new = [metric_row(self.run, split, v) for v in values]
        replaced = {(r["split"], r["metric"]) for r in new}
        rows = [r for r in self.rows if (r["split"], r["metric"]) not in replaced] + new
        have = {r["metric"] for r in rows}
        merged = {**self.unavailable, **unavailable}
        return MetricsFile(self.run, rows, {k: v for k, v in merged.items() if k not in have})

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "run": self.run,
            "rows": self.rows,
            "unavailable": self.unavailable,
        }

    def write(self, run_dir: Path) -> None:
        atomic_write_json(RunFolder(run_dir).metrics, self.to_json())

    @classmethod
    def read(cls, run_dir: Path) -> MetricsFile:
        path = RunFolder(run_dir).metrics
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BenchError(f"{path}: cannot read ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version != SCHEMA_VERSION:
            raise DataError(f"{path}: schema_version {version!r}, this erbench reads {SCHEMA_VERSION}")
        try:
            return cls(dict(data["run"]), list(data["rows"]), dict(data.get("unavailable") or {}))
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{path}: expected run, rows and unavailable") from None
