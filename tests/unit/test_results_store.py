"""The results store records which test records each run scored, and migrates old stores."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing

import pytest

from bench.api.errors import DataError
from bench.api.run_folder import RunFolder
from bench.results import SCHEMA_VERSION, ResultsStore, default_store_path
from bench.scored_records import ScoredRecords, read_scored_records, records_digest
from tests.fixtures.leaderboards.synthetic import write_run

INST = "amazon-instruments"


def test_records_digest_is_the_ordered_user_item_list(tmp_path):
    folder = RunFolder(tmp_path)
    rows = [{"idx": 0, "user_id": "u1", "item_id": "i9"}, {"idx": 1, "user_id": "u2", "item_id": "i3"}]
    folder.write_predictions(rows)
    expected = hashlib.sha256(b"u1\ti9\nu2\ti3\n").hexdigest()
    assert records_digest(folder.read_predictions()) == (expected, 2)
    folder.write_predictions(reversed(rows))
    assert records_digest(folder.read_predictions())[0] != expected  # idx pairs by position: order matters
    folder.predictions.write_text(json.dumps(rows[0]) + "\n{broken\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"predictions.jsonl:2: not valid JSON"):
        folder.read_predictions()


def test_store_keeps_records_digest_and_counts(tmp_path):
    run = write_run(tmp_path, "peter", INST, 0, {"rmse": 0.9}, n_test=20, records=range(6))
    (stored,) = ResultsStore(default_store_path(tmp_path)).runs()
    assert stored["records_digest"] == records_digest(RunFolder(run).read_predictions())[0]
    assert (stored["n_scored"], stored["n_test"]) == (6, 20)


def test_folders_without_predictions_fall_back_to_split_then_seed(tmp_path):
    assert read_scored_records(tmp_path) == ScoredRecords(None, None, None, None)
    assert ScoredRecords(None, None, None, None).key(seed=3) == "seed:3"
    (tmp_path / "splits.json").write_text(
        json.dumps({"counts": {"test": 50}, "digests": {"test": "abc"}}), encoding="utf-8"
    )
    scored = read_scored_records(tmp_path)
    assert (scored.n_test, scored.key(seed=3)) == (50, "split:abc")


def test_an_older_store_is_rebuilt_from_the_run_folders(tmp_path):
    run = write_run(tmp_path, "peter", INST, 0, {"rmse": 0.9}, index=False)
    path = default_store_path(tmp_path)
    with closing(sqlite3.connect(path)) as con:  # schema 1: no record identity in `runs`
        con.executescript(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, method TEXT, dataset TEXT, seed INTEGER,"
            " cfg_hash TEXT, profile TEXT, run_dir TEXT, finished_at TEXT);"
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
            "INSERT INTO meta VALUES ('schema_version', '1');"
            "INSERT INTO runs VALUES ('old', 'peter', 'x', 0, 'h', NULL, '/gone', NULL);"
        )
    store = ResultsStore(path)
    assert store.migrated == (1, 1)
    (stored,) = store.runs()
    assert stored["run_id"] == run.name and stored["n_scored"] == 20
    assert stored["records_digest"] == records_digest(RunFolder(run).read_predictions())[0]
    assert [r.value for r in store.rows()] == [0.9]
    with closing(sqlite3.connect(path)) as con:
        assert con.execute("SELECT value FROM meta").fetchone() == (str(SCHEMA_VERSION),)
    assert ResultsStore(path).migrated is None  # opened again: nothing to do
