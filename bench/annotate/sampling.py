"""Which items a campaign holds, drawn with its seed so the same command gives the same set.

Arena: a battle is (test record, pair of runs). Records are shuffled, then dealt pairs in
rotation (record j of round r gets pair (j + r) mod P), so every pair is shown about
equally often, each record appears once before any appears twice, and no (record, pair)
repeats. Coherence: an item is (run, test record), drawn uniformly without replacement.
Only records where every shown run has a non-empty explanation are eligible.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from bench.annotate.run_outputs import RunOutputs
from bench.errors import BenchError


@dataclass(frozen=True)
class Draw:
    position: int  # record position in predictions.jsonl (the row's idx when it has one)
    runs: tuple[int, ...]  # indices into the campaign's run list: (a, b) arena, (run,) coherence


def draw_battles(runs: list[RunOutputs], n: int, seed: int) -> list[Draw]:
    rng = random.Random(f"arena/{seed}")
    records = list(range(len(runs[0].rows)))
    pairs = list(itertools.combinations(range(len(runs)), 2))
    rng.shuffle(records)
    rng.shuffle(pairs)
    battles: list[Draw] = []
    for round_ in range(len(pairs)):
        for j, position in enumerate(records):
            a, b = pairs[(j + round_) % len(pairs)]
            if runs[a].explanation(position) and runs[b].explanation(position):
                battles.append(Draw(position, (a, b)))
                if len(battles) == n:
                    return battles
    raise BenchError(
        f"--n {n} asks for more battles than the runs allow: {len(battles)} distinct "
        f"(record, pair) battles have explanations on both sides"
    )


def draw_ratings(runs: list[RunOutputs], n: int, seed: int) -> list[Draw]:
    rng = random.Random(f"coherence/{seed}")
    eligible = [
        Draw(position, (r,))
        for r, run in enumerate(runs)
        for position in range(len(run.rows))
        if run.explanation(position)
    ]
    if n > len(eligible):
        raise BenchError(
            f"--n {n} asks for more items than the runs allow: {len(eligible)} explanations"
        )
    return rng.sample(eligible, n)
