"""NRT, Att2Seq, PETER, PETER+ and CER on a tiny learnable synthetic set: every parameter
moves after one step, the loss falls, fit/predict produce what each method declares, a
finished stage is reloaded (not retrained) on resume. Tiny dimensions keep this fast."""

from __future__ import annotations

import random

import pytest
import torch

from bench.adapters.torch_loop import LoopSettings, make_optimizer, train_step
from bench.api.records import Record, Splits
from bench.api.run_folder import RunContext
from bench.config import RunConfig, build_dataclass
from bench.runner import method_class

METHODS = ["nrt", "att2seq", "peter", "peter+", "cer"]
TINY = {"emsize": 16, "nhid": 32, "nlayers": 1, "batch_size": 32, "epochs": 2, "words": 8, "lr": 0.01,
        "optimizer": "adam"}
TRANSFORMER = {"nhead": 2, "dropout": 0.0}
FEATURES = ["sound", "strap", "price", "tone", "case", "cable", "pedal", "strings"]
OPINION = {1: "terrible", 2: "bad", 3: "okay", 4: "good", 5: "great"}


pytestmark = pytest.mark.usefixtures("one_thread")


def learnable_records(n_users=12, n_items=8, seed=0) -> list[Record]:
    """Item k has rating 1 + k % 5 and the explanation 'the <feature k> is <opinion>'."""
    rng = random.Random(seed)
    out = []
    for u in range(n_users):
        for k in rng.sample(range(n_items), 6):
            rating = float(1 + k % 5)
            text = f"the {FEATURES[k]} is {OPINION[int(rating)]} ."
            out.append(Record(user_id=f"u{u}", item_id=f"i{k}", rating=rating, review=text + " I bought it.",
                              reference_explanation=text))
    return out


def splits(seed=0) -> Splits:
    recs = learnable_records(seed=seed)
    random.Random(seed).shuffle(recs)
    n = len(recs)
    return Splits(recs[: n * 3 // 5], recs[n * 3 // 5 : n * 4 // 5], recs[n * 4 // 5 :])


def make(name, tmp_path, **overrides):
    cls = method_class(name)
    model = {**TINY, **(TRANSFORMER if name in ("peter", "peter+", "cer") else {}), **overrides}
    if name == "att2seq":
        model["dropout"] = 0.0
    params = build_dataclass(cls.Params, model, "model")
    run = RunContext(tmp_path / name, RunConfig(method=name, dataset="synthetic", device="cpu", model=model), quiet=True)
    return cls(params, run)


@pytest.mark.parametrize("name", METHODS)
def test_every_parameter_changes_after_one_step(name, tmp_path):
    m = make(name, tmp_path)
    train, _ = m.prepare(splits())
    before = {k: v.detach().clone() for k, v in m.model.named_parameters()}
    opt = make_optimizer(m.model, LoopSettings.from_params(m.params))
    batch = next(train.batches(32, shuffle=True, generator=torch.Generator().manual_seed(0)))
    train_step(m.model, batch, m.loss, opt, clip=None)
    unchanged = [k for k, v in m.model.named_parameters() if torch.equal(before[k], v.detach())]
    assert unchanged == []


@pytest.mark.parametrize("name", METHODS)
def test_loss_falls_on_a_learnable_set(name, tmp_path):
    m = make(name, tmp_path)
    train, _ = m.prepare(splits())
    opt = make_optimizer(m.model, LoopSettings.from_params(m.params))
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(12):
        for batch in train.batches(32, shuffle=True, generator=g):
            losses.append(train_step(m.model, batch, m.loss, opt, clip=1.0)["loss"])
    assert sum(losses[-3:]) / 3 < 0.6 * sum(losses[:3]) / 3


@pytest.mark.parametrize("name", METHODS)
def test_fit_predict_and_resume(name, tmp_path):
    sp = splits()
    m = make(name, tmp_path)
    m.fit(sp)
    assert m.run.stages_run == [m.stage_name]
    preds = m.predict(sp.test)
    assert len(preds) == len(sp.test)
    for p in preds:
        assert isinstance(p.explanation, str) and len(p.explanation.split()) <= 8
        assert p.extras["feature"]
        if "rating" in m.produces:
            assert 1.0 <= p.rating <= 5.0
        else:
            assert p.rating is None
    if name == "cer":
        assert all(isinstance(p.extras["explanation_rating"], float) for p in preds)

    again = make(name, tmp_path)  # same run folder: the finished stage is reloaded
    again.loss = None  # training would fail
    again.fit(sp)
    assert again.run.stages_reused == [m.stage_name] and again.run.stages_run == []
    for a, b in zip(again.model.state_dict().values(), m.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert [p.explanation for p in again.predict(sp.test)] == [p.explanation for p in preds]


def test_peter_plus_feeds_the_feature_and_peter_does_not(tmp_path):
    sp = splits()
    plus, plain = make("peter+", tmp_path), make("peter", tmp_path)
    plus.prepare(sp)
    plain.prepare(sp)
    assert plus.model.src_len == 3 and plain.model.src_len == 2
    batch = plus.corpus.encode(sp.test[:2])
    prefix = torch.zeros(2, 1, dtype=torch.long)
    assert plus._text(batch, prefix).shape == (2, 2) and plain._text(batch, prefix).shape == (2, 1)


def test_peter_rating_ignores_the_words(tmp_path):
    """Under the PETER mask the user position sees only user and item: its output (the rating)
    does not depend on the explanation words."""
    m = make("peter", tmp_path)
    m.prepare(splits())
    m.model.eval()
    u, i = torch.tensor([1, 2]), torch.tensor([1, 3])
    a = m.model.rating(m.model(u, i, torch.tensor([[0, 5, 6], [0, 7, 8]])))
    b = m.model.rating(m.model(u, i, torch.tensor([[0, 9, 4], [0, 4, 2]])))
    assert torch.allclose(a, b, atol=1e-6)
