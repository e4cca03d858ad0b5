"""Batched generation: the one helper every LLM method generates through.

The fast path is the same on CPU and GPU: prompts are tokenized once, sorted by length and
cut into batches of similar length (length buckets: little padding, and a batch stops as
soon as its rows are done), left-padded so every row's completion starts at the same
column, generated with the KV cache under inference mode, and returned in input order. On
CUDA, `batch_size="auto"` takes the largest batch whose KV cache fits in free memory and
halves it on an out-of-memory error. bf16 and SDPA / flash attention are chosen when the
backbone is loaded (bench.backbones.hf).

`generate_batch` is the only call of `model.generate` in erbench: prediction, DPO rejected
sides (Curr-RLCER) and PPO rollouts (ExpCTR) all go through it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Messages = list[dict[str, str]]

CPU_AUTO_BATCH = 8  # "auto" on CPU: today's default; bigger batches gain nothing there
MAX_AUTO_BATCH = 256
FREE_MEMORY_SHARE = 0.7  # of the free CUDA memory, for the KV cache and the prefill
# Passed to every chat template erbench renders (here, Curr-RLCER's prompt budget, TRL's
# trainers): Qwen3's template otherwise opens the reply with <think> and the student spends its
# few new tokens reasoning; templates without the switch ignore the variable.
CHAT_TEMPLATE_KWARGS: dict[str, Any] = {"enable_thinking": False}


def render_chat(tokenizer: Any, messages: Messages | str) -> str:
    """The prompt text a chat model sees (generation prompt appended, thinking off)."""
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, **CHAT_TEMPLATE_KWARGS
        )
    return "\n".join(m["content"] for m in messages) + "\n"


def encode_prompts(tokenizer: Any, texts: Sequence[str], max_prompt_tokens: int | None = None) -> list[list[int]]:
    """Token ids of every rendered prompt in one tokenizer call; long prompts lose their
    start (left truncation), where the instructions are least needed."""
    old_side = tokenizer.truncation_side
    tokenizer.truncation_side = "left"
    try:
        enc = tokenizer(
            list(texts), add_special_tokens=False,
            truncation=max_prompt_tokens is not None, max_length=max_prompt_tokens,
        )  # fmt: skip
    finally:
        tokenizer.truncation_side = old_side
    return enc["input_ids"]


def left_pad(rows: Sequence[Sequence[int]], pad_id: int, device: Any = "cpu"):
    """(input_ids, attention_mask) of token rows left-padded to the longest one."""
    import torch
    from torch.nn.utils.rnn import pad_sequence

    seqs = [torch.as_tensor(r, dtype=torch.long) for r in rows]
    ids = pad_sequence(seqs, batch_first=True, padding_value=pad_id, padding_side="left")
    ones = [torch.ones(len(r), dtype=torch.long) for r in rows]
    mask = pad_sequence(ones, batch_first=True, padding_value=0, padding_side="left")
    return ids.to(device), mask.to(device)


def length_buckets(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, longest first (an out-of-memory
    error shows on the first batch, not the last); ties keep input order."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    size = max(1, int(batch_size))
    return [order[start : start + size] for start in range(0, len(order), size)]


def kv_bytes_per_token(config: Any, dtype_bytes: int) -> int:
    """Bytes of keys + values one token keeps in the cache, over every layer."""
    layers = int(getattr(config, "num_hidden_layers", 1))
    heads = int(getattr(config, "num_attention_heads", 1))
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    return 2 * layers * kv_heads * head_dim * dtype_bytes


def batch_size_for_memory(config: Any, dtype_bytes: int, free_bytes: int, prompt_tokens: int,
                          max_new_tokens: int, cap: int = MAX_AUTO_BATCH) -> int:
    """The largest batch whose KV cache, last-position logits (fp32) and prefill activations
    fit in FREE_MEMORY_SHARE of `free_bytes`; at least 1, at most `cap`."""
    tokens = prompt_tokens + max_new_tokens
    per_row = tokens * kv_bytes_per_token(config, dtype_bytes)
    per_row += 2 * int(getattr(config, "vocab_size", 32000)) * 4
    inner = int(getattr(config, "intermediate_size", 4 * config.hidden_size))
    per_row += prompt_tokens * (2 * inner + 4 * config.hidden_size) * dtype_bytes
    return max(1, min(int(cap), int(free_bytes * FREE_MEMORY_SHARE) // max(1, per_row)))


def auto_batch_size(model: Any, prompt_tokens: int, max_new_tokens: int) -> int:
    """Generation batch size from the device's free memory (CUDA); CPU_AUTO_BATCH on CPU."""
    import torch

    param = next(model.parameters())
    if param.device.type != "cuda":
        return CPU_AUTO_BATCH
    free, _ = torch.cuda.mem_get_info(param.device)
    return batch_size_for_memory(model.config, param.element_size(), free, prompt_tokens, max_new_tokens)


def generation_kwargs(*, max_new_tokens: int, do_sample: bool, temperature: float = 1.0,
                      top_p: float = 1.0, top_k: int | None = None, pad_id: int,
                      eos_ids: int | Sequence[int] | None) -> dict[str, Any]:
    """Keyword arguments of `model.generate`: greedy unsets the sampling knobs (so a model's
    generation_config cannot turn greedy decoding into sampling); the KV cache is always on."""
    kw: dict[str, Any] = dict(
        max_new_tokens=max_new_tokens, do_sample=do_sample, pad_token_id=pad_id,
        eos_token_id=eos_ids, use_cache=True,
    )  # fmt: skip
    if do_sample:
        kw.update(temperature=temperature, top_p=top_p, top_k=top_k)
    else:
        kw.update(temperature=None, top_p=None, top_k=None)
    return kw


def opening_mask(scores: Any, allowed: Sequence[int]) -> Any:
    """`scores` (B, V) with every token outside `allowed` at -inf: the first new token is one
    of them, drawn from the model's own distribution renormalised over them."""
    import torch

    keep = torch.full_like(scores, float("-inf"))
    ids = torch.as_tensor(list(allowed), device=scores.device)
    keep[:, ids] = scores[:, ids]
    return keep


class _OpeningTokens:
    """HF logits processor: restrict the first generated position (prompt length `start`)."""

    def __init__(self, allowed: Sequence[int], start: int):
        self.allowed, self.start = list(allowed), start

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        return opening_mask(scores, self.allowed) if input_ids.shape[1] == self.start else scores


def generate_batch(model: Any, input_ids: Any, attention_mask: Any, *,
                   opening_ids: Sequence[int] | None = None, **kwargs: Any) -> Any:
    """New token ids (B, T) of one left-padded batch; `kwargs` from generation_kwargs;
    `opening_ids`: the first new token must be one of these (opening_mask). Copied out of
    inference mode, so a PPO update can feed them back through autograd."""
    import torch

    if opening_ids:
        from transformers import LogitsProcessorList

        kwargs["logits_processor"] = LogitsProcessorList([_OpeningTokens(opening_ids, input_ids.shape[1])])
    from bench.backbones.shared_prefill import generate_shared_prefill

    with torch.inference_mode():  # copies of one prompt (PPO's k rollouts) share its prefill
        out = generate_shared_prefill(model, input_ids, attention_mask, **kwargs)
    return out[:, input_ids.shape[1] :].clone()


def _pad_id(tokenizer: Any) -> int:
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return int(tokenizer.pad_token_id)


def _is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Messages | str],
    *,
    max_new_tokens: int = 64,
    batch_size: int | str = 8,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    max_prompt_tokens: int | None = None,
    seed: int | None = None,
    advance: Callable[[int], None] | None = None,
    opening_ids: Sequence[int] | None = None,
) -> list[str]:
    """One completion per chat prompt (messages, or a plain user message), in input order,
    decoded without special tokens. `batch_size`: rows per batch, or "auto" (free memory on
    CUDA, CPU_AUTO_BATCH on CPU); `opening_ids`: allowed first tokens (generate_batch).
    Greedy results do not depend on the batching."""
    import torch

    pad_id = _pad_id(tokenizer)
    device = next(model.parameters()).device
    rows = encode_prompts(tokenizer, [render_chat(tokenizer, p) for p in prompts], max_prompt_tokens)
    if not rows:
        return []
    longest = max(len(r) for r in rows)
    size = auto_batch_size(model, longest, max_new_tokens) if batch_size == "auto" else int(batch_size)
    kwargs = generation_kwargs(
        max_new_tokens=max_new_tokens, do_sample=do_sample, temperature=temperature, top_p=top_p,
        pad_id=pad_id, eos_ids=tokenizer.eos_token_id,
    )  # fmt: skip
    out: list[str | None] = [None] * len(rows)
    was_training = model.training
    model.eval()
    if seed is not None:
        torch.manual_seed(seed)
    try:
        pending = length_buckets([len(r) for r in rows], size)
        while pending:
            batch = pending.pop(0)
            ids, mask = left_pad([rows[i] for i in batch], pad_id, device)
            try:
                new = generate_batch(model, ids, mask, opening_ids=opening_ids, **kwargs)
            except RuntimeError as exc:  # a batch too big for the GPU: halve it, try again
                if len(batch) == 1 or not _is_oom(exc):
                    raise
                torch.cuda.empty_cache()
                half = len(batch) // 2
                pending[:0] = [batch[:half], batch[half:]]
                continue
            for i, text in zip(batch, tokenizer.batch_decode(new, skip_special_tokens=True), strict=True):
                out[i] = text
            if advance is not None:
                advance(len(batch))
    finally:
        if was_training:
            model.train()
    return [text or "" for text in out]
