"""What a judge gives, human or AI, in the files both the app and the metrics read.

Arena votes: votes.jsonl, one `ArenaVote` per line. Humans (bench annotate export) and the AI
judge (leaderboards.arena_judge) write the same record, so any arena table is rebuilt from the
raw votes alone (docs/human-evaluation.md):

    vote_id, campaign, annotator    who (annotator-<k>, or the judge: rule-judge, judge:<model>)
    battle, idx, user_id, item_id   which battle, on which test record (position, ids)
    left_run, right_run             the run ids shown left (A, first) and right (B)
    left_method, right_method       their methods
    answer                          left | right | tie | both_bad
    winner_run                      the run answered better (null for tie / both_bad)
    comment                         the annotator's comment (the judge's raw reply)
    served_at, answered_at          when (UTC ISO-8601)
    seconds, crowd                  seconds from serving to answering, crowd-platform ids
                                    (optional: null and {} for the AI judge and older files)

`read_votes` checks every line (JSON, fields, answer, winner consistent with the answer) and
names file:line on a problem; nothing is dropped silently.

Coherence ratings: ratings__<run id>.csv, columns RATING_COLUMNS (idx,user_id,item_id,
annotator,rating), written by `bench annotate export` and read by metrics.coherence
(eval.human_ratings_csv) through `read_ratings`.
"""


from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from bench.api.errors import DataError
from bench.api.run_folder import atomic_write_jsonl, numbered_jsonl

ANSWERS = ("left", "right", "tie", "both_bad")
OPTIONAL = ("seconds", "crowd")  # fields a vote file may lack


@dataclass(frozen=True)
class ArenaVote:
    vote_id: int | str
    campaign: str
    annotator: str
    battle: int | str
    idx: int
    user_id: str
    item_id: str
    left_run: str
    right_run: str
    left_method: str | None
    right_method: str | None
    answer: str
    winner_run: str | None
    comment: str
    served_at: str
    answered_at: str
    seconds: float | None = None
    crowd: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        """In metrics.arena's terms: "a" (left won), "b", "tie" or "both_bad"."""
        return {"left": "a", "right": "b"}.get(self.answer, self.answer)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "vote") -> ArenaVote:
        if not isinstance(data, dict):
            raise DataError(f"{where}: a vote is a JSON object")
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in data and n not in OPTIONAL]
        if missing:
            raise DataError(f"{where}: missing field(s) {', '.join(missing)}")
        vote = cls(**{n: data[n] for n in names if n in data})
        if vote.answer not in ANSWERS:
            raise DataError(f"{where}: answer must be one of {', '.join(ANSWERS)}, got {vote.answer!r}")
        expected = {"left": vote.left_run, "right": vote.right_run}.get(vote.answer)
        if vote.winner_run != expected:
            raise DataError(f"{where}: winner_run {vote.winner_run!r} does not match answer {vote.answer!r}")
        if vote.left_run == vote.right_run:
            raise DataError(f"{where}: left_run and right_run are the same run")
        return vote


def read_votes(path: str | Path) -> list[ArenaVote]:
    path = Path(path)
    return [ArenaVote.from_dict(data, f"{path}:{number}") for number, data in numbered_jsonl(path)]


def write_votes(path: str | Path, votes: Iterable[ArenaVote]) -> None:
    atomic_write_jsonl(Path(path), [v.to_dict() for v in votes])


RATING_COLUMNS = ("idx", "user_id", "item_id", "annotator", "rating")
VOTES_FILE = "votes.jsonl"


def ratings_file(run_id: str) -> str:
    return f"ratings__{run_id}.csv"


def ratings_csv(rows: list[dict[str, Any]]) -> str:
    """The ratings CSV of one run: a header of RATING_COLUMNS, one row per rating."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RATING_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def read_ratings(path: str | Path) -> dict[str, list[float]]:
    """CSV with a header: `idx` (or `user_id`,`item_id`), `annotator`, `rating`.

    Returns key -> ratings (one per annotator), key = str(idx) or "user_id|item_id"."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"human ratings file not found: {path}")
    out: dict[str, list[float]] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        cols = set(reader.fieldnames or [])
        if "rating" not in cols or not ({"idx"} <= cols or {"user_id", "item_id"} <= cols):
            raise DataError(
                f"{path}:1: header must hold rating and idx (or user_id,item_id); got {sorted(cols)}"
            )
        for number, row in enumerate(reader, 2):
            try:
                rating = float(row["rating"])
            except (TypeError, ValueError):
                raise DataError(
                    f"{path}:{number}: rating {row.get('rating')!r} is not a number"
                ) from None
            if not math.isfinite(rating):
                raise DataError(f"{path}:{number}: rating must be finite")
            if row.get("idx") not in (None, ""):
                key = str(int(float(row["idx"])))
            else:
                key = f"{row['user_id']}|{row['item_id']}"
            out.setdefault(key, []).append(rating)
    return out
