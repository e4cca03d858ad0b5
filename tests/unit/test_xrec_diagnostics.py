"""The measurements of XRec's collaborative signal (methods/xrec/diagnostics.py) on hand-made tensors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from methods.xrec.diagnostics import popularity_scores, recall_at_k, slot_norms, variation


def test_variation_of_a_constant_is_zero_and_of_opposites_is_all():
    same = torch.tensor([[3.0, 4.0]] * 4)
    v = variation(same)
    assert v["mean_pairwise_cosine"] == pytest.approx(1.0) and v["variance_share"] == pytest.approx(0.0)
    assert v["mean_norm"] == pytest.approx(5.0) and v["n"] == 4
    opposite = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    v = variation(opposite)
    assert v["mean_pairwise_cosine"] == pytest.approx(-1.0) and v["variance_share"] == pytest.approx(1.0)


def test_variation_by_hand():
    # mean (1, 1); deviations (1, -1), (-1, 1): E||d||^2 = 2; E||a||^2 = (4 + 4) / 2 = 4
    v = variation(torch.tensor([[2.0, 0.0], [0.0, 2.0]]))
    assert v["variance_share"] == pytest.approx(0.5) and v["mean_pairwise_cosine"] == pytest.approx(0.0)
    # three vectors: cos(a,b) = 1, cos(a,c) = cos(b,c) = 0 -> mean over 6 ordered pairs = 2/6
    v = variation(torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]]))
    assert v["mean_pairwise_cosine"] == pytest.approx(1 / 3)
    assert v["min_norm"] == 1.0 and v["max_norm"] == 2.0
    with pytest.raises(ValueError):
        variation(torch.ones(1, 3))


class _Layer(nn.Module):
    def forward(self, hidden_states):
        return hidden_states * 2


def test_slot_norms_reads_each_layers_input_at_the_slots_and_elsewhere():
    layers = nn.ModuleList([_Layer(), _Layer()])
    states = torch.zeros(1, 5, 2)
    states[0, 1] = torch.tensor([100.0, 0.0])  # first attended token: the sink, left out
    states[0, 2] = torch.tensor([3.0, 4.0])  # slot: norm 5
    states[0, 3] = torch.tensor([0.0, 1.0])  # other tokens: norms 1 and 3, median 2 (torch: lower)
    states[0, 4] = torch.tensor([0.0, 3.0])
    mask = torch.tensor([[0, 1, 1, 1, 1]])

    def run():
        h = states
        for layer in layers:
            h = layer(h)

    rows = slot_norms(layers, run, mask, torch.tensor([[2]]), torch.tensor([[[0.0, 0.5]]]))
    assert [r["hidden_norm_at_slots"] for r in rows] == [5.0, 10.0]  # layer 1 reads layer 0's x2
    assert [r["hidden_norm_other_median"] for r in rows] == [1.0, 2.0]  # torch.median: the lower middle
    assert rows[0]["vector_norm"] == 0.5 and rows[1]["vector_over_other"] == 0.25
    assert all(not layer._forward_pre_hooks for layer in layers)


def test_recall_at_k_excludes_train_items_and_beats_or_not_popularity():
    # 2 users, 4 items; user 0 trained on item 0, holds out item 2; user 1 trained on 1, holds out 3
    scores = torch.tensor([[9.0, 1.0, 5.0, 0.0], [0.0, 9.0, 1.0, 5.0]])
    train = [(0, 0), (1, 1)]
    held = [(0, 2), (1, 3)]
    assert recall_at_k(scores, train, held, k=1) == {"recall": 1.0, "users": 2, "k": 1}
    popular = popularity_scores(train + [(0, 1), (1, 0)], n_users=2, n_items=4)  # items 0, 1 twice
    assert popular[0].tolist() == [2.0, 2.0, 0.0, 0.0]
    # user 0: train {0} excluded -> top-1 item 1, misses 2; top-3 covers 1, 2, 3 -> hit
    assert recall_at_k(popular, train, held, k=1)["recall"] == 0.0
    assert recall_at_k(popular, train, held, k=3)["recall"] == 1.0
    two = recall_at_k(scores, train, [(0, 2), (0, 3)], k=1)  # one of user 0's two held-out items
    assert two["recall"] == 0.5 and two["users"] == 1
    assert math.isfinite(two["recall"])
