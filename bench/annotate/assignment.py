"""Who is served which item next, and on which side: the campaign's assignment policy.

Decided inside the serving transaction from what the database already records (items, what
was served to whom with its sides, the answers), so the same requests in the same order give
the same assignment (the seed breaks every tie), and the `served` table is the record of it.

For one annotator, in this order:
1. an item served to them and not answered yet (a reload resumes it, same sides);
2. practice items, in file order (answered, never counted);
3. a gold item when one is due: one after every round(1 / gold_rate) real answers;
4. nothing more once their real answers reach `quota`;
5. a real item they have not seen and that fewer than `per_item` annotators were served:
   - `adaptive` (arena): only the model pair whose Bradley-Terry difference is most uncertain
     given the real answers so far (metrics.arena_uncertainty), as Chatbot Arena samples pairs;
   - otherwise the model pair (coherence: the run) served least so far, so exposure stays
     balanced across pairs;
   then the item served to the fewest annotators, then the annotator's seeded order.
Sides: the run shown left less often within its model pair goes left (then within the item,
then a seeded coin), so left/right stay balanced per pair across annotators.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

REAL, PRACTICE, GOLD = "real", "practice", "gold"
KINDS = (REAL, PRACTICE, GOLD)


@dataclass(frozen=True)
class Policy:
    per_item: int | None = None  # each real item served to at most this many annotators
    quota: int | None = None  # real answers per annotator
    adaptive: bool = False  # arena: serve the most uncertain model pair first
    gold_rate: float = 0.0  # gold items per real item
    bt_alpha: float = 0.01  # the Bradley-Terry prior (metrics.arena) used by `adaptive`

    @classmethod
    def from_meta(cls, data: dict[str, Any] | None) -> Policy:
        data = data or {}
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def to_meta(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @property
    def gold_every(self) -> int | None:
        return max(1, round(1 / self.gold_rate)) if self.gold_rate > 0 else None


@dataclass(frozen=True)
class ItemRow:
    id: int
    kind: str
    run_a: str
    run_b: str | None

    @property
    def pair(self) -> tuple[str, ...]:
        return tuple(sorted(r for r in (self.run_a, self.run_b) if r is not None))


@dataclass(frozen=True)
class ServedRow:
    annotator_id: int
    item_id: int
    a_on_left: bool
    answer: str | None  # None while unanswered


def _order(seed: int, annotator: str, ids: list[int]) -> dict[int, int]:
    shuffled = list(ids)
    random.Random(f"order/{seed}/{annotator}").shuffle(shuffled)
    return {item_id: rank for rank, item_id in enumerate(shuffled)}


def most_uncertain_pair(items: dict[int, ItemRow], served: list[ServedRow],
                        candidates: set[tuple[str, ...]], alpha: float) -> tuple[str, ...]:  # fmt: skip
    """The candidate model pair with the largest variance of its BT difference."""
    from metrics.arena import Battle
    from metrics.arena_uncertainty import pair_variances

    runs = sorted({r for it in items.values() if it.kind == REAL for r in it.pair})
    index = {r: k for k, r in enumerate(runs)}
    battles = []
    for row in served:
        item = items[row.item_id]
        if item.kind != REAL or row.answer is None or item.run_b is None:
            continue
        outcome = {"left": "a" if row.a_on_left else "b", "right": "b" if row.a_on_left else "a"}
        battles.append(Battle(index[item.run_a], index[item.run_b],
                              outcome.get(row.answer, row.answer)))  # fmt: skip
    variances = pair_variances(len(runs), battles, alpha=alpha)

    def uncertainty(pair: tuple[str, ...]) -> float:
        i, j = sorted((index[pair[0]], index[pair[1]]))
        return variances[(i, j)]

    return max(sorted(candidates), key=uncertainty)  # sorted: ties go to the first pair


def next_item(items: dict[int, ItemRow], served: list[ServedRow], annotator_id: int,
              annotator_name: str, policy: Policy, seed: int) -> int | None:  # fmt: skip
    """The id of the item to serve this annotator now (module docstring), None when done."""
    mine = [s for s in served if s.annotator_id == annotator_id]
    pending = [s.item_id for s in mine if s.answer is None]
    if pending:
        return pending[0]
    seen = {s.item_id for s in mine}
    answered = Counter(items[s.item_id].kind for s in mine)
    practice = sorted(i for i, it in items.items() if it.kind == PRACTICE and i not in seen)
    if practice:
        return practice[0]
    every = policy.gold_every
    gold_left = sorted(i for i, it in items.items() if it.kind == GOLD and i not in seen)
    if every and gold_left and answered[GOLD] < answered[REAL] // every:
        return gold_left[0]
    if policy.quota is not None and answered[REAL] >= policy.quota:
        return None
    load = Counter(s.item_id for s in served)
    candidates = [
        i for i, it in items.items()
        if it.kind == REAL and i not in seen
        and (policy.per_item is None or load[i] < policy.per_item)
    ]  # fmt: skip
    if not candidates:
        return None
    pair_load = Counter(items[s.item_id].pair for s in served if items[s.item_id].kind == REAL)
    pairs = {items[i].pair for i in candidates}
    if policy.adaptive and len(next(iter(pairs))) == 2:
        chosen = most_uncertain_pair(items, served, pairs, policy.bt_alpha)
    else:
        chosen = min(sorted(pairs), key=lambda p: pair_load[p])
    order = _order(seed, annotator_name, sorted(items))
    return min((i for i in candidates if items[i].pair == chosen),
               key=lambda i: (load[i], order[i]))  # fmt: skip


def a_on_left(items: dict[int, ItemRow], served: list[ServedRow], item_id: int,
              annotator_name: str, seed: int) -> bool:  # fmt: skip
    """Show run_a on the left? Balances the sides within the model pair, then the item."""
    item = items[item_id]
    if item.run_b is None:
        return True
    first = item.pair[0]  # count how often the pair's first run (by id) was shown left

    def balance(rows: list[ServedRow]) -> int:
        left_runs = [items[s.item_id].run_a if s.a_on_left else items[s.item_id].run_b
                     for s in rows]  # fmt: skip
        return sum(1 if run == first else -1 for run in left_runs)

    same_pair = [s for s in served if items[s.item_id].pair == item.pair]
    for rows in (same_pair, [s for s in same_pair if s.item_id == item_id]):
        diff = balance(rows)  # > 0: `first` was left more often
        if diff:
            first_left = diff < 0
            return first_left == (item.run_a == first)
    coin = random.Random(f"side/{seed}/{annotator_name}/{item_id}").random() < 0.5
    return coin
