"""XRec's MoE adapter against hand-computed values (methods/xrec/adapter.py)."""

from __future__ import annotations

import math

import pytest
import torch

from methods.xrec.adapter import NOISE_FLOOR, CollaborativeAdapters, MoEAdapter, WhiteningExpert

pytestmark = pytest.mark.usefixtures("one_thread")


def _set(param: torch.nn.Parameter, values) -> None:
    with torch.no_grad():
        param.copy_(torch.tensor(values, dtype=param.dtype))


def test_whitening_expert_subtracts_bias_then_maps():
    expert = WhiteningExpert(2, 2, dropout=0.5).eval()  # eval: no dropout
    _set(expert.bias, [0.5, 0.5])
    _set(expert.linear.weight, [[1.0, 0.0], [2.0, 1.0]])
    out = expert(torch.tensor([1.0, 2.0]))
    # W (x - b) = [[1,0],[2,1]] @ [0.5, 1.5] = [0.5, 2.5]
    assert out.tolist() == pytest.approx([0.5, 2.5])
    assert expert.linear.bias is None


def test_moe_output_is_the_gate_weighted_sum_of_experts():
    moe = MoEAdapter(2, 1, experts=2, dropout=0.0).eval()
    _set(moe.experts[0].bias, [0.5, 0.5])
    _set(moe.experts[0].linear.weight, [[1.0, 0.0]])
    _set(moe.experts[1].bias, [0.0, 1.0])
    _set(moe.experts[1].linear.weight, [[0.0, 1.0]])
    _set(moe.gate, [[1.0, 0.0], [0.0, 0.0]])
    x = torch.tensor([1.0, 2.0])
    # experts: 1*(1-0.5) = 0.5 and 1*(2-1) = 1; gate logits x W_g = [1, 0]
    g0 = math.e / (math.e + 1)  # 0.7311
    assert moe.gates(x).tolist() == pytest.approx([g0, 1 - g0])
    assert moe(x).item() == pytest.approx(0.5 * g0 + 1.0 * (1 - g0))  # 0.6345


def test_gates_start_uniform_and_are_noisy_only_while_training():
    torch.manual_seed(0)
    moe = MoEAdapter(3, 4, experts=8)
    x = torch.randn(5, 3)
    moe.eval()
    assert torch.allclose(moe.gates(x), torch.full((5, 8), 1 / 8))  # W_g = 0 at init
    moe.train()
    torch.manual_seed(1)
    noisy = moe.gates(x)
    torch.manual_seed(1)
    eps = torch.randn(5, 8)
    # logits = x W_g + eps * (softplus(x W_n) + 0.01), W_g = W_n = 0: softplus(0) = ln 2
    expected = torch.softmax(eps * (math.log(2.0) + NOISE_FLOOR), dim=-1)
    assert torch.allclose(noisy, expected, atol=1e-6)
    moe.noisy_gating = False
    assert torch.allclose(moe.gates(x), torch.full((5, 8), 1 / 8))


def test_xrec_initialisation():
    moe = MoEAdapter(64, 576, experts=8)
    weights = torch.cat([e.linear.weight.flatten() for e in moe.experts])
    assert len(moe.experts) == 8
    assert weights.std().item() == pytest.approx(0.02, rel=0.05)
    assert all(torch.count_nonzero(e.bias) == 0 for e in moe.experts)
    assert torch.count_nonzero(moe.gate) == 0 and torch.count_nonzero(moe.noise) == 0


def test_adapters_give_user_then_item_vector_per_row():
    adapters = CollaborativeAdapters(4, 6, experts=2).eval()
    users, items = torch.randn(3, 4), torch.randn(3, 4)
    out = adapters(users, items)
    assert out.shape == (3, 2, 6)
    assert torch.allclose(out[:, 0], adapters.user(users)) and torch.allclose(out[:, 1], adapters.item(items))
