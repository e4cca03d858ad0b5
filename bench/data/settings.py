"""The data section of a run's configuration (`data.*`): where the raw files are, how strictly
they are read, the split protocol and how profiles and reference explanations are built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class DataConfig:
    data_dir: str | None = None  # raw files; default: $ERBENCH_DATA_DIR or the user cache dir
    on_bad_line: Literal["error", "skip"] = "error"  # "error": stop listing problems; "skip": continue and count
    max_bad_lines: int = 20  # problems listed in the error message
    split: str = "random-3:1:1"  # see bench.data.splits.PROTOCOLS
    rating_threshold: float = 4.0  # label = 1 when rating >= threshold
    history_len: int = 10  # prior items kept as history (ExpCTR / TALLRec)
    max_records: int | None = None  # seeded subsample of the loaded records, for quick runs
    # how profiles/reference explanations are built: from reviews, as the files give them, or none
    profile_source: Literal["reviews", "given", "none"] = "reviews"
    explanation_max_words: int = 15  # cap on reference explanations (PETER uses 15)
    implicit_ratings: Literal["drop", "keep"] = "drop"  # Book-Crossing rating 0: "drop" (counted) or "keep" (rating None)
