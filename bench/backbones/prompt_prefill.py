"""A rollout's prompt prefill, run once for sampling and, kept with autograd, for the update
(issue #26).

A PPO step used to run the policy over each prompt three times: to prefill generation, to take
the old log-probs, and again with autograd in the first minibatch of the update, while the
policy had not changed in between. Here the prompts (all but their last token) are run once:
identical prompts once (PPO's k samples per record), their common opening once
(bench.backbones.common_prefix). `generate` continues from a detached copy of those keys and
values, and so do the old log-probs of the rows scored without autograd; with `grad=True`
the prefill's graph is kept, and the update's first forward runs only
the last prompt token and the response through it (`cache(rows)`), then backpropagates into it.
Same function as the full forward over the left-padded batch, up to float summation order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class PromptPrefill:
    kv: list[tuple[Any, Any]]  # per layer (keys, values) of each distinct prompt but its last token
    rows: Any  # (B,) each row's distinct prompt
    ids: Any  # (B, W) prompt ids in the cache's layout (bench.backbones.common_prefix)
    mask: Any  # (B, W) attention mask in that layout

    def cache(self, rows: Any = None, *, detach: bool = False) -> Any:
        """A DynamicCache of the given rows (default all), ready for their last prompt token."""
        from transformers import DynamicCache

        pick = self.rows if rows is None else self.rows[rows]
        kv = [(k.detach(), v.detach()) if detach else (k, v) for k, v in self.kv]
        return DynamicCache(ddp_cache_data=[(k[pick], v[pick]) for k, v in kv])


def prefill_prompts(model: Any, ids: Any, mask: Any, *, grad: bool = False) -> PromptPrefill | None:
    """Run the left-padded prompts but their last token (None: some prompt has fewer than 2
    tokens, or the model has sliding-window layers). `grad`: keep the autograd graph."""
    import torch

    from bench.backbones.common_prefix import forward_with_layout
    from bench.backbones.shared_prefill import prompt_groups

    lengths = mask.long().sum(1)
    if ids.shape[0] == 0 or int(lengths.min()) < 2:
        return None
    if "sliding_attention" in (getattr(model.config, "layer_types", None) or []):
        return None
    groups = prompt_groups(ids, mask)
    if groups is None:
        first = rows = torch.arange(ids.shape[0], device=ids.device)
    else:
        first, rows = groups
    head_ids, head_mask = ids[first, :-1], mask[first, :-1]
    with torch.enable_grad() if grad else torch.no_grad():
        out, lay_ids, lay_mask = forward_with_layout(
            model,
            head_ids,
            head_mask,
            limit=int(lengths.min()) - 2,
            use_cache=True,
            logits_to_keep=1,
        )
    kv = [(layer.keys, layer.values) for layer in out.cache.layers]
    lay_ids = torch.cat([lay_ids, ids[first, -1:]], dim=1)[rows]
    lay_mask = torch.cat([lay_mask, mask[first, -1:]], dim=1)[rows]
    return PromptPrefill(kv, rows, lay_ids, lay_mask)
