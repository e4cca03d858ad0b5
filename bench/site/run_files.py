"""What the site reads from a run folder, each file named once here (until the contract floor's
RunFolder owns the names): predictions, per-example scores, the train log, stage markers and
provenance. Malformed lines fail with file and line (bench.api.run_folder.read_jsonl)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.api.errors import DataError
from bench.api.run_folder import read_jsonl
from bench.scored_records import read_json_object

PREDICTIONS = "predictions.jsonl"
PER_EXAMPLE = "per_example.jsonl"
TRAIN_LOG = "train_log.jsonl"
PROVENANCE = "provenance.json"
STAGES = "stages"
DONE = "DONE"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = read_jsonl(path) if path.exists() else []
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise DataError(f"{path}:{number}: expected a JSON object")
    return rows


def predictions(run_dir: Path) -> list[dict[str, Any]]:
    return _jsonl(Path(run_dir) / PREDICTIONS)


def per_example(run_dir: Path) -> list[dict[str, Any]]:
    return _jsonl(Path(run_dir) / PER_EXAMPLE)


def train_log(run_dir: Path) -> list[dict[str, Any]]:
    return _jsonl(Path(run_dir) / TRAIN_LOG)


def provenance(run_dir: Path) -> dict[str, Any]:
    return read_json_object(Path(run_dir) / PROVENANCE)


def stage_seconds(run_dir: Path) -> dict[str, float | None]:
    """{stage: seconds it trained} from each finished stage's DONE marker, in name order."""
    out: dict[str, float | None] = {}
    for done in sorted((Path(run_dir) / STAGES).glob(f"*/{DONE}")):
        try:
            seconds = json.loads(done.read_text(encoding="utf-8")).get("seconds")
        except (ValueError, AttributeError):
            seconds = None
        out[done.parent.name] = seconds if isinstance(seconds, (int, float)) else None
    return out
