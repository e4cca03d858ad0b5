"""Explanation pairs files (e.g. XRec's released predictions) read as prediction rows.

One JSONL line: {prediction, reference[, rating, predicted_rating, label, ctr_score, uid, iid,
features]}. `rating` is the ground-truth rating, `predicted_rating` the model's; `features` is
the file's own feature truth, as a run's data gives it. Each line becomes the row a run writes
(bench.api.records.PredictionRow), so every metric reads both the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.api.errors import DataError
from bench.api.records import PredictionRow


def pairs_to_rows(path: str | Path) -> list[dict[str, Any]]:
    """The prediction rows of a pairs file. Bad lines raise one DataError naming each file:line."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"pairs file not found: {path}")
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:  # found by fuzzing: a traceback before
                problems.append(f"{path}:{number}: not valid UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            try:
                rows.append(_row(json.loads(line), len(rows)).to_dict())
            except json.JSONDecodeError as exc:
                problems.append(f"{path}:{number}: not valid JSON ({exc.msg})")
            except ValueError as exc:
                problems.append(f"{path}:{number}: {exc}")
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DataError(f"{len(problems)} bad line(s) in {path}:\n  {shown}{more}")
    return rows


def _row(obj: Any, idx: int) -> PredictionRow:
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    bad = [k for k in ("prediction", "reference") if not isinstance(obj.get(k), str)]
    if bad:
        raise ValueError(f"missing or non-string field(s) {', '.join(bad)}")
    return PredictionRow(
        idx=idx,
        user_id=str(obj.get("uid", obj.get("user_id", ""))),
        item_id=str(obj.get("iid", obj.get("item_id", ""))),
        rating_true=_opt_float(obj.get("rating"), "rating"),
        label=obj.get("label"),
        reference=obj["reference"],
        feature_true=obj.get("features"),
        rating=_opt_float(obj.get("predicted_rating"), "predicted_rating"),
        ctr_score=_opt_float(obj.get("ctr_score"), "ctr_score"),
        explanation=obj["prediction"],
    )


def _opt_float(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
