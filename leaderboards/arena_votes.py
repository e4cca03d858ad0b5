"""One arena vote, as the annotation app exports it (README "Human evaluation", votes.jsonl).

Humans (bench annotate export) and the AI judge (leaderboards.arena_judge) write the same
record, one JSON object per line, so any arena table is rebuilt from the raw votes alone:

    vote_id, campaign, annotator    who (annotator-<k>, or the judge: rule-judge, judge:<model>)
    battle, idx, user_id, item_id   which battle, on which test record (position, ids)
    left_run, right_run             the run ids shown left (A, first) and right (B)
    left_method, right_method       their methods
    answer                          left | right | tie | both_bad
    winner_run                      the run answered better (null for tie / both_bad)
    comment                         the annotator's comment (the judge's raw reply)
    served_at, answered_at          when (UTC ISO-8601)

`read_votes` checks every line (JSON, fields, answer, winner consistent with the answer) and
names file:line on a problem; nothing is dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from bench.api.errors import DataError

ANSWERS = ("left", "right", "tie", "both_bad")


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
        missing = [n for n in names if n not in data]
        if missing:
            raise DataError(f"{where}: missing field(s) {', '.join(missing)}")
        vote = cls(**{n: data[n] for n in names})
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
    votes = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            votes.append(ArenaVote.from_dict(data, f"{path}:{number}"))
    return votes


def write_votes(path: str | Path, votes: Iterable[ArenaVote]) -> None:
    from bench.api.run_folder import atomic_write_jsonl

    atomic_write_jsonl(Path(path), [v.to_dict() for v in votes])
