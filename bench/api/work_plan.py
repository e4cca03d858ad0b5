"""The work a run plans, stage by stage, as a method declares it (`Method.planned_work`): printed by the
preflight with a rough time estimate (bench.run_estimate) before anything trains."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlannedStage:
    """One stage of a run. `records` None: every record of the split (counted at run time)."""

    name: str  # e.g. "1_judgment (GRPO)" or "predict"
    records: int | None = None
    steps: int | None = None  # optimizer steps; None for generation-only stages
    generated_tokens: int = 0  # upper bound: every sequence runs to its max_new_tokens
    decode_steps: int = 0  # tokens generated one after another (batches × max_new_tokens)
    trained_sequences: int = 0  # sequences through a forward + backward pass
    note: str = ""

    def describe(self) -> str:
        parts = [f"{self.records:,} records" if self.records is not None else "all records"]
        if self.steps is not None:
            parts.append(f"{self.steps:,} steps")
        if self.generated_tokens:
            parts.append(f"≤ {self.generated_tokens:,} generated tokens")
        if self.note:
            parts.append(self.note)
        return f"{self.name}: " + ", ".join(parts)
