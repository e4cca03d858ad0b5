"""Run-vs-run pages: `bench compare`'s numbers (bench.compare.compare_runs: A − B, paired
t-test, paired bootstrap CI) for two runs scored on the same test records, and per
per-example metric the records whose value changed most between them."""

from __future__ import annotations

import heapq
from dataclasses import asdict
from itertools import combinations
from typing import Any

from bench.compare import compare_read

TOP_CHANGED = 10


def changed_most(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """{metric: [{idx, a, b}, ...]}: the TOP_CHANGED records of largest |A − B|, paired by idx."""
    by_idx = {r["idx"]: r["scores"] for r in b}
    out: dict[str, list[dict[str, Any]]] = {}
    metrics = sorted({m for r in a for m in r["scores"]} & {m for s in by_idx.values() for m in s})
    for metric in metrics:
        pairs = [(r["idx"], r["scores"][metric], by_idx[r["idx"]][metric]) for r in a
                 if metric in r["scores"] and metric in by_idx.get(r["idx"], {})]  # fmt: skip
        top = heapq.nsmallest(TOP_CHANGED, pairs, key=lambda t: (-abs(t[1] - t[2]), str(t[0])))
        out[metric] = [{"idx": i, "a": x, "b": y} for i, x, y in top]
    return out


def comparison(run_a: Any, run_b: Any, metric_rows: tuple[dict, dict],
               records_a: list[dict[str, Any]], records_b: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    """bench compare of two runs of one group (the store says they scored the same records),
    from what the build already read: metric rows by name, each record's per-example scores."""
    per_example = tuple([{"idx": r["idx"], **r["scores"]} for r in rs] for rs in (records_a, records_b))
    data = asdict(compare_read(run_a.run_id, run_b.run_id, metric_rows, per_example,  # type: ignore[arg-type]
                               run_a.scored.key(run_a.seed), len(records_a)))  # fmt: skip
    data["changed_most"] = changed_most(records_a, records_b)
    return data


def pairs(groups: list[list[str]], limit: int) -> tuple[list[tuple[str, str]], int]:
    """Run pairs to precompute, group by group in run order, at most `limit`; (pairs, skipped)."""
    every = [p for g in groups for p in combinations(g, 2)]
    return every[:limit], max(0, len(every) - limit)
