"""Where the AI judge's arena votes and the alignment scores are stored, and how a table reads
them; `bench judge --spec S` (bench/judge_step.py) writes them.

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
The alignment scores of a spec's rows (the metric suite against the teacher row) go to
<runs_dir>/arena/<spec>/<dataset>/alignment-<digest of the runs>.json.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api.judgments import ArenaVote, read_votes
from metrics.pairwise_judge import PairwiseJudge


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


def judged_folder(runs_dir: str | Path, spec: str, dataset: str) -> Path:
    return Path(runs_dir) / "arena" / spec / dataset


def votes_key(run_ids: list[str], judge: PairwiseJudge, n: int, seed: int) -> str:
    """The folder name of one judging: a digest of the runs, the judge and the draw."""
    return hashlib.sha256(json.dumps([sorted(run_ids), judge.describe(), n, seed], sort_keys=True).encode()).hexdigest()[:12]


def stored_votes(folder: Path, run_ids: list[str], judge_spec: JudgeSpec, n: int, seed: int) -> list[ArenaVote] | None:
    """The AI votes `bench judge` stored for these runs, judge and draw; None before it ran."""
    path = folder / votes_key(run_ids, judge_spec.make(), n, seed) / "votes.jsonl"
    return read_votes(path) if path.exists() else None


def alignment_path(folder: Path, run_ids: list[str]) -> Path:
    digest = hashlib.sha256(json.dumps(list(run_ids)).encode()).hexdigest()[:12]
    return folder / f"alignment-{digest}.json"


def stored_alignment(folder: Path, run_ids: list[str]) -> dict[str, Any] | None:
    """{"teacher": index, "n": records, "values": [{column: per-record values}] per run}; None
    before `bench judge` scored these runs."""
    path = alignment_path(folder, run_ids)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
