"""Human-evaluation results of annotation campaigns (bench annotate export): the campaign's
task and runs (campaign.json) and its analysis (export/summary.json: answers per annotator,
Krippendorff's alpha, per-model counts), shown where the export exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.api.errors import BenchError
from bench.api.run_folder import read_json_object


def campaign_results(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    summary = folder / "export" / "summary.json"
    if not summary.exists():
        raise BenchError(f"{folder}: no export/summary.json; run `bench annotate export {folder}` first")
    meta = read_json_object(folder / "campaign.json")
    return {"name": folder.name, "task": meta.get("task"), "summary": read_json_object(summary)}
