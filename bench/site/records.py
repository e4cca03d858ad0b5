"""A run's test records for the instance browser: each prediction (user, item, reference,
rating / CTR score, explanation, the extras the method saw: profile, history, title) joined
with its per-example metric values by `idx`, in chunks of CHUNK records loaded on demand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.api.run_folder import RunFolder

CHUNK = 1000
MAX_TEXT = 4000  # characters of one extras string; longer ones end in "…"
MAX_LIST = 50  # items of one extras list (a long history)
FIELDS = ("user_id", "item_id", "rating_true", "label", "reference", "rating", "ctr_score", "explanation")


def _clip(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, list):
        clipped = [_clip(v, depth + 1) for v in value[:MAX_LIST]]
        return clipped + ([f"… {len(value) - MAX_LIST} more"] if len(value) > MAX_LIST else [])
    if isinstance(value, dict) and depth < 3:
        return {str(k): _clip(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return str(value)[:MAX_TEXT]


def run_records(run_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """(one dict per prediction, position order, with "scores": {metric: value}; the
    per-example metric names, sorted)."""
    scores: dict[int, dict[str, float]] = {}
    names: set[str] = set()
    for row in RunFolder(run_dir).read_per_example():
        idx = row.get("idx")
        values = {k: float(v) for k, v in row.items()
                  if k != "idx" and isinstance(v, (int, float)) and not isinstance(v, bool)}  # fmt: skip
        if isinstance(idx, int):
            scores[idx] = values
            names.update(values)
    out = []
    for position, row in enumerate(RunFolder(run_dir).read_predictions()):
        idx = row.get("idx", position)
        record = {"idx": idx, **{f: _clip(row.get(f)) for f in FIELDS}}
        record["extras"] = _clip(row.get("extras") or {})
        record["scores"] = scores.get(idx, {})
        out.append(record)
    return out, sorted(names)


def chunked(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [records[i : i + CHUNK] for i in range(0, len(records), CHUNK)] or [[]]
