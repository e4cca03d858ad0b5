"""ExpCTR rewards (§4.2) against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from methods.expctr.rewards import (
    first_token_values,
    ic_reward,
    lc_reward,
    lc_score,
    normalize_clip,
    normalize_clip_per_record,
)


def test_lc_score_eq8():
    # eq. 8: exp(.6/T) / (exp(.6/T) + exp(.2/T)) = 1 / (1 + exp(-.4/T))
    assert lc_score(torch.tensor([0.6]), torch.tensor([0.2]), 1.0).item() == pytest.approx(
        1 / (1 + math.exp(-0.4))
    )
    assert lc_score(torch.tensor([0.6]), torch.tensor([0.2]), 0.5).item() == pytest.approx(
        0.689974, abs=1e-6
    )
    assert lc_score(torch.tensor([0.3]), torch.tensor([0.3]), 1.0).item() == pytest.approx(0.5)


def test_lc_score_eq8_readings_of_p():
    # P(Yes) = .06, P(No) = .02 (most mass on other words). Logit reading (default): softmax
    # over log P = .06 / (.06 + .02) = .75, the ICL/TALLRec ratio; T = .5: .06^2/(.06^2+.02^2) = .9
    v = first_token_values(torch.tensor([0.06]), torch.tensor([0.02]), "logit")
    assert lc_score(*v, 1.0).item() == pytest.approx(0.75)
    assert lc_score(*v, 0.5).item() == pytest.approx(0.9)
    # literal reading: sigmoid(.06 - .02) = .509998, squeezed around .5
    v = first_token_values(torch.tensor([0.06]), torch.tensor([0.02]), "prob")
    assert lc_score(*v, 1.0).item() == pytest.approx(0.509998, abs=1e-6)
    with pytest.raises(ValueError, match="logit"):
        first_token_values(torch.tensor([0.5]), torch.tensor([0.5]), "odds")


def test_lc_reward_eq9():
    # eq. 9: 1 - |y - s|
    r = lc_reward(torch.tensor([1, 0, 1]), torch.tensor([0.8, 0.3, 0.4]))
    assert r.tolist() == pytest.approx([0.8, 0.7, 0.4])


def test_normalize_clip_eq10():
    # eq. 10: mean .63333, population std .169967 -> z = [.98058, .39223, -1.37281], clipped at delta=1
    r = normalize_clip(torch.tensor([0.8, 0.7, 0.4]), delta=1.0)
    assert r.tolist() == pytest.approx([0.980581, 0.392232, -1.0], abs=1e-5)
    r2 = normalize_clip(torch.tensor([0.8, 0.7, 0.4]), delta=0.5)
    assert r2.tolist() == pytest.approx([0.5, 0.392232, -0.5], abs=1e-5)


def test_normalize_clip_degenerate_batches():
    # eq. 10 with std = 0 (or a batch of one): no signal, zero reward
    assert normalize_clip(torch.tensor([0.5, 0.5]), 1.0).tolist() == [0.0, 0.0]
    assert normalize_clip(torch.tensor([0.9]), 1.0).tolist() == [0.0]


def test_normalize_clip_per_record_eq10_within_each_record():
    # groups of 4: [.4 .6 .5 .5] mean .5, population std sqrt(.005) = .070711 -> z = -/+1.414214;
    # [.9 .7 .8 .8] mean .8 -> +/-1.414214. Over the whole batch the label would dominate:
    # the first record's best sample (.6) would get a negative advantage.
    r = torch.tensor([0.4, 0.6, 0.5, 0.5, 0.9, 0.7, 0.8, 0.8])
    got = normalize_clip_per_record(r, 4, delta=2.0)
    assert got.tolist() == pytest.approx([-1.414214, 1.414214, 0, 0, 1.414214, -1.414214, 0, 0], abs=1e-5)
    assert normalize_clip_per_record(r, 4, delta=1.0).tolist() == pytest.approx([-1, 1, 0, 0, 1, -1, 0, 0], abs=1e-5)
    assert normalize_clip(r, 2.0)[1] < 0
    with pytest.raises(ValueError, match="groups of 3"):
        normalize_clip_per_record(r, 3, delta=1.0)


def test_ic_reward_eq13():
    # eq. 13: 1 - |y - s| + |s - s~|: [1 - .3 + .2, 1 - .4 + .1]
    r = ic_reward(torch.tensor([1, 0]), torch.tensor([0.7, 0.4]), torch.tensor([0.5, 0.5]))
    assert r.tolist() == pytest.approx([0.9, 0.7])


def test_deepfm_eq12_concat_and_zeroed_explanation():
    from methods.expctr.deepfm import DeepFM, DeepFMConfig

    torch.manual_seed(0)
    m = DeepFM(3, 4, z_dim=5, cfg=DeepFMConfig(embed_dim=4, hidden=(8,))).eval()
    u, i = torch.tensor([1, 2]), torch.tensor([3, 0])
    assert m.hidden_rep(u, i).shape == (2, 8)  # h_ui
    assert m.head.in_features == 8 + 5  # eq. 12: Concat(h_ui, z_ui) feeds RecBole's deep_predict_layer
    z = torch.randn(2, 5)
    with torch.no_grad():
        with_z, without = m(u, i, z), m(u, i, None)
        zeros = m(u, i, torch.zeros(2, 5))
        # by hand: the logit moves by the predict layer's z-weights . z, nothing else changes
        torch.testing.assert_close(with_z - without, z @ m.head.weight[0, 8:])
    assert torch.allclose(without, zeros)  # s~ (eq. 13): the explanation representation set to 0
    # FM second order of two fields = <e_u, e_i>; first order = w0 + w_u + w_i
    eu, ei = m.e_user(u), m.e_item(i)
    first = m.bias + m.w_user(u).squeeze(-1) + m.w_item(i).squeeze(-1)
    deep = m.head(torch.cat([m.hidden_rep(u, i), torch.zeros(2, 5)], -1)).squeeze(-1)
    torch.testing.assert_close(without, first + (eu * ei).sum(-1) + deep)
    proj = DeepFM(3, 4, z_dim=5, cfg=DeepFMConfig(embed_dim=4, hidden=(8,), z_proj=6, z_concat="projection"))
    assert proj.head.in_features == 8 + 6  # the named variant: Linear+ReLU(z) first
