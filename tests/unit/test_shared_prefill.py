"""Shared prompt prefill (bench/backbones/shared_prefill.py): the G copies of a prompt are
prefilled once and generate the same greedy tokens and the same samples at the same seed as
plain generate; TRL's GRPO through it samples the same completions (issue #26)."""

from __future__ import annotations

import pytest
import torch

from bench.backbones.shared_prefill import generate_shared_prefill, prompt_groups, shared_prefill_on


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from bench.backbones.hf import load_backbone

    return load_backbone("tiny-random", device="cpu", cache_dir=tmp_path_factory.getbasetemp() / "cache")


def batch(pad_id: int, lengths=(30, 22, 41), copies: int = 4):
    """Left-padded prompts of different lengths, each `copies` times in a row."""
    gen = torch.Generator().manual_seed(0)
    prompts = [torch.randint(5, 200, (n,), generator=gen) for n in lengths]
    width = max(lengths)
    ids = torch.full((len(prompts) * copies, width), pad_id)
    mask = torch.zeros_like(ids)
    for i, p in enumerate(prompts):
        rows = slice(i * copies, (i + 1) * copies)
        ids[rows, width - len(p) :] = p
        mask[rows, width - len(p) :] = 1
    return ids, mask


def test_prompt_groups_finds_each_distinct_prompt_in_order():
    ids = torch.tensor([[1, 2], [1, 2], [3, 4], [1, 2], [3, 4]])
    first, row_prompt = prompt_groups(ids, torch.ones_like(ids))
    assert first.tolist() == [0, 2] and row_prompt.tolist() == [0, 0, 1, 0, 1]
    assert prompt_groups(ids[1:3], torch.ones_like(ids[1:3])) is None  # nothing repeats


def test_greedy_and_seeded_samples_equal_plain_generate_with_one_prefill_per_prompt(tiny):
    model, pad = tiny.model.eval(), tiny.tokenizer.pad_token_id
    ids, mask = batch(pad)
    greedy = dict(max_new_tokens=10, do_sample=False, pad_token_id=pad)
    assert torch.equal(model.generate(input_ids=ids, attention_mask=mask, **greedy),
                       generate_shared_prefill(model, ids, mask, **greedy))  # fmt: skip
    sampled = dict(max_new_tokens=10, do_sample=True, temperature=1.0, top_k=0, pad_token_id=pad)
    torch.manual_seed(3)
    want = model.generate(input_ids=ids, attention_mask=mask, **sampled)
    torch.manual_seed(3)
    prefilled: list[int] = []
    forward = model.forward

    def spy(*args, **kwargs):
        prefilled.append(kwargs["input_ids"].shape[0])
        return forward(*args, **kwargs)

    model.forward = spy
    try:
        with shared_prefill_on(model):
            got = model.generate(input_ids=ids, attention_mask=mask, **sampled)
    finally:
        del model.forward
    assert "generate" not in model.__dict__  # the class's generate again
    assert torch.equal(want, got)
    assert prefilled[0] == 3  # the first forward: the 3 distinct prompts, not 12 rows


@pytest.mark.slow  # two GRPO steps: ~20 s on 2 busy cores
def test_grpo_samples_the_same_completions_as_trls_trainer_at_the_same_seed(tiny, tmp_path, monkeypatch):
    from trl import GRPOTrainer

    import bench.adapters.grpo_prefill as grpo_prefill
    import bench.adapters.trl as A
    from bench.backbones.lora import add_lora, lora_config

    rows = [{"prompt": [{"role": "user", "content": f"say {i} twice"}], "target": i} for i in range(2)]

    def run(shared: bool) -> list[str]:
        seen: list[str] = []

        def length(completions, **_):
            seen.extend(A.completion_text(c) for c in completions)
            return [len(A.completion_text(c)) / 10 for c in completions]

        if not shared:
            monkeypatch.setattr(grpo_prefill, "shared_prefill_grpo_trainer", lambda: GRPOTrainer)
        torch.manual_seed(0)  # no LoRA dropout: with it, each copy's prefill draws its own mask
        model = add_lora(tiny.model, lora_config(r=4, alpha=8, dropout=0.0))
        trained = A.train_grpo(
            model, tiny.tokenizer, rows, {"length": length},
            A.GRPOSettings(max_steps=1, per_device_train_batch_size=4, num_generations=4,
                           max_completion_length=6, learning_rate=1e-2, device="cpu"),
            tmp_path / str(shared),
        )  # fmt: skip
        trained.unload()
        monkeypatch.undo()
        return seen

    shared, plain = run(True), run(False)
    assert len(shared) == 4 and shared == plain


def test_a_model_with_dropout_active_is_prefilled_per_row(tiny):
    from bench.backbones.lora import add_lora, lora_config
    from bench.backbones.shared_prefill import dropout_active

    model = add_lora(tiny.model, lora_config(r=4, alpha=8, dropout=0.1))
    try:
        assert not dropout_active(model.eval())
        assert dropout_active(model.train())
        ids, mask = batch(tiny.tokenizer.pad_token_id, lengths=(5, 7), copies=2)
        torch.manual_seed(1)
        want = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=4, do_sample=True, top_k=0)
        torch.manual_seed(1)
        got = generate_shared_prefill(model, ids, mask, max_new_tokens=4, do_sample=True, top_k=0)
        assert torch.equal(want, got)
    finally:
        model.eval().unload()


def test_generate_batch_shares_the_prefill_of_ppos_copies_with_the_same_samples(tiny):
    from bench.backbones.generate import generate_batch, generation_kwargs

    model, pad = tiny.model.eval(), tiny.tokenizer.pad_token_id
    ids, mask = batch(pad, lengths=(12, 9), copies=3)  # ExpCTR: k rollouts of each record
    kw = generation_kwargs(max_new_tokens=6, do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                           pad_id=pad, eos_ids=[tiny.tokenizer.eos_token_id])  # fmt: skip
    torch.manual_seed(5)
    want = model.generate(input_ids=ids, attention_mask=mask, **kw)[:, ids.shape[1] :]
    torch.manual_seed(5)
    rows: list[int] = []
    forward = model.forward
    model.forward = lambda *a, **k: rows.append(k["input_ids"].shape[0]) or forward(*a, **k)
    try:
        got = generate_batch(model, ids, mask, **kw)
    finally:
        del model.forward
    assert torch.equal(got, want)
    assert rows[0] == 2  # one prefill row per record, not 6
