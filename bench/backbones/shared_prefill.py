"""Generation where copies of one prompt share its prefill (issue #26).

GRPO samples G completions of each prompt: the batch holds each prompt G times in a row, and
`model.generate` prefills every copy. Here each distinct prompt is prefilled once (all of it
but its last token), its KV cache repeated to the rows that hold it, and `generate` continues
from that cache: the same logits up to float summation order, so the same greedy outputs, and
the same samples at the same seed (prefill draws no random numbers; decoding is unchanged).
A model with dropout active (in training mode, as TRL generates with LoRA dropout on) draws a
dropout mask for each copy's prefill: sharing would change its samples, so it is not shared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench.backbones.positions import padded_position_ids


def prompt_groups(input_ids: Any, attention_mask: Any) -> tuple[Any, Any] | None:
    """(first row of each distinct prompt, each row's prompt index), or None when no row
    repeats another (nothing to share)."""
    import torch

    rows = torch.cat([input_ids, attention_mask], dim=1)
    uniq, inverse = torch.unique(rows, dim=0, return_inverse=True)
    if uniq.shape[0] == rows.shape[0]:
        return None
    first = torch.full((uniq.shape[0],), rows.shape[0], dtype=torch.long, device=rows.device)
    first.scatter_reduce_(0, inverse, torch.arange(rows.shape[0], device=rows.device), "amin")
    # prompt indices in order of first appearance, so the prefill batch keeps the batch's order
    order = torch.argsort(first)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.shape[0], device=order.device)
    return first[order], rank[inverse]


def dropout_active(model: Any) -> bool:
    """Whether a forward of `model` now draws random numbers: dropout with p > 0 in training mode."""
    import torch

    if not model.training:
        return False
    config = getattr(model, "config", None)
    if float(getattr(config, "attention_dropout", 0.0) or 0.0) > 0:
        return True
    return any(
        isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.training and m.p > 0
        for m in model.modules()
    )


def generate_shared_prefill(
    model: Any,
    input_ids: Any,
    attention_mask: Any,
    *,
    generate: Callable[..., Any] | None = None,
    **generate_kwargs: Any,
) -> Any:
    """`model.generate(input_ids=..., attention_mask=..., **generate_kwargs)` with each
    distinct (left-padded) prompt prefilled once; returns what generate returns. `generate`:
    the generate function to continue with (default model.generate)."""
    import torch

    generate = generate or model.generate
    groups = prompt_groups(input_ids, attention_mask) if input_ids.shape[1] > 1 else None
    if (
        groups is None
        or {"cache", "past_key_values"} & set(generate_kwargs)
        or dropout_active(model)
    ):
        return generate(input_ids=input_ids, attention_mask=attention_mask, **generate_kwargs)
    first, row_prompt = groups
    ids, mask = input_ids[first, :-1], attention_mask[first, :-1]
    position_ids = padded_position_ids(mask)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=True)
    cache = getattr(out, "past_key_values", None)
    if not hasattr(cache, "batch_select_indices"):  # a model without a selectable KV cache
        return generate(input_ids=input_ids, attention_mask=attention_mask, **generate_kwargs)
    cache.batch_select_indices(row_prompt)  # each row gets its prompt's keys and values
    return generate(
        input_ids=input_ids, attention_mask=attention_mask, cache=cache, **generate_kwargs
    )


@contextmanager
def shared_prefill_on(model: Any) -> Iterator[None]:
    """Within the block, `model.generate(input_ids=..., attention_mask=..., ...)` prefills each
    distinct prompt once (for a trainer that calls generate itself, e.g. TRL's GRPOTrainer)."""
    own = model.generate

    def generate(input_ids: Any = None, attention_mask: Any = None, **kwargs: Any) -> Any:
        if input_ids is None or attention_mask is None:
            return own(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        return generate_shared_prefill(model, input_ids, attention_mask, generate=own, **kwargs)

    had = model.__dict__.get("generate")
    model.generate = generate
    try:
        yield
    finally:
        if had is None:
            del model.generate  # the class's method again
        else:
            model.generate = had
