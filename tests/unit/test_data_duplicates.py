"""Exact duplicate records are bad lines; a raw file that is not the spec's release warns."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from bench.api.errors import DataWarning
from bench.data import dataset_info, load_dataset, make_splits
from bench.data.settings import DataConfig
from tests.helpers import load_error

ROOT = Path(__file__).resolve().parents[2]
REVIEWS = "amazon2014/reviews_Musical_Instruments_5.json.gz"
SPEC_SHA = "03f9cc27ae13a454cb4ea6cb620fb10546cc1194ef921441d1c5f34addff2748"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ERBENCH_CACHE_DIR", str(tmp_path / "cache"))


def review(user: str, item: str, text: str = "Bright strings that stay in tune.", **extra) -> str:
    obj = {"reviewerID": user, "asin": item, "overall": 5.0, "reviewText": text,
           "unixReviewTime": 1400000000, "helpful": [0, 0]}  # fmt: skip
    obj.update(extra)
    return json.dumps(obj)


def write_reviews(root: Path, lines: list[str]) -> Path:
    path = root / REVIEWS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode()))
    return path


LINES = [
    review("U1", "I1"),
    review("U2", "I1"),
    review("U1", "I1", helpful=[3, 4]),  # 3: line 1 again (a re-crawl: only the votes moved)
    review("U1", "I1", text="Another review."),  # same user and item, other content: kept
    review("U2", "I1"),  # 5: line 2 again
]


def test_duplicates_stop_the_load_and_are_listed_with_the_first_line(tmp_path):
    path = write_reviews(tmp_path, LINES)
    message = load_error("amazon-instruments", tmp_path)
    assert "2 bad line(s)" in message
    assert f"{path}:3: record: duplicate of line 1" in message
    assert f"{path}:5: record: duplicate of line 2" in message


def test_skip_keeps_the_first_and_counts_the_rest(tmp_path):
    write_reviews(tmp_path, LINES)
    cfg = DataConfig(data_dir=str(tmp_path), on_bad_line="skip")
    loaded = load_dataset("amazon-instruments", cfg)
    assert [r.source.rsplit(":", 1)[1] for r in loaded.records] == ["1", "2", "4"]
    report = loaded.report.to_dict()
    assert report["files"][0]["kept"] == 3
    assert report["files"][0]["bad"] == 2 and report["files"][0]["duplicates"] == 2
    assert report["duplicates"] == 2 and report["records_loaded"] == 3
    info = dataset_info("amazon-instruments", cfg)  # what `bench data info` prints
    assert info["counts"]["duplicates"] == 2 and info["counts"]["records"] == 3
    assert report["reconciles"] is True
    # the prepared cache carries the counts too
    again = load_dataset("amazon-instruments", cfg).report.to_dict()
    assert again["duplicates"] == 2 and again["records_loaded"] == 3


def test_a_test_record_repeating_a_train_record_is_dropped_from_test(tmp_path):
    folder = tmp_path / "xrec" / "amazon"
    folder.mkdir(parents=True)
    row = {"uid": 1, "iid": 2, "title": "T", "user_summary": "u", "item_summary": "i",
           "explanation": "You would like it."}  # fmt: skip
    (folder / "train.jsonl").write_text(json.dumps(row) + "\n")
    (folder / "test.jsonl").write_text(json.dumps({**row, "iid": 3}) + "\n" + json.dumps(row) + "\n")
    cfg = DataConfig(data_dir=str(tmp_path), on_bad_line="skip", split="given",
                     profile_source="given")  # fmt: skip
    loaded = load_dataset("xrec-amazon", cfg)
    assert loaded.report.problems == [f"{folder / 'test.jsonl'}:2: record: duplicate of train.jsonl:1"]
    splits = make_splits(loaded, cfg, seed=0)
    assert [r.item_id for r in splits.train] == ["2"] and [r.item_id for r in splits.test] == ["3"]


def test_a_digest_other_than_the_specs_warns_and_is_recorded(tmp_path):
    path = write_reviews(tmp_path, LINES[:2])
    with pytest.warns(DataWarning) as caught:
        loaded = load_dataset("amazon-instruments", DataConfig(data_dir=str(tmp_path)))
    actual = loaded.report.files[0].sha256
    assert [str(w.message).split(" (")[0] for w in caught] == [
        f"{path}: sha256 {actual} differs from {SPEC_SHA} recorded for dataset 'amazon-instruments'"
    ]
    report = loaded.report.to_dict()
    assert report["sha256_mismatches"] == [str(path)]
    assert report["files"][0]["expected_sha256"] == SPEC_SHA
    assert report["files"][0]["sha256_ok"] is False


def test_the_cli_prints_the_digest_warning_as_one_line(tmp_path):
    path = write_reviews(tmp_path / "data", LINES[:2])
    env = {**os.environ, "ERBENCH_CACHE_DIR": str(tmp_path / "cache")}
    with warnings.catch_warnings():
        done = subprocess.run(
            [sys.executable, "-m", "bench.cli", "data", "info", "amazon-instruments",
             "--data-dir", str(tmp_path / "data")],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: {path}: sha256 ")
    assert json.loads(done.stdout)["sha256_ok"] is False
