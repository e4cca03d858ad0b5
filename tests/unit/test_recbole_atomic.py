"""Our splits -> RecBole benchmark atomic files: round trip, fixed split, histories."""

from __future__ import annotations

import random

import pytest

from bench.adapters.recbole_calibration import fit_platt
from bench.adapters.recbole_files import (
    NO_HISTORY,
    AtomicFiles,
    HistoryIndex,
    read_inter_file,
    write_atomic_files,
)
from bench.api.records import Record, Splits


def _splits(n_users: int = 12, per_user: int = 10, seed: int = 0) -> Splits:
    """Per-user time-ordered 8:1:1 over synthetic records; ids with spaces on purpose."""
    rng = random.Random(seed)
    train, valid, test = [], [], []
    for u in range(n_users):
        items = rng.sample(range(40), per_user)
        rows = [
            Record(
                user_id=f"user {u}",
                item_id=f"item\t{i}" if i % 7 == 0 else f"item {i}",
                rating=float(r),
                label=int(r >= 4),
                timestamp=1000 + 10 * k,
                extras={"genres": ["Sci Fi", "Drama"] if i % 2 else ["Comedy"]},
            )
            for k, (i, r) in enumerate((i, rng.randint(1, 5)) for i in items)
        ]
        train += rows[:8]
        valid += rows[8:9]
        test += rows[9:]
    rng.shuffle(test)  # order of the split must survive, whatever it is
    return Splits(train, valid, test, {"protocol": "synthetic"})


def test_round_trip_counts_labels_and_test_order(tmp_path):
    splits = _splits()
    files = write_atomic_files(splits, tmp_path, item_feature_keys=["genres"])
    assert files.counts == {"train": 96, "valid": 12, "test": 12}
    users = {v: k for k, v in files.user_tokens.items()}
    items = {v: k for k, v in files.item_tokens.items()}
    for name, records in (("train", splits.train), ("valid", splits.valid), ("test", splits.test)):
        rows = read_inter_file(files.inter_path(name))
        assert len(rows) == len(records)
        back = [(users[r["user_id"]], items[r["item_id"]], int(float(r["label"]))) for r in rows]
        assert back == [(r.user_id, r.item_id, r.label) for r in records]
    # tokens are whitespace-free, so RecBole's tab/space separated format cannot break
    assert all(
        " " not in t and "\t" not in t
        for t in [*files.user_tokens.values(), *files.item_tokens.values()]
    )
    header = (files.dir / "erbench.item").read_text().splitlines()[0]
    assert header == "item_id:token\tgenres:token_seq"
    assert "Sci_Fi Drama" in (files.dir / "erbench.item").read_text()
    # manifest round trip
    again = AtomicFiles.load(files.dir)
    assert again.user_tokens == files.user_tokens and again.counts == files.counts


def test_train_subset_and_missing_label(tmp_path):
    splits = _splits()
    files = write_atomic_files(splits, tmp_path / "a", train_records=splits.train[:5])
    assert files.counts["train"] == 5 and files.counts["test"] == len(splits.test)
    splits.test[0].label = None
    with pytest.raises(Exception, match="0/1 label"):
        write_atomic_files(splits, tmp_path / "b")


def test_histories_are_prior_items_without_leaks(tmp_path):
    splits = _splits(n_users=3)
    files = write_atomic_files(
        splits, tmp_path, with_history=True, with_neg_history=True, history_len=4
    )
    items = {v: k for k, v in files.item_tokens.items()}
    rows = read_inter_file(files.inter_path("train"))
    by_user: dict[str, list[Record]] = {}
    for rec, row in zip(splits.train, rows, strict=True):
        earlier = by_user.setdefault(rec.user_id, [])
        expected = [r.item_id for r in earlier][-4:]
        got = (
            []
            if row["item_id_list"] == NO_HISTORY
            else [items[t] for t in row["item_id_list"].split()]
        )
        assert got == expected
        neg = row["neg_item_id_list"].split()
        assert len(neg) == len(row["item_id_list"].split())
        earlier.append(rec)
    # a test record's history is the user's last 4 earlier items (train and valid), never itself
    for rec, row in zip(splits.test, read_inter_file(files.inter_path("test")), strict=True):
        mine = sorted(
            [r for r in splits.train + splits.valid if r.user_id == rec.user_id],
            key=lambda r: r.timestamp,
        )
        assert [items[t] for t in row["item_id_list"].split()] == [r.item_id for r in mine][-4:]


def test_liked_history_uses_train_labels_only():
    splits = _splits(n_users=2)
    index = HistoryIndex(splits, "liked")
    for rec in splits.test:
        prior = index.prior_items(rec, 100)
        liked_train = [r.item_id for r in sorted(splits.train, key=lambda r: r.timestamp)
                       if r.user_id == rec.user_id and r.label == 1]  # fmt: skip
        assert prior == liked_train


def test_history_only_records_are_history_of_the_samples():
    """per-user-target: a user's other interactions are in no split but are the samples'
    history, for the RecBole rows as for the LLM rows."""
    import dataclasses

    splits = _splits(n_users=2)
    target = splits.test[0]
    before = [r for r in splits.train + splits.valid if r.user_id == target.user_id]
    only = dataclasses.replace(splits, train=[r for r in splits.train if r.user_id != target.user_id],
                               valid=[r for r in splits.valid if r.user_id != target.user_id], history_only=before)
    prior = sorted(before, key=lambda r: r.timestamp)
    assert HistoryIndex(only).prior_items(target, 100) == [r.item_id for r in prior]
    assert HistoryIndex(only, "liked").prior_items(target, 100) == [r.item_id for r in prior if r.label == 1]


def test_recbole_builds_exactly_our_split(tmp_path):
    pytest.importorskip("recbole")
    from bench.adapters.recbole import RecBoleRun
    from bench.adapters.recbole_config import RecBoleSettings

    splits = _splits(n_users=15)
    for model, history in (("FM", False), ("SASRec", True)):
        files = write_atomic_files(
            splits, tmp_path / model, with_history=history, item_feature_keys=["genres"]
        )
        run = RecBoleRun(RecBoleSettings(model=model, epochs=1), files, tmp_path / model)
        test_ds = run.test_data._dataset
        assert len(run.train_data._dataset) == len(splits.train)
        assert len(run.valid_data._dataset) == len(splits.valid)
        assert len(test_ds) == len(splits.test)
        uid = test_ds.id2token("user_id", test_ds.inter_feat["user_id"].numpy())
        iid = test_ds.id2token("item_id", test_ds.inter_feat["item_id"].numpy())
        users = {v: k for k, v in files.user_tokens.items()}
        items = {v: k for k, v in files.item_tokens.items()}
        assert [(users[u], items[i]) for u, i in zip(uid, iid, strict=True)] == [
            (r.user_id, r.item_id) for r in splits.test
        ]
        assert test_ds.inter_feat["label"].tolist() == [float(r.label) for r in splits.test]
        # scoring arbitrary records gives the same numbers as RecBole's own test rows
        run.model.eval()
        hist = HistoryIndex(splits).histories(splits.test, 10) if history else None
        mine = run.score_records(splits.test, hist)
        theirs, _ = run.raw_scores_split("test")
        assert mine == pytest.approx(theirs, abs=1e-5)


def test_platt_recovers_known_parameters():
    import numpy as np

    rng = np.random.default_rng(0)
    s = rng.normal(size=20000) * 3 + 1
    y = (rng.random(20000) < 1 / (1 + np.exp(-(0.5 * s - 1.0)))).astype(float)
    fit = fit_platt(s, y)
    assert fit["a"] == pytest.approx(0.5, abs=0.05)
    assert fit["b"] == pytest.approx(-1.0, abs=0.08)
    assert fit_platt([1, 2], [1, 1])["a"] == 0.0


def test_params_validation_and_config_pass_through(tmp_path):
    from baselines.recbole_ctr import RecBoleParams
    from bench.adapters.recbole_config import RecBoleSettings, recbole_config_dict
    from bench.api.errors import ConfigError
    from bench.config import build_dataclass

    with pytest.raises(ConfigError, match="expects dict"):
        build_dataclass(RecBoleParams, {"recbole": ["x"]}, "model")
    with pytest.raises(ConfigError, match="may not set benchmark_filename"):
        RecBoleParams(recbole={"benchmark_filename": ["a"]})
    with pytest.raises(ConfigError, match="seq_train_on"):
        RecBoleParams(seq_train_on="some")
    with pytest.raises(ConfigError, match="unknown config key"):
        build_dataclass(RecBoleParams, {"epoch": 1}, "model")

    files = write_atomic_files(
        _splits(n_users=2), tmp_path, with_history=True, with_neg_history=True
    )
    settings = RecBoleSettings(model="DIEN", embedding_size=32, extra={"mlp_hidden_size": [8]})
    cfg = recbole_config_dict(settings, files)
    assert cfg["benchmark_filename"] == ["train", "valid", "test"]
    assert cfg["alias_of_item_id"] == ["item_id_list", "neg_item_id_list"]
    assert cfg["mlp_hidden_size"] == [8] and cfg["embedding_size"] == 32
    assert cfg["eval_args"]["mode"] == "labeled" and cfg["metrics"] == ["AUC"]
    sas = recbole_config_dict(RecBoleSettings(model="SASRec", embedding_size=32), files)
    assert sas["hidden_size"] == 32
