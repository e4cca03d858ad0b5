"""Which test records a run scored: what two runs must share before their numbers are compared.

The identity is the sha256 of the ordered (user_id, item_id) list of the run's
predictions.jsonl. Per-example scores are paired by `idx`, the position in that list, so two
runs with the same digest pair every idx with the same record, however the records were
chosen (the whole split, the first eval.max_records, or a seeded sample).

Older folders without predictions.jsonl fall back to the test split's digest (splits.json),
then to the seed: with equal n that meant the same records while max_records took a prefix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api.run_folder import RunFolder


@dataclass(frozen=True)
class ScoredRecords:
    digest: str | None  # sha256 of the scored (user_id, item_id) list; None without predictions
    n_scored: int | None  # lines of predictions.jsonl (provenance records.scored as fallback)
    n_test: int | None  # size of the test split the records came from
    split_digest: str | None  # splits.json digests.test

    def key(self, seed: int) -> str:
        """A string equal for two runs exactly when they scored the same records (see module)."""
        if self.digest:
            return self.digest
        if self.split_digest:
            return f"split:{self.split_digest}"
        return f"seed:{seed}"


def records_digest(rows: Iterable[dict[str, Any]]) -> tuple[str, int]:
    """(sha256 of the ordered user_id/item_id pairs, number of records) of a run's predictions
    (RunFolder.read_predictions)."""
    digest = hashlib.sha256()
    count = 0
    for row in rows:
        digest.update(f"{row.get('user_id', '')}\t{row.get('item_id', '')}\n".encode())
        count += 1
    return digest.hexdigest(), count


def read_scored_records(run_dir: str | Path) -> ScoredRecords:
    folder = RunFolder(run_dir)
    splits = folder.read_splits()
    counts = folder.read_provenance().get("records") or {}
    digest, n_scored = None, counts.get("scored")
    if folder.predictions.exists():
        digest, n_scored = records_digest(folder.read_predictions())
    n_test = counts.get("test", (splits.get("counts") or {}).get("test"))
    return ScoredRecords(
        digest=digest,
        n_scored=None if n_scored is None else int(n_scored),
        n_test=None if n_test is None else int(n_test),
        split_digest=(splits.get("digests") or {}).get("test"),
    )
