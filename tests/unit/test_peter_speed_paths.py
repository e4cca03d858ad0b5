"""PETER/CER's faster code paths (issue #26) against the formulas they replace, at a fixed seed:
the word decoder run on the non-pad targets only, the float attention mask built once, the
foreach optimizers, and the allocator setting."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from baselines.cer import CERNet
from baselines.peter import PETERNet, peter_mask, text_loss
from bench.adapters.heap import keep_freed_memory
from bench.adapters.torch_loop import LoopSettings, make_optimizer

pytestmark = pytest.mark.usefixtures("one_thread")

PAD, V, W = 2, 300, 6


def net(cls, src_len=2):
    torch.manual_seed(0)
    return cls(
        7, 5, V, emsize=16, nhead=2, nhid=32, nlayers=2, dropout=0.2, src_len=src_len, tgt_len=W + 1, pad_idx=PAD
    )


def batch(b=12, seed=1):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(0, W + 1, (b,), generator=g)
    seq = torch.full((b, W + 2), PAD)
    for i, n in enumerate(lengths.tolist()):
        seq[i, 0] = 0
        seq[i, 1 : 1 + n] = torch.randint(4, V, (n,), generator=g)
        seq[i, 1 + n] = 1
    user, item = torch.randint(0, 7, (b,), generator=g), torch.randint(0, 5, (b,), generator=g)
    return user, item, seq


@pytest.mark.parametrize("cls", [PETERNet, CERNet])
def test_text_loss_equals_cross_entropy_with_ignore_index(cls):
    model = net(cls).train()
    params = [p for p in model.parameters() if p.requires_grad]
    for seed in range(3):  # a few batches, the same dropout draw for both formulas
        user, item, seq = batch(seed=seed)
        assert (seq[:, 1:] == PAD).any()  # padding present: the rows the new path skips
        torch.manual_seed(seed)
        hidden = model(user, item, seq[:, :-1])
        old = F.cross_entropy(model.word_logits(hidden).reshape(-1, V), seq[:, 1:].reshape(-1), ignore_index=PAD)
        new = text_loss(model, hidden, seq[:, 1:], PAD)
        assert new.item() == pytest.approx(old.item(), rel=1e-6)
        g_old = torch.autograd.grad(old, params, retain_graph=True, allow_unused=True)
        g_new = torch.autograd.grad(new, params, allow_unused=True)
        for a, b in zip(g_old, g_new, strict=True):
            assert (a is None) == (b is None)
            if a is not None:
                torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-7)


def test_attention_mask_built_once_equals_the_per_call_one():
    model = net(PETERNet)
    total = model.attn_mask_float.size(0)
    for length in (3, 5, total):
        old = torch.zeros(length, length).masked_fill(model.attn_mask[:length, :length], float("-inf"))
        assert torch.equal(model.attn_mask_float[:length, :length], old)
    assert torch.equal(model.attn_mask, peter_mask(2, total - 2))


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_foreach_optimizer_steps_equal_the_per_parameter_loop(optimizer):
    models = [net(PETERNet), net(PETERNet)]
    s = LoopSettings(optimizer=optimizer, lr=0.01, weight_decay=0.01)
    new = make_optimizer(models[0], s)
    assert new.defaults["foreach"] is True
    old = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(
        models[1].parameters(), lr=0.01, weight_decay=0.01, foreach=False
    )
    user, item, seq = batch()
    for _ in range(3):
        for model, opt in zip(models, (new, old), strict=True):
            opt.zero_grad()
            torch.manual_seed(0)
            text_loss(model, model(user, item, seq[:, :-1]), seq[:, 1:], PAD).backward()
            opt.step()
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        assert torch.equal(a, b)


def test_keep_freed_memory_is_a_bool_and_changes_no_value():
    x = torch.randn(64, 64)
    before = (x @ x).sum().item()
    assert isinstance(keep_freed_memory(), bool)
    assert (x @ x).sum().item() == before


def _step_loss(cls, precision):
    from bench.adapters.torch_loop import train_step

    model = net(cls)
    user, item, seq = batch()
    seen = {}

    def loss_fn(m, b):
        hidden = m(b["user"], b["item"], b["seq"][:, :-1])
        return text_loss(m, hidden, b["seq"][:, 1:], PAD), {}

    # the word decoder, the product that dominates a step
    model.hidden2token.register_forward_hook(lambda mod, args, out: seen.update(logits=out.dtype))

    opt = make_optimizer(model, LoopSettings(optimizer="adam", lr=1e-3))
    torch.manual_seed(3)  # the same dropout draws on both sides
    out = train_step(model, {"user": user, "item": item, "seq": seq}, loss_fn, opt, 1.0, precision)
    return out["loss"], seen["logits"], model


@pytest.mark.parametrize("cls", [PETERNet, CERNet])
def test_bf16_precision_runs_the_products_in_bf16_and_keeps_loss_and_weights_fp32(cls):
    loss32, logits32, m32 = _step_loss(cls, None)
    loss_named, _, m_named = _step_loss(cls, "fp32")
    loss16, logits16, m16 = _step_loss(cls, "bf16")
    assert logits32 == torch.float32 and logits16 == torch.bfloat16
    assert loss_named == loss32  # "fp32" is exactly the default
    assert all(torch.equal(a, b) for a, b in zip(m32.parameters(), m_named.parameters(), strict=True))
    assert all(p.dtype == torch.float32 for p in m16.parameters())
    assert abs(loss16 - loss32) / loss32 < 1e-2  # bf16 keeps 8 bits of mantissa: close, not equal


def test_an_unknown_precision_is_refused():
    from bench.adapters.torch_loop import autocast

    with pytest.raises(ValueError, match="fp32 or bf16"):
        autocast(net(PETERNet), "fp16")


def test_bf16_on_a_cpu_without_native_bf16_warns_once(monkeypatch, caplog):
    from bench.adapters import torch_loop
    from bench.api import notices

    monkeypatch.setattr(torch_loop, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setattr(notices, "_SAID", set())
    model = net(PETERNet)
    with caplog.at_level("WARNING", logger="bench.adapters.torch_loop"):
        for _ in range(2):
            with torch_loop.autocast(model, "bf16"):
                pass
    assert [r.message for r in caplog.records].count(
        "model.precision=bf16 on a CPU without native bf16 (no avx512_bf16 or amx_bf16 in "
        "/proc/cpuinfo): the products are emulated and slower than fp32"
    ) == 1
