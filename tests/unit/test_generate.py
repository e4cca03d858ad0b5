"""bench.backbones.generate, the one generation helper: length buckets, left padding, the
free-memory batch size, and bucketed batched greedy generation giving the tokens of
one-prompt-at-a-time greedy generation on the tiny random Llama."""

from types import SimpleNamespace

import pytest

from bench.backbones import generate as G

pytestmark = pytest.mark.usefixtures("one_thread")

PROMPTS = [
    "hi",
    "a much longer prompt about guitar strings, tone and the bridge of a cheap acoustic",
    "tuner",
    "does the capo hold the strings down evenly across the fretboard?",
    "ok",
]


@pytest.fixture(scope="module")
def tiny():
    from bench.backbones import load_backbone

    return load_backbone("tiny-random", device="cpu", seed=0)  # tokenizer from the user cache


def test_length_buckets_group_similar_lengths_longest_first():
    assert G.length_buckets([3, 9, 1, 9, 5], 2) == [[1, 3], [4, 0], [2]]
    assert G.length_buckets([], 4) == []
    assert G.length_buckets([2, 2], 0) == [[0], [1]]  # a batch holds at least one row


def test_left_pad_puts_padding_before_the_tokens():
    ids, mask = G.left_pad([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_batch_size_for_memory_by_hand():
    # KV per token: 2 (k, v) x 2 layers x 2 kv heads x 4 head dim x 2 bytes = 64 bytes
    cfg = SimpleNamespace(num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                          hidden_size=16, intermediate_size=32, vocab_size=100)
    assert G.kv_bytes_per_token(cfg, 2) == 64
    # per row: (10 + 6) x 64 KV + 2 x 100 x 4 logits + 10 x (64 + 64) x 2 prefill = 4384 bytes
    assert G.batch_size_for_memory(cfg, 2, free_bytes=100_000, prompt_tokens=10, max_new_tokens=6) == 15
    assert G.batch_size_for_memory(cfg, 2, free_bytes=10, prompt_tokens=10, max_new_tokens=6) == 1
    assert G.batch_size_for_memory(cfg, 2, free_bytes=10**12, prompt_tokens=10, max_new_tokens=6, cap=64) == 64


def test_auto_batch_size_on_cpu_is_the_old_default(tiny):
    assert G.auto_batch_size(tiny.model, 100, 20) == G.CPU_AUTO_BATCH


def test_bucketed_batches_give_the_tokens_of_one_at_a_time_greedy(tiny):
    one_by_one = [G.generate(tiny.model, tiny.tokenizer, [p], max_new_tokens=6, batch_size=1)[0] for p in PROMPTS]
    for size in (2, 3, "auto"):
        assert G.generate(tiny.model, tiny.tokenizer, PROMPTS, max_new_tokens=6, batch_size=size) == one_by_one
    # and the same token ids: one left-padded bucket through generate_batch
    rows = G.encode_prompts(tiny.tokenizer, [G.render_chat(tiny.tokenizer, p) for p in PROMPTS])
    kwargs = G.generation_kwargs(max_new_tokens=6, do_sample=False, pad_id=tiny.tokenizer.pad_token_id,
                                 eos_ids=tiny.tokenizer.eos_token_id)
    ids, mask = G.left_pad(rows, tiny.tokenizer.pad_token_id)
    batched = G.generate_batch(tiny.model, ids, mask, **kwargs)
    for row, prompt_ids in enumerate(rows):
        alone = G.generate_batch(tiny.model, *G.left_pad([prompt_ids], tiny.tokenizer.pad_token_id), **kwargs)
        assert batched[row, : alone.shape[1]].tolist() == alone[0].tolist()


def test_out_of_memory_halves_the_batch_and_keeps_input_order(tiny, monkeypatch):
    sizes = []
    real = G.generate_batch

    def small_gpu(model, ids, mask, **kw):
        sizes.append(ids.shape[0])
        if ids.shape[0] > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(model, ids, mask, **kw)

    expected = G.generate(tiny.model, tiny.tokenizer, PROMPTS, max_new_tokens=4, batch_size=1)
    monkeypatch.setattr(G, "generate_batch", small_gpu)
    monkeypatch.setattr("torch.cuda.empty_cache", lambda: None)
    assert G.generate(tiny.model, tiny.tokenizer, PROMPTS, max_new_tokens=4, batch_size=5) == expected
    # 5 fails, splits into 2 + 3; 3 fails, splits into 1 + 2: every row generated once
    assert sizes == [5, 2, 3, 1, 2]


def test_truncation_keeps_the_end_of_a_long_prompt(tiny):
    rows = G.encode_prompts(tiny.tokenizer, ["one two three four five six"], max_prompt_tokens=3)
    full = G.encode_prompts(tiny.tokenizer, ["one two three four five six"])
    assert rows[0] == full[0][-3:]


def test_opening_mask_keeps_only_the_allowed_tokens():
    import torch

    masked = G.opening_mask(torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.5, 0.0, -1.0, 9.0]]), [1, 2])
    inf = float("-inf")
    assert masked.tolist() == [[inf, 2.0, 3.0, inf], [inf, 0.0, -1.0, inf]]


def test_opening_ids_fix_the_first_token_and_leave_the_rest_free(tiny):
    tok = tiny.tokenizer
    allowed = [tok.encode("Yes", add_special_tokens=False)[0], tok.encode("No", add_special_tokens=False)[0]]
    ids, mask = G.left_pad(G.encode_prompts(tok, PROMPTS), tok.pad_token_id)
    kwargs = G.generation_kwargs(max_new_tokens=4, do_sample=True, pad_id=tok.pad_token_id, eos_ids=tok.eos_token_id)
    new = G.generate_batch(tiny.model, ids, mask, opening_ids=allowed, **kwargs)
    assert set(new[:, 0].tolist()) <= set(allowed)
    free = G.generate_batch(tiny.model, ids, mask, **kwargs)  # the random model rarely picks them
    assert not set(free[:, 0].tolist()) <= set(allowed)
    assert any(set(row[1:].tolist()) - set(allowed) for row in new)  # later tokens are unconstrained
