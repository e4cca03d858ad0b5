"""The IC reward (eq. 11-13) responds to what the explanation says."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from bench.api.records import Record
from bench.api.run_folder import RunContext
from bench.config import RunConfig


def _records(n: int, seed: int) -> list[Record]:
    rng = random.Random(seed)
    # labels are independent of the ids, so only the explanation can carry the signal
    return [
        Record(
            user_id=f"u{rng.randrange(60)}",
            item_id=f"i{rng.randrange(80)}",
            rating=None,
            label=rng.randrange(2),
            title="t",
        )
        for _ in range(n)
    ]


def _explain(label: int, k: int) -> str:
    liked = [
        "They will love this film because it matches the comedies they enjoyed.",
        "A great fit: the user adores this kind of story and will enjoy it.",
    ]
    disliked = [
        "They will dislike this film because it resembles the dramas they hated.",
        "A poor fit: the user finds this kind of story boring and will not enjoy it.",
    ]
    return (liked if label else disliked)[k % 2]


@pytest.fixture(scope="module")
def ic_method(tmp_path_factory):
    from methods.expctr.method import ExpCTR, Params

    run = RunContext(
        tmp_path_factory.mktemp("ic"), RunConfig(method="expctr", dataset="ml-100k"), quiet=True
    )
    params = Params(ctr_epochs=60, ctr_lr=2e-2, ctr_batch_size=256, ctr_z_dropout=0.25)
    m = ExpCTR(params, run)
    train = _records(256, 0)
    m._setup_ctr(train)
    m.ctr_train = train
    m.explanations = {
        f"{r.user_id}\t{r.item_id}": _explain(r.label, k) for k, r in enumerate(train)
    }
    m._train_ctr("ctr_1", run.stage_dir("ctr_1"))  # stage 2, eq. 15
    return m


def test_informative_explanations_earn_more_ic_reward(ic_method):
    torch.manual_seed(0)
    test = _records(120, 1)
    informative = [_explain(r.label, k) for k, r in enumerate(test)]
    shuffled = informative[:]
    random.Random(3).shuffle(shuffled)
    r_info, _ = ic_method._rewards("ic", test, informative)
    r_shuf, _ = ic_method._rewards("ic", test, shuffled)
    assert r_info.mean().item() > r_shuf.mean().item() + 0.1
    # and per record: wherever shuffling flipped the explanation's polarity, reward drops
    flipped = np.array(
        [
            ("love" in a or "great" in a) != ("love" in b or "great" in b)
            for a, b in zip(informative, shuffled, strict=False)
        ]
    )
    assert (r_info.numpy()[flipped] > r_shuf.numpy()[flipped]).mean() > 0.9


def test_zeroed_explanation_is_the_baseline(ic_method):
    test = _records(20, 2)
    s, s0 = ic_method._aug_scores(test, [_explain(r.label, 0) for r in test])
    base, base0 = ic_method._aug_scores(test, None)
    assert np.allclose(s0, base) and np.allclose(base, base0)
    assert np.abs(s - s0).mean() > 0.05  # the explanation moves the prediction (|s - s~| of eq. 13)
