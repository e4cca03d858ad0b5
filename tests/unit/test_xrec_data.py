"""XRec's pandas pickles: refused by default, converted once to JSON lines with --allow-pickle."""

from __future__ import annotations

import json
import warnings

import pytest

from bench.api.errors import DataError, DataWarning
from bench.data import load_dataset, make_splits, prepare_dataset
from bench.data.settings import DataConfig


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ERBENCH_CACHE_DIR", str(tmp_path / "cache"))


def _frame(n: int, start: int):
    import pandas as pd

    return pd.DataFrame({
        "uid": list(range(start, start + n)), "iid": [10 + k for k in range(n)],
        "title": [f"Book {k}" for k in range(n)], "user_summary": ["likes thrillers"] * n,
        "item_summary": ["a thriller"] * n, "explanation": [f"The user would enjoy book {k}." for k in range(n)],
    })  # fmt: skip


@pytest.fixture
def xrec_release(tmp_path):
    """XRec's layout: data/amazon/{trn,val,tst}.pkl (pickles we wrote ourselves)."""
    folder = tmp_path / "XRec" / "data" / "amazon"
    folder.mkdir(parents=True)
    for name, n, start in (("trn.pkl", 4, 0), ("val.pkl", 2, 100), ("tst.pkl", 3, 200)):
        _frame(n, start).to_pickle(folder / name)
    return tmp_path / "XRec" / "data"


def test_pickles_are_refused_without_the_flag_and_never_unpickled(xrec_release, tmp_path, monkeypatch):
    import pandas as pd

    def forbidden(*args, **kwargs):
        raise AssertionError("unpickled without --allow-pickle")

    monkeypatch.setattr(pd, "read_pickle", forbidden)
    with pytest.raises(DataError, match=r"holds XRec's pandas pickles \(trn.pkl, val.pkl, tst.pkl\).*--allow-pickle"):
        prepare_dataset("xrec-amazon", xrec_release, DataConfig(data_dir=str(tmp_path / "data")))
    assert not (tmp_path / "data" / "xrec").exists()


def test_allow_pickle_converts_once_and_runs_read_json_lines(xrec_release, tmp_path):
    data = tmp_path / "data"
    cfg = DataConfig(data_dir=str(data), split="given", profile_source="given")
    with pytest.warns(DataWarning, match="executes code stored in those files"):
        target = prepare_dataset("xrec-amazon", xrec_release, cfg, allow_pickle=True)
    assert target == data / "xrec" / "amazon"
    assert sorted(p.name for p in target.iterdir()) == ["test.jsonl", "train.jsonl", "valid.jsonl"]
    first = json.loads((target / "test.jsonl").read_text().splitlines()[0])
    assert first == {"uid": 200, "iid": 10, "title": "Book 0", "user_summary": "likes thrillers",
                     "item_summary": "a thriller", "explanation": "The user would enjoy book 0."}  # fmt: skip
    assert not list(data.glob(".xrec-converted.*"))  # the scratch folder is gone
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the JSON lines load without any pickle
        splits = make_splits(load_dataset("xrec-amazon", cfg), cfg, 0)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (4, 2, 3)
    assert splits.test[0].user_profile == "likes thrillers" and splits.test[0].reference_explanation.startswith("The user")


def test_allow_pickle_is_for_xrec_datasets_only(tmp_path):
    with pytest.raises(DataError, match="--allow-pickle converts XRec's pickles only"):
        prepare_dataset("amazon-instruments", tmp_path, DataConfig(data_dir=str(tmp_path / "d")), allow_pickle=True)


def test_cli_flag(xrec_release, tmp_path, capsys):
    from bench.cli import main

    args = ["data", "prepare", "xrec-amazon", "--raw", str(xrec_release / "amazon"), "--data-dir", str(tmp_path / "d")]
    assert main(args) == 2
    assert "--allow-pickle" in capsys.readouterr().err
    with pytest.warns(DataWarning):
        assert main([*args, "--allow-pickle"]) == 0
    assert (tmp_path / "d" / "xrec" / "amazon" / "train.jsonl").is_file()
