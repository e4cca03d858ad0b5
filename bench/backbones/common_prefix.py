"""Forward passes where every row of a batch opens with the same tokens (issue #26).

ExpCTR's prompts all open with the chat template's system turn and the same instructions: on
SmolLM2, 61 of the ~180 tokens of an explanation prompt and 77 of the ~94 of a CTR prompt. Here
the rows' common prefix is run once (one row), its keys and values repeated to every row, and
each row's remaining tokens attend to them through the KV cache. The rows keep their positions
and their padding mask, so this is the same function as the plain forward over the left-padded
batch, up to float summation order; gradients reach the prefix's forward through the repeat.

A frozen model (the PPO reference with its adapters disabled, the LC scorer) may keep a
prefix's keys and values across calls in a `PrefixStore`: the system turn and instructions are
then run once per run, not once per batch. Only for frozen weights: the store never knows
when they change.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from bench.backbones.positions import padded_position_ids

MIN_PREFIX = 8  # shorter common prefixes are not worth a second forward


def starts(mask: Any) -> Any:
    """Column of each left-padded row's first real token."""
    return (mask.long().cumsum(1) == 0).sum(1)


def common_prefix_length(ids: Any, mask: Any, limit: int) -> int:
    """How many leading real tokens every row of a left-padded batch shares (at most `limit`)."""
    import torch

    if limit <= 0 or ids.shape[0] == 0:
        return 0
    cols = starts(mask)[:, None] + torch.arange(limit, device=ids.device)[None]
    toks = ids.gather(1, cols.clamp(max=ids.shape[1] - 1))
    same = (toks == toks[:1]).all(0)
    return int(same.long().cumprod(0).sum())


def drop_prefix(ids: Any, mask: Any, k: int) -> tuple[Any, Any]:
    """(ids, mask) without the first `k` real tokens of each left-padded row (its padding kept
    in front of what is left)."""
    import torch

    width = ids.shape[1] - k
    j = torch.arange(width, device=ids.device)[None]
    cols = j + k * (j >= starts(mask)[:, None])
    return ids.gather(1, cols), mask.gather(1, cols)


class PrefixStore:
    """Keys/values of the last few prefixes a FROZEN model ran, by their token ids."""

    def __init__(self, size: int = 4):
        self.size = size
        self.entries: OrderedDict[tuple[int, ...], list[tuple[Any, Any]]] = OrderedDict()

    def longest_shared(self, ids: Any, mask: Any, limit: int) -> tuple[int, ...] | None:
        """The longest stored prefix (of at most `limit` tokens) that every row starts with."""
        k = common_prefix_length(ids, mask, limit)
        if k == 0:
            return None
        row0 = ids[0, int(starts(mask)[0]) :][:k].tolist()
        found = [key for key in self.entries if len(key) <= k and list(key) == row0[: len(key)]]
        if not found:
            return None
        key = max(found, key=len)
        self.entries.move_to_end(key)
        return key

    def put(self, key: tuple[int, ...], kv: list[tuple[Any, Any]]) -> None:
        self.entries[key] = kv
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


def _prefix_kv(model: Any, prefix: Any) -> list[tuple[Any, Any]]:
    """Keys and values of every layer after running `prefix` (1, k)."""
    import torch

    pos = torch.arange(prefix.shape[1], device=prefix.device)[None]
    out = model(input_ids=prefix, attention_mask=torch.ones_like(prefix), position_ids=pos,
                use_cache=True, logits_to_keep=1)  # fmt: skip
    return [(layer.keys, layer.values) for layer in out.cache.layers]


def forward_sharing_prefix(
    model: Any,
    ids: Any,
    mask: Any,
    *,
    limit: int,
    store: PrefixStore | None = None,
    **kwargs: Any,
) -> Any:
    """`model(input_ids=ids, attention_mask=mask, position_ids=<mask's>, **kwargs)` over a
    left-padded batch, with the rows' common prefix (at most `limit` tokens: keep at least the
    positions whose outputs are used out of it) run once. The output covers the columns after
    the prefix (`logits_to_keep` and slices from the end mean the same as in the plain call).
    Falls back to the plain call when the prefix is short or only one row has no store."""
    return forward_with_layout(model, ids, mask, limit=limit, store=store, **kwargs)[0]


def forward_with_layout(
    model: Any,
    ids: Any,
    mask: Any,
    *,
    limit: int,
    store: PrefixStore | None = None,
    **kwargs: Any,
) -> tuple[Any, Any, Any]:
    """forward_sharing_prefix, returning also the (ids, attention mask) the output's KV cache
    is laid out in: each row's prefix first, then its padding, then the rest of the row (the
    plain batch when nothing was shared). A `generate` continuing from that cache takes them."""
    import torch
    from transformers import DynamicCache

    key = store.longest_shared(ids, mask, limit) if store is not None else None
    k = len(key) if key is not None else common_prefix_length(ids, mask, limit)
    sliding = "sliding_attention" in (getattr(model.config, "layer_types", None) or [])
    if k < MIN_PREFIX or (ids.shape[0] < 2 and key is None) or sliding:
        pos = padded_position_ids(mask)
        return model(input_ids=ids, attention_mask=mask, position_ids=pos, **kwargs), ids, mask
    prefix = ids[:1, int(starts(mask)[0]) :][:, :k]
    if key is not None:
        kv = store.entries[key]  # type: ignore[union-attr]
    else:
        kv = _prefix_kv(model, prefix)
        if store is not None:
            store.put(tuple(prefix[0].tolist()), kv)
    rows = ids.shape[0]
    cache = DynamicCache(
        ddp_cache_data=[(kk.expand(rows, -1, -1, -1), vv.expand(rows, -1, -1, -1)) for kk, vv in kv]
    )
    rest_ids, rest_mask = drop_prefix(ids, mask, k)
    full = torch.cat(
        [torch.ones((rows, k), dtype=mask.dtype, device=mask.device), rest_mask], dim=1
    )
    pos = padded_position_ids(full)[:, k:]
    kwargs["use_cache"] = True  # the prefix reaches the rows through the cache
    out = model(input_ids=rest_ids, attention_mask=full, position_ids=pos, cache=cache, **kwargs)
    return out, torch.cat([prefix.expand(rows, -1), rest_ids], dim=1), full
