"""Test helpers: a synthetic dataset patched into the data layer, so core tests need no files."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field

from bench.api.records import Record, Splits


def synthetic_records(n_users: int = 30, n_items: int = 20, per_user: int = 8, seed: int = 0) -> list[Record]:
    """Ratings with a clear item effect (item k has mean 1 + 4k/(n_items-1)) plus noise."""
    rng = random.Random(seed)
    words = ["great", "sound", "cheap", "strings", "tone", "broke", "solid", "case"]
    records = []
    for u in range(n_users):
        for i in rng.sample(range(n_items), per_user):
            mean = 1 + 4 * i / (n_items - 1)
            rating = float(min(5, max(1, round(mean + rng.gauss(0, 0.5)))))
            text = " ".join(rng.choice(words) for _ in range(6))
            records.append(
                Record(
                    user_id=f"u{u}", item_id=f"i{i}", rating=rating, label=int(rating >= 4),
                    review=text, reference_explanation=text, timestamp=u * 100 + i,
                )  # fmt: skip
            )
    return records


@dataclass
class FakeReport:
    lines: int
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"lines_read": self.lines, "records_kept": self.lines, "bad_lines": 0}


@dataclass
class FakeLoaded:
    records: list[Record]
    report: FakeReport
    spec: object = None


def patch_synthetic_data(monkeypatch, records: list[Record] | None = None) -> list[Record]:
    """Make bench.data.load_dataset/make_splits serve synthetic records (3:1:1 by index)."""
    import bench.data as data

    records = records if records is not None else synthetic_records()

    def load_dataset(name, cfg, seed=0):
        return FakeLoaded(list(records), FakeReport(len(records)))

    def make_splits(loaded, cfg, seed):
        recs = list(loaded.records)
        random.Random(seed).shuffle(recs)
        n = len(recs)
        a, b = n * 3 // 5, n * 4 // 5
        return Splits(recs[:a], recs[a:b], recs[b:], {"protocol": "synthetic", "seed": seed})

    def data_file_digests(name, cfg):  # the run identity hashes the records served
        blob = json.dumps([r.to_dict() for r in records], sort_keys=True, default=str)
        return {"synthetic.jsonl": hashlib.sha256(blob.encode()).hexdigest()}

    monkeypatch.setattr(data, "load_dataset", load_dataset, raising=False)
    monkeypatch.setattr(data, "make_splits", make_splits, raising=False)
    monkeypatch.setattr(data, "data_file_digests", data_file_digests, raising=False)
    return records


@dataclass
class RecordedBar:
    description: str
    total: int | None
    steps: int = 0
    status: list[dict] = field(default_factory=list)  # every status shown, in order
    closed: bool = False


class RecordingSink:
    """A bench.api.progress sink that records each bar (description, total, steps, status)."""

    def __init__(self) -> None:
        self.bars: list[RecordedBar] = []

    def __call__(self, description: str, total: int | None):
        from contextlib import contextmanager

        @contextmanager
        def opened():
            bar = RecordedBar(description, total)
            self.bars.append(bar)

            def advance(n: int = 1, **status) -> None:
                bar.steps += n
                if status:
                    bar.status.append(status)

            try:
                yield advance
            finally:
                bar.closed = True

        return opened()

    def named(self, prefix: str) -> list[RecordedBar]:
        return [b for b in self.bars if b.description.startswith(prefix)]


def load_error(dataset: str, data_dir) -> str:  # noqa: ANN001
    """The DataError message a strict load of `dataset` from `data_dir` raises (fails if none)."""
    import pytest

    from bench.api.errors import DataError
    from bench.data import load_dataset
    from bench.data.settings import DataConfig

    with pytest.raises(DataError) as err:
        load_dataset(dataset, DataConfig(data_dir=str(data_dir)))
    return str(err.value)
