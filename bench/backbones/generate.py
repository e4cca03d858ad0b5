"""Batched chat generation with left padding."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Messages = list[dict[str, str]]


def render_chat(tokenizer: Any, messages: Messages | str) -> str:
    """The prompt text a chat model sees (generation prompt appended)."""
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return "\n".join(m["content"] for m in messages) + "\n"


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Messages | str],
    *,
    max_new_tokens: int = 64,
    batch_size: int = 8,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    max_prompt_tokens: int | None = None,
    seed: int | None = None,
    advance: Callable[[int], None] | None = None,
) -> list[str]:
    """Generate one completion per chat prompt, `batch_size` prompts at a time.

    Prompts are left-padded (and, with max_prompt_tokens, left-truncated) so every row's
    completion starts at the same column. Returns decoded completions without special tokens.
    """
    import torch

    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = next(model.parameters()).device
    texts = [render_chat(tokenizer, p) for p in prompts]
    out: list[str] = []
    was_training = model.training
    model.eval()
    if seed is not None:
        torch.manual_seed(seed)
    try:
        for start in range(0, len(texts), batch_size):
            chunk = texts[start : start + batch_size]
            old_side = tokenizer.truncation_side
            tokenizer.truncation_side = "left"
            enc = tokenizer(
                chunk, return_tensors="pt", padding=True, add_special_tokens=False,
                truncation=max_prompt_tokens is not None, max_length=max_prompt_tokens,
            )  # fmt: skip
            tokenizer.truncation_side = old_side
            enc = {k: v.to(device) for k, v in enc.items()}
            kwargs: dict[str, Any] = dict(
                max_new_tokens=max_new_tokens,
                do_sample=do_sample,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
            if do_sample:
                kwargs.update(temperature=temperature, top_p=top_p)
            else:
                kwargs.update(temperature=None, top_p=None, top_k=None)
            with torch.inference_mode():
                ids = model.generate(**enc, **kwargs)
            new = ids[:, enc["input_ids"].shape[1] :]
            out.extend(tokenizer.batch_decode(new, skip_special_tokens=True))
            if advance is not None:
                advance(len(chunk))
    finally:
        if was_training:
            model.train()
    return out
