"""Rows' common opening run once (bench/backbones/common_prefix.py) and a PPO step that runs each
prompt's work once (bench/adapters/ppo.py share_prompt_work): the same values as the full passes
on a tiny random Llama (issue #26)."""

from __future__ import annotations

import pytest
import torch

from bench.backbones.common_prefix import (
    PrefixStore,
    common_prefix_length,
    drop_prefix,
    forward_sharing_prefix,
)
from bench.backbones.positions import padded_position_ids


def test_prefix_length_and_drop_on_left_padded_rows():
    ids = torch.tensor([[0, 0, 5, 6, 7, 8], [5, 6, 7, 9, 9, 9], [0, 5, 6, 1, 2, 3]])
    mask = (ids != 0).long()
    assert common_prefix_length(ids, mask, limit=4) == 2  # 5 6, then 7 / 7 / 1
    assert common_prefix_length(ids[:2], mask[:2], limit=1) == 1  # capped
    rest, rest_mask = drop_prefix(ids, mask, 2)
    assert rest.tolist() == [[0, 0, 7, 8], [7, 9, 9, 9], [0, 1, 2, 3]]
    assert rest_mask.tolist() == [[0, 0, 1, 1], [1, 1, 1, 1], [0, 1, 1, 1]]


@pytest.fixture(scope="module")
def policy():
    from bench.backbones import load_backbone
    from bench.backbones.lora import add_lora, lora_config

    bb = load_backbone("tiny-random", device="cpu", seed=0)
    torch.manual_seed(0)
    model = add_lora(bb.model, lora_config(r=4, alpha=8, dropout=0.0))
    with torch.no_grad():  # a trained adapter: the policy differs from the reference
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)
    init = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}
    return model.eval(), bb.tokenizer, init


def _batch():
    """Three left-padded rows sharing a 20-token opening, then 4 response tokens (right-padded)."""
    gen = torch.Generator().manual_seed(0)
    opening = torch.randint(5, 200, (20,), generator=gen)
    rows = [torch.cat([opening, torch.randint(5, 200, (n,), generator=gen)]) for n in (7, 15, 3)]
    width = max(len(r) for r in rows)
    ids = torch.zeros((3, width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :], mask[i, width - len(r) :] = r, 1
    resp = torch.randint(5, 200, (3, 4), generator=gen)
    rmask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]])
    return torch.cat([ids, resp], 1), torch.cat([mask, rmask], 1)


def test_forward_sharing_prefix_equals_the_full_forward_values_and_gradients(policy):
    model, _, _ = policy
    ids, mask = _batch()
    pos = padded_position_ids(mask)

    def grads(out):
        model.zero_grad()
        out.logits.float().log_softmax(-1)[..., :50].sum().backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}

    full = model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=pos,
        logits_to_keep=5,
        output_hidden_states=True,
    )
    shared = forward_sharing_prefix(
        model, ids, mask, limit=22, logits_to_keep=5, output_hidden_states=True
    )
    assert torch.allclose(full.logits, shared.logits, atol=1e-5)
    assert torch.allclose(
        full.hidden_states[-1][:, -5:], shared.hidden_states[-1][:, -5:], atol=1e-5
    )
    g_full, g_shared = grads(full), grads(shared)
    assert all(torch.allclose(g_full[n], g_shared[n], rtol=1e-4, atol=1e-5) for n in g_full)


def test_a_frozen_models_prefix_is_run_once_and_reused_from_the_store(policy):
    model, _, _ = policy
    ids, mask = _batch()
    pos = padded_position_ids(mask)
    store = PrefixStore()
    with torch.no_grad(), model.disable_adapter():
        full = model(input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=5).logits
        first = forward_sharing_prefix(
            model, ids, mask, limit=22, store=store, logits_to_keep=5
        ).logits
        widths: list[int] = []
        forward = model.forward

        def spy(*args, **kwargs):
            widths.append(kwargs["input_ids"].shape[1])
            return forward(*args, **kwargs)

        model.forward = spy
        try:  # one row alone: the stored 20-token opening, not a new entry
            again = forward_sharing_prefix(
                model, ids[1:2], mask[1:2], limit=22, store=store, logits_to_keep=5
            ).logits
        finally:
            del model.forward
    assert [len(k) for k in store.entries] == [20]
    assert widths == [ids.shape[1] - 20]  # only the row's own tokens ran
    assert torch.allclose(first, full, atol=1e-5) and torch.allclose(again, full[1:2], atol=1e-5)


@pytest.mark.parametrize("minibatch,epochs", [(4, 1), (2, 2)])
def test_ppo_steps_sharing_prompt_work_equal_the_full_passes(policy, minibatch, epochs):
    """(4, 1): the rollout's prefill graph serves the whole first minibatch; (2, 2): the first
    minibatch's forward gives its old log-probs, the other rows are scored apart."""
    from bench.adapters.ppo import PPOConfig, PPOTrainer
    from bench.backbones.generate import render_chat
    from bench.backbones.lora import lora_state

    model, tok, init = policy
    opening = (
        "You are a helpful online recommendation assistant with a vast database. The liked movies: "
    )
    prompts = [
        render_chat(tok, opening + t)
        for t in ("Heat.", "Toy Story, Fargo, Babe.", "Alien.", "Kolya, Amadeus.")
    ]

    def run(share: bool):
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in init:
                    p.copy_(init[n])
        torch.manual_seed(1)
        cfg = PPOConfig(lr=1e-2, max_new_tokens=6, minibatch_size=minibatch, ppo_epochs=epochs,
                        temperature=0.7, share_prompt_work=share)  # fmt: skip
        trainer = PPOTrainer(model, tok, cfg, seed=0)
        steps = []
        for k in range(2):
            torch.manual_seed(10 + k)
            ro = trainer.generate(prompts)
            stats = trainer.step(ro, torch.tensor([1.0, -1.0, 0.5, -0.5]))
            steps.append((ro, stats))
        return steps, lora_state(model), trainer

    plain, lora_plain, _ = run(False)
    shared, lora_shared, trainer = run(True)
    for (a, sa), (b, sb) in zip(plain, shared, strict=True):
        assert a.texts == b.texts  # the same samples at the same seed
        for field in ("old_logp", "ref_logp", "old_values"):
            assert torch.allclose(getattr(a, field), getattr(b, field), atol=1e-5), field
        assert sa == pytest.approx(sb, abs=1e-5)
        assert "prefill" not in b.extras  # the prompt graph is dropped after the step
    assert all(torch.allclose(lora_plain[k], lora_shared[k], atol=1e-5) for k in lora_plain)
    assert lora_plain.keys() == lora_shared.keys()
    assert len(trainer.reference_prefixes.entries) == 1  # the frozen reference's opening, kept


def test_padded_position_ids_count_the_real_tokens_before_each_position():
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert padded_position_ids(mask).tolist() == [[0, 0, 0, 1], [0, 1, 2, 3]]
