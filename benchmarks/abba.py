"""Interleaved A-B-B-A timing of two callables in one process on the same inputs.

On a shared machine the load changes while a benchmark runs, so timing all of A and then all
of B measures the load as much as the code (benchmarks/bench_metrics.py gave 0.81x and 1.98x
on two runs that way). Here each round runs A, B, B, A (the next round B, A, A, B), so both
sides see the same load on average; the ratio B/A is reported per round and as the median.
Wall and CPU seconds (this process, all threads) and the 1-minute load average are printed.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Side:
    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    result: Any = None


def timed(fn: Callable[[], Any], side: Side) -> None:
    w, c = time.perf_counter(), time.process_time()
    side.result = fn()
    side.wall.append(time.perf_counter() - w)
    side.cpu.append(time.process_time() - c)


def abba(
    old: Callable[[], Any],
    new: Callable[[], Any],
    rounds: int = 3,
    names: tuple[str, str] = ("old", "new"),
    reset: Callable[[], None] | None = None,
) -> tuple[Side, Side]:
    """Run old/new interleaved A-B-B-A for `rounds` rounds (each side 2 x rounds times);
    `reset` runs before every call (e.g. to clear caches so each call does the whole work)."""
    a, b = Side(names[0]), Side(names[1])
    loads = [os.getloadavg()[0]]
    for i in range(rounds):
        order = [(old, a), (new, b), (new, b), (old, a)]
        if i % 2:
            order = [(new, b), (old, a), (old, a), (new, b)]
        for fn, side in order:
            if reset is not None:
                reset()
            timed(fn, side)
        loads.append(os.getloadavg()[0])
    report(a, b, loads)
    return a, b


def report(a: Side, b: Side, loads: list[float]) -> None:
    n = len(a.wall)
    print(
        f"A-B-B-A, {n} calls each; load avg (1 min) over the rounds: "
        + " ".join(f"{x:.1f}" for x in loads)
    )
    for side in (a, b):
        print(
            f"  {side.name:8s} wall median {statistics.median(side.wall):8.2f} s  "
            f"cpu median {statistics.median(side.cpu):8.2f} s  "
            f"(wall {' '.join(f'{x:.2f}' for x in side.wall)})"
        )
    # pairs in time order: the k-th call of each side ran next to each other
    wall_ratios = [y / x for x, y in zip(a.wall, b.wall, strict=True)]
    cpu_ratios = [y / x for x, y in zip(a.cpu, b.cpu, strict=True)]
    print(
        f"  ratio {b.name}/{a.name}: wall median {statistics.median(wall_ratios):.3f} "
        f"(min {min(wall_ratios):.3f}, max {max(wall_ratios):.3f})   "
        f"cpu median {statistics.median(cpu_ratios):.3f} "
        f"(min {min(cpu_ratios):.3f}, max {max(cpu_ratios):.3f})"
    )
