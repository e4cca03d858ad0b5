"""Synthetic records and a quiet run context for the Curr-RLCER / backbone tests."""

from __future__ import annotations

import random
from pathlib import Path

from bench.api.records import Record, Splits
from bench.api.run_folder import RunContext
from bench.config import RunConfig

POS = ["great tone and solid build", "love these strings, stay in tune", "works perfectly, sounds warm"]
NEG = ["broke after a week, cheap plastic", "terrible hum and noise", "does not fit, returned it"]


def synthetic_records(n: int = 12, seed: int = 0) -> list[Record]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        rating = float(rng.choice([1, 2, 4, 5, 5]))
        good = rating >= 4
        review = rng.choice(POS if good else NEG)
        out.append(
            Record(
                user_id=f"u{i % 5}", item_id=f"i{i}", rating=rating, label=int(good),
                review=review, user_profile=f"plays guitar; user {i % 5}",
                item_profile=f"guitar accessory number {i}",
                reference_explanation=("the sound quality is great" if good else "the build quality is poor"),
            )  # fmt: skip
        )
    return out


def synthetic_splits(n: int = 12) -> Splits:
    recs = synthetic_records(n)
    k = n // 4
    return Splits(train=recs[: n - 2 * k], valid=recs[n - 2 * k : n - k], test=recs[n - k :])


def run_context(tmp_path: Path, seed: int = 0, resume: bool = False) -> RunContext:
    cfg = RunConfig(method="currrl", dataset="synthetic", seed=seed, device="cpu")
    return RunContext(Path(tmp_path), cfg, resume=resume, quiet=True)
