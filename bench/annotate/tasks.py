"""The two questions a campaign can ask, with the answers each accepts and their keys.

arena:     which of two explanations of one recommendation is better (models hidden)
coherence: which 1-5 rating an explanation implies (Curr-RLCER's human r2, eq. 8)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    value: str  # what the form posts and the database stores
    label: str  # the button text
    key: str  # keyboard shortcut (shown on the button)


@dataclass(frozen=True)
class Task:
    name: str
    runs_needed: int
    choices: tuple[Choice, ...]

    @property
    def answers(self) -> frozenset[str]:
        return frozenset(c.value for c in self.choices)


ARENA = Task(
    "arena",
    2,
    (
        Choice("left", "A is better", "a"),
        Choice("right", "B is better", "b"),
        Choice("tie", "Tie", "t"),
        Choice("both_bad", "Both are bad", "x"),
    ),
)
CANNOT_TELL = "cannot_tell"
COHERENCE = Task(
    "coherence",
    1,
    (
        *(Choice(str(r), str(r), str(r)) for r in range(1, 6)),
        Choice(CANNOT_TELL, "Cannot tell", "c"),
    ),
)
TASKS = {t.name: t for t in (ARENA, COHERENCE)}
