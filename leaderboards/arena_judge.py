"""AI-judged arena battles between finished runs, written as raw votes.

Battles are drawn exactly as the annotation app draws a campaign's (bench.annotate.sampling:
records shuffled with the seed, run pairs dealt in rotation, only records where both runs have
an explanation), so an AI arena and a human campaign over the same runs, n and seed judge the
same battles. Each battle is judged twice, once in each order (metrics.pairwise_judge), and
each order is one vote with its left/right runs, answer and the judge's raw reply, in the
annotation app's votes.jsonl format (bench.api.judgments).

The judge reads the recommendation context a distill run stores in each prediction's extras
(`context`, `context_facts`); for runs without one it sees only the two explanations.

Votes go to <runs_dir>/arena/<spec>/<dataset>/<key>/votes.jsonl (with judge.json), the key a
digest of the runs, the judge and the draw; an existing file is read back, not judged again.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api.judgments import ArenaVote, read_votes, write_votes
from metrics.pairwise_judge import ARENA_ANSWER, JudgeInput, PairwiseJudge


@dataclass(frozen=True)
class JudgeSpec:
    kind: str = "rule"  # rule | endpoint
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    margin: float = 1.0
    cache_path: str | None = None

    def make(self) -> PairwiseJudge:
        from metrics.pairwise_judge import RuleJudge, endpoint_judge

        if self.kind == "rule":
            return RuleJudge(self.margin)
        if self.kind == "endpoint" and self.base_url and self.model:
            return endpoint_judge(self.base_url, self.model, self.api_key_env, self.cache_path)
        from bench.api.errors import ConfigError

        raise ConfigError("arena judge: kind must be rule, or endpoint with judge_base_url and judge_model")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"


def _context(rows: list[dict[str, Any]]) -> tuple[str, tuple[str, ...]]:
    for row in rows:
        extras = row.get("extras") if isinstance(row.get("extras"), dict) else {}
        if extras.get("context"):
            return str(extras["context"]), tuple(str(f) for f in extras.get("context_facts") or ())
    return "", ()


def judge_battles(run_dirs: list[str], n: int, seed: int, judge_spec: JudgeSpec, folder: Path) -> list[ArenaVote]:
    """The AI votes of up to `n` battles between the runs (both orders: 2 votes each)."""
    from bench.annotate.run_outputs import read_runs
    from bench.annotate.sampling import draw_battles

    runs = read_runs(run_dirs, at_least=2)
    judge = judge_spec.make()
    key = hashlib.sha256(
        json.dumps([sorted(r.run_id for r in runs), judge.describe(), n, seed], sort_keys=True).encode()
    ).hexdigest()[:12]
    target = folder / key
    if (target / "votes.jsonl").exists():
        return read_votes(target / "votes.jsonl")
    possible = sum(
        1 for i in range(len(runs)) for j in range(i + 1, len(runs))
        for pos in range(len(runs[0].rows)) if runs[i].explanation(pos) and runs[j].explanation(pos)
    )  # fmt: skip
    draws = draw_battles(runs, min(n, possible), seed) if possible else []
    inputs, meta = [], []
    for battle, draw in enumerate(draws):
        a, b = draw.runs
        context, facts = _context([run.rows[draw.position] for run in runs])
        for left, right in ((a, b), (b, a)):
            inputs.append(JudgeInput(context, facts, runs[left].explanation(draw.position),
                                     runs[right].explanation(draw.position)))  # fmt: skip
            meta.append((battle, draw.position, left, right))
    served = _now()
    verdicts = judge.judge(inputs) if inputs else []
    answered = _now()
    votes = []
    for number, ((battle, pos, left, right), verdict) in enumerate(zip(meta, verdicts, strict=True), 1):
        if verdict.answer is None:
            answer = None
        else:
            answer = ARENA_ANSWER[verdict.answer]
        row = runs[left].rows[pos]
        votes.append(
            ArenaVote(
                vote_id=number, campaign=f"ai-arena/{key}", annotator=judge.name, battle=battle,
                idx=int(row.get("idx", pos)), user_id=str(row["user_id"]), item_id=str(row["item_id"]),
                left_run=runs[left].run_id, right_run=runs[right].run_id,
                left_method=runs[left].method, right_method=runs[right].method,
                answer=answer or "unparseable",
                winner_run={"left": runs[left].run_id, "right": runs[right].run_id}.get(answer or ""),
                comment=verdict.reply or "", served_at=served, answered_at=answered,
            )  # fmt: skip
        )
    unreadable = [v for v in votes if v.answer == "unparseable"]
    kept = [v for v in votes if v.answer != "unparseable"]
    target.mkdir(parents=True, exist_ok=True)
    from bench.api.run_folder import atomic_write_json

    atomic_write_json(target / "judge.json", {
        "judge": judge.describe(), "runs": [r.run_id for r in runs], "n": n, "seed": seed,
        "battles": len(draws), "votes": len(kept), "unparseable": len(unreadable),
        "unparseable_replies": [v.comment for v in unreadable][:20],
    })  # fmt: skip
    write_votes(target / "votes.jsonl", kept)
    return kept
