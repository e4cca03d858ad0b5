"""GRPO log-probs with each prompt forwarded once (bench/adapters/grpo_shared_logps.py): the
same log-probs, entropies and LoRA gradients as TRL's own method on a tiny random Llama, with
left-padded prompts, right-padded completions, shuffled rows and TRL's chunks; TRL's method
whenever dropout is active (issue #26)."""

from __future__ import annotations

from contextlib import nullcontext
from types import SimpleNamespace

import pytest
import torch

from bench.adapters.grpo_shared_logps import can_share, shared_prompt_logps

COPIES = 3


@pytest.fixture(scope="module")
def policy():
    """The tiny random Llama with TRL's fused LM head (temperature 0.7, entropies), under a
    LoRA adapter with random A and B (PEFT's B = 0 would leave A's gradient 0)."""
    from trl.trainer.utils import add_fused_lm_head

    from bench.backbones.hf import load_backbone
    from bench.backbones.lora import add_lora, lora_config

    bb = load_backbone("tiny-random", device="cpu", seed=0)  # tokenizer from the user cache
    add_fused_lm_head(bb.model, temperature=0.7, outputs=("log_probs", "entropy"))
    model = add_lora(bb.model, lora_config(r=4, alpha=8, dropout=0.0))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    yield model.train(), bb.tokenizer.pad_token_id
    model.unload()


def batch(pad_id: int, seed: int = 0):
    """Prompts of 9, 5 and 2 tokens (left-padded), each COPIES times, completions of 1..6
    tokens (right-padded), rows shuffled as TRL shuffles its loss batch."""
    gen = torch.Generator().manual_seed(seed)
    prompt_lengths, width, new = (9, 5, 2), 9, 6
    rows, masks = [], []
    for n in prompt_lengths:
        prompt = torch.randint(5, 200, (n,), generator=gen)
        for _ in range(COPIES):
            k = int(torch.randint(1, new + 1, (1,), generator=gen))
            ids = torch.full((width + new,), pad_id)
            mask = torch.zeros(width + new, dtype=torch.long)
            ids[width - n : width], mask[width - n : width] = prompt, 1
            ids[width : width + k], mask[width : width + k] = (
                torch.randint(5, 200, (k,), generator=gen),
                1,
            )
            rows.append(ids)
            masks.append(mask)
    order = torch.randperm(len(rows), generator=gen)
    return torch.stack(rows)[order], torch.stack(masks)[order], new


def trl_logps(model, ids, mask, keep, batch_size=None, compute_entropy=False):
    from trl import GRPOTrainer

    trainer = SimpleNamespace(accelerator=SimpleNamespace(autocast=nullcontext))
    own = GRPOTrainer._get_per_token_logps_and_entropies.__wrapped__  # past TRL's profiler
    return own(
        trainer, model, ids, mask, keep, batch_size=batch_size, compute_entropy=compute_entropy
    )


def shared_logps(model, ids, mask, keep, batch_size=None, compute_entropy=False):
    def plain(m, i, a, k, compute_entropy):
        return trl_logps(m, i, a, k, compute_entropy=compute_entropy)

    return shared_prompt_logps(model, ids, mask, keep, batch_size=batch_size, compute_entropy=compute_entropy,
                               plain=plain, autocast=nullcontext)  # fmt: skip


def lora_grads(model, logps, entropies, mask, keep):
    model.zero_grad()
    weights = torch.linspace(-1, 1, logps.numel()).view_as(logps)
    ((logps * weights + 0.1 * entropies) * mask[:, -keep:]).sum().backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if "lora_" in n}


@pytest.mark.parametrize("batch_size", [None, 4])  # 4: TRL's chunks split a prompt's copies
def test_logps_entropies_and_lora_gradients_equal_trls(policy, batch_size):
    model, pad = policy
    ids, mask, keep = batch(pad)
    want_lp, want_ent, _ = trl_logps(model, ids, mask, keep, batch_size, compute_entropy=True)
    want_grads = lora_grads(model, want_lp, want_ent, mask, keep)
    got_lp, got_ent, _ = shared_logps(model, ids, mask, keep, batch_size, compute_entropy=True)
    got_grads = lora_grads(model, got_lp, got_ent, mask, keep)
    assert got_lp.shape == want_lp.shape == (ids.shape[0], keep)
    assert torch.allclose(got_lp, want_lp, atol=1e-5, rtol=0)
    assert torch.allclose(got_ent, want_ent, atol=1e-5, rtol=0)
    assert got_grads.keys() == want_grads.keys() and len(got_grads) > 0
    for name, grad in want_grads.items():
        assert grad.abs().max() > 0, name
        assert torch.allclose(got_grads[name], grad, atol=1e-5, rtol=0), name
    with torch.no_grad():  # the reference / old policy path: no entropies
        lp, ent, _ = shared_logps(model, ids, mask, keep, batch_size)
    assert ent is None and torch.allclose(lp, want_lp, atol=1e-5, rtol=0)


def test_in_float64_the_gradients_are_trls_to_float64_rounding(policy, monkeypatch):
    """float32 leaves ~1e-7 (the prompt's copies summed before, not after, the backward);
    in float64 nothing else is left. Llama's RMSNorm computes in float32 whatever the
    model's dtype, so it runs in the input's dtype here."""
    import transformers.models.llama.modeling_llama as llama

    def rms_norm(self, x):
        return self.weight * (
            x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
        )

    monkeypatch.setattr(llama.LlamaRMSNorm, "forward", rms_norm)
    model, pad = policy
    ids, mask, keep = batch(pad, seed=1)
    model.double()
    try:
        want, _, _ = trl_logps(model, ids, mask, keep, batch_size=5)
        want_grads = lora_grads(model, want, torch.zeros_like(want), mask, keep)
        got, _, _ = shared_logps(model, ids, mask, keep, batch_size=5)
        got_grads = lora_grads(model, got, torch.zeros_like(got), mask, keep)
    finally:
        model.float()
    assert torch.allclose(got, want, atol=1e-12, rtol=0)
    for name, grad in want_grads.items():
        assert torch.allclose(got_grads[name], grad, atol=1e-12, rtol=0), name


def test_each_distinct_prompt_is_forwarded_once_per_chunk(policy):
    model, pad = policy
    ids, mask, keep = batch(pad)
    base = model.get_base_model()
    seen: list[tuple[int, int]] = []
    forward = base.forward

    def spy(*args, **kwargs):
        seen.append(tuple(kwargs["input_ids"].shape))
        return forward(*args, **kwargs)

    base.forward = spy
    try:
        with torch.no_grad():
            shared_logps(model, ids, mask, keep)
    finally:
        base.forward = forward
    width = ids.shape[1] - keep
    # the 3 distinct prompts (all but their last token), then every row's last prompt token + completion
    assert seen == [(3, width - 1), (ids.shape[0], keep + 1)]


def test_trls_method_runs_when_dropout_is_active(policy):
    import bench.adapters.grpo_prefill as grpo_prefill

    model, pad = policy
    ids, mask, keep = batch(pad)
    lora_layer = next(m for m in model.modules() if hasattr(m, "lora_dropout"))
    identity = lora_layer.lora_dropout["default"]
    lora_layer.lora_dropout["default"] = torch.nn.Dropout(0.1)  # as lora_dropout: 0.1 builds it
    base = model.get_base_model()
    rows: list[int] = []
    forward = base.forward
    try:
        assert not can_share(model, ids, keep, use_vllm=False)
        assert can_share(model.eval(), ids, keep, use_vllm=False)  # no dropout drawn in eval mode
        model.train()
        # the trainer's override: with dropout active, TRL's method (one forward over all rows)
        trainer_cls = grpo_prefill.shared_prefill_grpo_trainer()
        trainer = object.__new__(trainer_cls)  # only what the method reads
        trainer.accelerator, trainer.use_vllm = (
            SimpleNamespace(autocast=nullcontext, is_main_process=True),
            False,
        )
        base.forward = lambda *a, **k: rows.append(k["input_ids"].shape[0]) or forward(*a, **k)
        with torch.no_grad():
            lp, _, _ = trainer_cls._get_per_token_logps_and_entropies(
                trainer, model, ids, mask, keep
            )
    finally:
        base.forward = forward
        lora_layer.lora_dropout["default"] = identity
    assert rows == [ids.shape[0]] and lp.shape == (ids.shape[0], keep)


def test_other_preconditions_fall_back_to_trls_method(policy):
    model, pad = policy
    ids, mask, keep = batch(pad)
    assert can_share(model, ids, keep, use_vllm=False, compute_aux_loss=False, pixel_values=None)
    assert not can_share(model, ids, keep, use_vllm=True)
    assert not can_share(model, ids, keep, use_vllm=False, pixel_values=torch.zeros(1))
    assert not can_share(model, ids, keep, use_vllm=False, compute_aux_loss=True)
    assert not can_share(
        model, ids, ids.shape[1] - 1, use_vllm=False
    )  # a one-token prompt: no prefix
    assert not can_share(torch.nn.Linear(2, 2), ids, keep, use_vllm=False)  # not a causal LM
    model.config.layer_types = ["full_attention", "sliding_attention"]
    try:
        assert not can_share(model, ids, keep, use_vllm=False)
    finally:
        del model.config.layer_types
    layer = next(m for m in model.modules() if hasattr(m, "gradient_checkpointing"))
    layer.gradient_checkpointing = True  # what gradient_checkpointing_enable sets
    try:
        assert not can_share(model, ids, keep, use_vllm=False)
    finally:
        layer.gradient_checkpointing = False


def test_a_model_that_returns_no_kv_cache_gets_trls_method(policy):
    model, pad = policy
    ids, mask, keep = batch(pad)
    base = model.get_base_model()
    forward = base.forward

    def no_cache(*args, **kwargs):
        out = forward(*args, **kwargs)
        if kwargs.get("use_cache"):
            out.cache = None
        return out

    base.forward = no_cache
    try:
        with torch.no_grad():
            got, _, _ = shared_logps(model, ids, mask, keep)
    finally:
        base.forward = forward
    with torch.no_grad():
        want, _, _ = trl_logps(model, ids, mask, keep)
    assert torch.equal(got, want)
