"""First-token answer scoring of a causal LM: P("Yes") / P("No") (ExpCTR's LC scorer, TALLRec, ICL).

The prompt is rendered with the backbone's chat template (generation prompt appended), so the
next token is the first token of the assistant's answer. p_yes / p_no are the softmax
probabilities of the first tokens of "Yes" and "No" (V_pos / V_neg of eq. 8).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def answer_token_ids(tokenizer: Any, words: Sequence[str]) -> list[int]:
    """The first token id of each word (no special tokens), de-duplicated."""
    ids: list[int] = []
    for w in words:
        enc = tokenizer.encode(w, add_special_tokens=False)
        if enc and enc[0] not in ids:
            ids.append(enc[0])
    if not ids:
        raise ValueError(f"none of {list(words)} encodes to a token")
    return ids


def first_token_probs(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    pos_ids: Sequence[int],
    neg_ids: Sequence[int],
    *,
    batch_size: int = 8,
    max_prompt_tokens: int | None = 768,
    advance: Callable[[int], None] | None = None,
    grad: bool = False,
    prefix_store: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(p_pos, p_neg) per rendered prompt: summed next-token probabilities of each id set.

    Prompts are tokenized once and scored in length buckets (bench.backbones.generate), so a
    batch carries little padding; results come back in input order. `prefix_store` (a
    bench.backbones.common_prefix.PrefixStore, for a FROZEN model only): the prompts' common
    opening runs once and its keys/values are kept across calls."""
    import torch

    from bench.backbones.generate import encode_prompts, left_pad, length_buckets
    from bench.backbones.positions import padded_position_ids

    device = next(model.parameters()).device
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    rows = encode_prompts(tokenizer, prompts, max_prompt_tokens)
    pos = np.zeros(len(rows), dtype=np.float64)
    neg = np.zeros(len(rows), dtype=np.float64)
    ctx = torch.enable_grad() if grad else torch.inference_mode()
    with ctx:
        for batch in length_buckets([len(r) for r in rows], batch_size):
            ids, attn = left_pad([rows[i] for i in batch], tokenizer.pad_token_id, device)
            if prefix_store is not None:
                from bench.backbones.common_prefix import forward_sharing_prefix

                limit = min(len(rows[i]) for i in batch) - 1
                out = forward_sharing_prefix(model, ids, attn, limit=limit, store=prefix_store,
                                             logits_to_keep=1, use_cache=False)  # fmt: skip
            else:
                position_ids = padded_position_ids(attn)
                out = model(
                    input_ids=ids,
                    attention_mask=attn,
                    position_ids=position_ids,
                    logits_to_keep=1,
                    use_cache=False,
                )
            probs = torch.softmax(out.logits[:, -1, :].float(), dim=-1)
            pos[batch] = probs[:, list(pos_ids)].sum(-1).detach().cpu().double().numpy()
            neg[batch] = probs[:, list(neg_ids)].sum(-1).detach().cpu().double().numpy()
            if advance is not None:
                advance(len(batch))
    return pos, neg


def yes_ratio(p_yes: np.ndarray, p_no: np.ndarray) -> np.ndarray:
    """P(Yes) / (P(Yes) + P(No)) (TALLRec / ICL score); 0.5 where both are 0."""
    total = p_yes + p_no
    return np.where(total > 0, p_yes / np.where(total > 0, total, 1.0), 0.5)
