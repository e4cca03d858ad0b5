"""Which items a campaign holds, drawn with its seed so the same command gives the same set.

Arena: a battle is (test record, pair of runs). Records are shuffled, then dealt pairs in
rotation (record j of round r gets pair (j + r) mod P), and the n battles are taken from that
sequence one pair at a time in turn, so every pair gets n/P battles (within one, as long as
the records allow), records come in rotation order (each once before any twice, where n
allows) and no (record, pair) repeats. Coherence: an item is (run, test record), drawn uniformly without replacement.
Only records where every shown run has a non-empty explanation are eligible.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from bench.annotate.run_outputs import RunOutputs
from bench.api.errors import BenchError


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
    queues: list[list[Draw]] = [[] for _ in pairs]  # per pair, in rotation order
    for round_ in range(len(pairs)):
        for j, position in enumerate(records):
            k = (j + round_) % len(pairs)
            a, b = pairs[k]
            if runs[a].explanation(position) and runs[b].explanation(position):
                queues[k].append(Draw(position, (a, b)))
    available = sum(len(q) for q in queues)
    if n > available:
        raise BenchError(
            f"--n {n} asks for more battles than the runs allow: {available} distinct "
            f"(record, pair) battles have explanations on both sides"
        )
    battles: list[Draw] = []
    taken = [0] * len(pairs)
    while len(battles) < n:  # one battle per pair in turn, pairs with none left skipped
        for k, queue in enumerate(queues):
            if taken[k] < len(queue) and len(battles) < n:
                battles.append(queue[taken[k]])
                taken[k] += 1
    return battles


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
