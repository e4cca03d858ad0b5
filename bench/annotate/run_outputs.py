"""What a campaign reads from a finished run folder: its id, method and predictions.jsonl rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api.errors import BenchError, DataError
from bench.api.metrics_file import MetricsFile
from bench.api.run_folder import RunFolder
from bench.scored_records import records_digest


@dataclass(frozen=True)
class RunOutputs:
    run_id: str
    method: str
    path: Path
    rows: list[dict[str, Any]]  # predictions.jsonl, in file order
    records_digest: str  # sha256 of the ordered (user_id, item_id) list (bench.scored_records)

    def explanation(self, position: int) -> str:
        """The explanation of the record at this position ("" when the method gave none), without
        a thinking model's <think> block: what annotators and the arena judge read."""
        from bench.backbones.thinking import strip_think

        text = self.rows[position].get("explanation")
        return strip_think(text).strip() if isinstance(text, str) else ""


def _method(folder: RunFolder) -> str:
    """The run's method as metrics.json names it; the run id's first part for older folders."""
    try:
        info = MetricsFile.read(folder.path).run or {}
    except BenchError:
        info = {}
    return str(info.get("method") or folder.run_id.split("__", 1)[0])


def read_run(path: str | Path) -> RunOutputs:
    """A finished run folder (DONE written) with a predictions.jsonl; BenchError otherwise."""
    folder = RunFolder(Path(path).resolve())
    if not folder.path.is_dir():
        raise BenchError(f"no run folder {str(path)!r}")
    if not folder.is_done():
        raise BenchError(
            f"{folder.path} is not a finished run (no DONE marker); finish it with --resume"
        )
    if not folder.predictions.exists():
        raise BenchError(f"{folder.path} has no predictions.jsonl; re-run the cell with --force")
    rows = folder.read_predictions()
    for number, row in enumerate(rows, 1):
        if "user_id" not in row or "item_id" not in row:
            raise DataError(f"{folder.predictions}:{number}: expected an object with user_id and item_id")
    digest, _count = records_digest(rows)
    return RunOutputs(folder.run_id, _method(folder), folder.path, rows, digest)


def read_runs(paths: list[str], *, at_least: int) -> list[RunOutputs]:
    """The runs of one campaign: distinct, finished, scored on the same test records, and each
    with explanations (what annotators read)."""
    if len(paths) < at_least:
        raise BenchError(f"give at least {at_least} run folder(s) with --runs, got {len(paths)}")
    runs = [read_run(p) for p in paths]
    seen: dict[str, Path] = {}
    for run in runs:
        if run.run_id in seen:
            raise BenchError(f"run {run.run_id} is given twice ({seen[run.run_id]}, {run.path})")
        seen[run.run_id] = run.path
        if not any(run.explanation(i) for i in range(len(run.rows))):
            raise BenchError(
                f"{run.run_id} holds no explanations (method {run.method!r} predicts none); "
                "annotators need explanations to read"
            )
    first = runs[0]
    for run in runs[1:]:
        if run.records_digest != first.records_digest:
            raise BenchError(
                f"{first.run_id} and {run.run_id} hold different test records "
                f"(n={len(first.rows):,} vs n={len(run.rows):,}; records "
                f"{first.records_digest[:12]} vs {run.records_digest[:12]}); use runs of the same "
                "dataset, seed and eval.max_records"
            )
    return runs
