"""Preference pairs for stage 3 phase 1 (DPO), as §3.2 "Stage3" describes.

chosen   = the teacher's explanation (GPT-3.5 in the paper; here the record's reference
           explanation, or a configured OpenAI-compatible teacher endpoint: methods.currrl.teacher),
           in the output format;
rejected = the stage-2 model's (LLM RL-2) response to the same task on a randomly masked
           input, kept only when its semantic similarity to the chosen explanation is below a
           threshold. A record whose draws all stay above the threshold yields no pair; each
           retry uses a fresh mask.
The pair's prompt is the unmasked input x of D = (x, y_w, y_l).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.api.records import Record
from bench.data.masking import mask_record
from methods.currrl.prompts import tagged
from methods.currrl.rewards import extract_answer

Messages = list[dict[str, str]]


@dataclass
class PairStats:
    records: int = 0
    no_reference: int = 0
    pairs: int = 0
    rejected_too_similar: int = 0  # records whose every draw stayed >= threshold
    similarities: list[float] = field(default_factory=list)  # of the kept rejected responses

    def to_dict(self) -> dict[str, Any]:
        sims = self.similarities
        return {
            "records": self.records, "no_reference": self.no_reference, "pairs": self.pairs,
            "dropped_too_similar": self.rejected_too_similar,
            "rejected_similarity_mean": (sum(sims) / len(sims)) if sims else None,
        }  # fmt: skip


def build_dpo_pairs(
    records: Sequence[Record],
    *,
    prompt_fn: Callable[[Record], Messages],
    generate_fn: Callable[[list[Messages]], list[str]],
    similarity_fn: Callable[[list[str], list[str]], list[float]],
    chosen_fn: Callable[[Record], str] | None = None,
    mask_ratio: float = 0.3,
    threshold: float = 0.5,
    max_tries: int = 2,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], PairStats]:
    """Rows {"prompt", "chosen", "rejected"} (chat format) for bench.adapters.trl.train_dpo."""
    chosen_fn = chosen_fn or (lambda r: r.reference_explanation)
    stats = PairStats(records=len(records))
    pending: list[tuple[int, Record, str]] = []
    for i, rec in enumerate(records):
        chosen = (chosen_fn(rec) or "").strip()
        if chosen:
            pending.append((i, rec, chosen))
        else:
            stats.no_reference += 1
    found: dict[int, dict[str, Any]] = {}
    for attempt in range(max(1, max_tries)):
        if not pending:
            break
        masked = [mask_record(rec, mask_ratio, seed, salt=f"dpo-{attempt}") for _, rec, _ in pending]
        outputs = generate_fn([prompt_fn(m) for m in masked])
        answers = [extract_answer(o, lenient=True) or "" for o in outputs]
        sims = similarity_fn(answers, [c for _, _, c in pending])
        still = []
        for (i, rec, chosen), out, sim in zip(pending, outputs, sims, strict=True):
            if sim < threshold and out.strip():
                found[i] = {
                    "prompt": prompt_fn(rec),
                    "chosen": [{"role": "assistant", "content": tagged(chosen)}],
                    "rejected": [{"role": "assistant", "content": out.strip()}],
                    "similarity": float(sim),
                }
                stats.similarities.append(float(sim))
            else:
                still.append((i, rec, chosen))
        pending = still
    stats.rejected_too_similar = len(pending)
    rows = [found[i] for i in sorted(found)]
    stats.pairs = len(rows)
    return rows, stats

