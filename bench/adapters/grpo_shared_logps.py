"""GRPO's per-token log-probs with each prompt forwarded once for its G completions (issue #26).

TRL's GRPOTrainer scores prompt + completion for every row of a batch (the policy's log-probs
and entropies for the loss, the reference's and the old policy's under no_grad), so a prompt
shared by G completions goes through the model G times. Here, inside each of TRL's chunks,
each distinct (left-padded) prompt is forwarded once, all of it but its last token, with a KV
cache; the cache is indexed out to the rows that hold the prompt (differentiable: the gradient
of the shared prompt is the sum over its copies), and each row then runs its last prompt token
and its completion on that cache through TRL's own fused LM head, so temperature, entropies and
masking are TRL's. Positions are TRL's too: its loss forward passes no position ids, so every
row counts positions from the first (padded) column, and so does the cache here.

Used only where it gives the same numbers: a plain causal LM (PEFT-wrapped or not), no dropout
active (a dropout mask per copy cannot be shared), no gradient checkpointing (a recomputed
layer would extend the cache twice), no sliding-window layers, no images or MoE aux loss, no
distributed wrapper, no vLLM; otherwise TRL's method runs unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LogpsFn = Callable[..., tuple[Any, Any, Any]]


def causal_lm(model: Any) -> Any | None:
    """The transformers causal LM under a PEFT wrapper (or `model` itself), or None when
    `model` is neither (a DDP/FSDP/DeepSpeed wrapper, a vision-language model's shell)."""
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    backbone = getattr(lm, "base_model", None)
    if backbone is None or backbone is lm or not hasattr(lm, "get_output_embeddings"):
        return None
    return lm


def can_share(
    model: Any, input_ids: Any, logits_to_keep: int, use_vllm: bool, **extra: Any
) -> bool:
    """Whether the prompt forward may be shared for `model` on this batch (else TRL's method)."""
    from bench.backbones.shared_prefill import dropout_active

    lm = causal_lm(model)
    return (
        lm is not None
        and not use_vllm
        and not any(v is not None and v is not False for v in extra.values())  # images, aux loss
        and input_ids.size(1) - logits_to_keep >= 2  # a prompt prefix to cache
        and not any(getattr(m, "gradient_checkpointing", False) is True for m in lm.modules())
        # a sliding-window layer's cache keeps only its window: not the whole prompt for the rest
        and "sliding_attention" not in (getattr(lm.config, "layer_types", None) or [])
        and not dropout_active(model)
    )


def shared_prompt_logps(
    model: Any,
    input_ids: Any,
    attention_mask: Any,
    logits_to_keep: int,
    *,
    batch_size: int | None,
    compute_entropy: bool,
    plain: LogpsFn,
    autocast: Callable[[], Any],
) -> tuple[Any, Any, None]:
    """(log-probs, entropies or None, None) of the last `logits_to_keep` tokens of each row, as
    TRL's `_get_per_token_logps_and_entropies` returns them; a chunk in which no prompt
    repeats goes to `plain` (TRL's method, called as plain(model, ids, mask, logits_to_keep,
    compute_entropy=...))."""
    import torch

    from bench.backbones.shared_prefill import prompt_groups

    batch_size = batch_size or input_ids.size(0)  # TRL's chunks, grouped inside each
    prompt_len = input_ids.size(1) - logits_to_keep
    logps, entropies = [], []
    for start in range(0, input_ids.size(0), batch_size):
        ids = input_ids[start : start + batch_size]
        mask = attention_mask[start : start + batch_size]
        groups = prompt_groups(ids[:, :prompt_len], mask[:, :prompt_len])
        shared = None  # every prompt of the chunk distinct: nothing to share
        if groups is not None:
            shared = _shared_chunk(model, ids, mask, prompt_len, groups, compute_entropy, autocast)
        if shared is None:
            shared = plain(model, ids, mask, logits_to_keep, compute_entropy=compute_entropy)[:2]
        lp, ent = shared
        logps.append(lp)
        entropies.append(ent)
    return (
        torch.cat(logps, dim=0),
        torch.cat(entropies, dim=0) if compute_entropy else None,
        None,
    )


def _shared_chunk(
    model: Any,
    ids: Any,
    mask: Any,
    prompt_len: int,
    groups: tuple[Any, Any],
    compute_entropy: bool,
    autocast: Callable[[], Any],
) -> tuple[Any, Any] | None:
    """(log-probs, entropies or None) of one chunk with each prompt forwarded once; None when
    the model returns no selectable KV cache (then TRL's method)."""
    first, row_prompt = groups
    # the last prompt token runs per row: its logit scores completion token 1
    prefix = prompt_len - 1
    with autocast():
        # no position ids, as TRL's forward: positions 0.. from the first (padded) column
        out = model(input_ids=ids[first, :prefix], attention_mask=mask[first, :prefix], use_cache=True,
                    logits_to_keep=1)  # fmt: skip
        cache = getattr(out, "cache", None)
        if cache is None:
            cache = getattr(out, "past_key_values", None)
        if not hasattr(cache, "batch_select_indices"):  # a model without a selectable KV cache
            return None
        cache.batch_select_indices(row_prompt)  # each row gets its prompt's keys and values
        rest = ids[:, prefix:]
        # TRL's labels: the row's tokens, -100 on padding; the first is shifted out by the head
        labels = rest.masked_fill(mask[:, prefix:] == 0, -100)
        # the cache continues at position `prefix`; the full mask covers cache + rest
        scored = model(
            input_ids=rest, attention_mask=mask, cache=cache, labels=labels, fused_lm_head=True
        )
    return scored.log_probs, (scored.entropy if compute_entropy else None)
