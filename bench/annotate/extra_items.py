"""Practice and gold items: written by the researcher as JSONL, one item per line.

arena       {"explanation_a": "...", "explanation_b": "...", "answer": "a"}
coherence   {"explanation": "...", "answer": "4"}

`answer` (a string or a list of accepted strings) is in the campaign's answer values, with
arena answers naming the explanation (a, b, tie, both_bad) rather than a side: the app shows
them on either side like any battle. Gold items need it (they are checked); practice items
may have it (the annotator is then told the expected answer). Optional: "title", "user_id",
"item_id" (what the page shows about the recommendation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.annotate.assignment import GOLD
from bench.annotate.tasks import Task
from bench.api.errors import DataError
from bench.api.run_folder import read_jsonl

ARENA_ANSWERS = ("a", "b", "tie", "both_bad")


def _answers(value: Any, task: Task, where: str) -> list[str] | None:
    if value is None:
        return None
    values = [str(v) for v in (value if isinstance(value, list) else [value])]
    allowed = ARENA_ANSWERS if task.name == "arena" else sorted(task.answers)
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise DataError(f"{where}: answer must be one (or a list) of {', '.join(allowed)}")
    return values


def read_extra_items(path: str | Path, task: Task, kind: str) -> list[dict[str, Any]]:
    """The file's items as rows of the campaign's items table (without ids)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{kind} items file not found: {path}")
    out = []
    for number, row in enumerate(read_jsonl(path), 1):  # JSON errors name file:line there
        where = f"{path}: item {number}"
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected a JSON object")
        fields = ("explanation_a", "explanation_b") if task.name == "arena" else ("explanation",)
        texts = [row.get(f) for f in fields]
        if not all(isinstance(t, str) and t.strip() for t in texts):
            raise DataError(f"{where}: needs non-empty {' and '.join(fields)}")
        answers = _answers(row.get("answer"), task, where)
        if kind == GOLD and answers is None:
            raise DataError(f"{where}: a gold item needs its answer")
        out.append(
            {
                "record_idx": -number,
                "user_id": str(row.get("user_id", "")),
                "item_id": str(row.get("item_id", "")),
                "context": {"title": str(row["title"])} if row.get("title") else {},
                "run_a": f"{kind}:a",
                "explanation_a": texts[0].strip(),
                "run_b": f"{kind}:b" if task.name == "arena" else None,
                "explanation_b": texts[1].strip() if task.name == "arena" else None,
                "kind": kind,
                "gold_answers": answers,
            }
        )
    if not out:
        raise DataError(f"{path}: no {kind} items")
    return out
