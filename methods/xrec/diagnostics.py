"""Measurements of XRec's collaborative signal (issue #29): does it reach the LM, and does it vary?

Pure functions on tensors, driven by benchmarks/xrec_diagnostics.py on a trained run folder:

- `variation`: how much the adapters' outputs differ between users (items): mean pairwise
  cosine, and the share of their energy that is not the common mean vector,
  E||a - mean||^2 / E||a||^2 (0: every user gets the same vector, a learned soft prompt);
- `slot_norms`: per decoder layer, the norm of the LM's own hidden state (the layer's input)
  at the placeholder positions and at the other prompt tokens, against the injected vector's
  norm: what an additive injection (h + a) would be competing with. With "hidden" the state is
  overwritten and each layer's RMSNorm rescales it, so there only the direction of a matters;
- `recall_at_k` / `popularity_scores`: the collaborative encoder's own quality, full-sort
  Recall@K on held-out interactions (train items excluded), against ranking by train popularity.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn


def variation(vectors: torch.Tensor) -> dict[str, float]:
    """(N, H) vectors, N >= 2 -> mean pairwise cosine (off the diagonal), the share of energy
    off the mean E||a - mean||^2 / E||a||^2, and mean / min / max L2 norm."""
    x = vectors.double()
    n = x.shape[0]
    if n < 2:
        raise ValueError("variation needs at least two vectors")
    norms = x.norm(dim=1)
    unit = x / norms.clamp_min(1e-12).unsqueeze(1)
    cos = unit @ unit.T
    mean_cos = (cos.sum() - cos.diagonal().sum()) / (n * (n - 1))
    spread = (x - x.mean(dim=0)).pow(2).sum(dim=1).mean() / x.pow(2).sum(dim=1).mean().clamp_min(1e-300)
    return {
        "n": n,
        "mean_pairwise_cosine": float(mean_cos),
        "variance_share": float(spread),  # E||a - mean a||^2 / E||a||^2
        "mean_norm": float(norms.mean()),
        "min_norm": float(norms.min()),
        "max_norm": float(norms.max()),
    }


def slot_norms(
    layers: Sequence[nn.Module], run, attention_mask: torch.Tensor, slots: torch.Tensor, vectors: torch.Tensor
) -> list[dict[str, float]]:
    """Per layer: mean L2 norm of the layer's input hidden state at the placeholder `slots`
    (B, S), median norm at the other attended prompt tokens (the first attended token, an
    attention sink with outsized norm, left out), and the mean norm of `vectors` (B, S, H).
    `run()` does one forward pass; pre-hooks on `layers` record their inputs during it."""
    seen: dict[int, torch.Tensor] = {}

    def recorder(index: int):
        def hook(module, args, kwargs):
            seen[index] = (args[0] if args else kwargs["hidden_states"]).detach()

        return hook

    handles = [layer.register_forward_pre_hook(recorder(i), with_kwargs=True) for i, layer in enumerate(layers)]
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    rows = torch.arange(slots.shape[0]).unsqueeze(1)
    other = attention_mask.bool().clone()
    other[rows, slots] = False
    first = attention_mask.long().argmax(dim=1)  # left padding: the first attended column
    other[torch.arange(other.shape[0]), first] = False
    vector_norm = float(vectors.float().norm(dim=-1).mean())
    out = []
    for index in range(len(layers)):
        states = seen[index].float()
        at_slots = float(states[rows, slots].norm(dim=-1).mean())
        elsewhere = float(states[other].norm(dim=-1).median())
        out.append({
            "layer": index, "hidden_norm_at_slots": at_slots, "hidden_norm_other_median": elsewhere,
            "vector_norm": vector_norm, "vector_over_other": vector_norm / max(elsewhere, 1e-12),
        })  # fmt: skip
    return out


def popularity_scores(train_pairs: Iterable[tuple[int, int]], n_users: int, n_items: int) -> torch.Tensor:
    """(n_users, n_items): every user's score of an item is its number of train interactions."""
    counts = torch.zeros(n_items)
    for _, item in train_pairs:
        counts[item] += 1
    return counts.expand(n_users, n_items).clone()


def recall_at_k(
    scores: torch.Tensor, train_pairs: Iterable[tuple[int, int]], held_out_pairs: Iterable[tuple[int, int]], k: int
) -> dict[str, float]:
    """Full-sort Recall@K: per user with held-out items, |top-K (train items excluded) ∩ held
    out| / |held out|, averaged over those users (RecBole's and XRec's recall)."""
    scores = scores.clone().float()
    for user, item in train_pairs:
        scores[user, item] = float("-inf")
    truth: dict[int, set[int]] = {}
    for user, item in held_out_pairs:
        truth.setdefault(user, set()).add(item)
    if not truth:
        raise ValueError("recall_at_k needs held-out interactions")
    top = scores.topk(min(k, scores.shape[1]), dim=1).indices
    recalls = [len(truth[u] & set(top[u].tolist())) / len(truth[u]) for u in sorted(truth)]
    return {"recall": sum(recalls) / len(recalls), "users": len(recalls), "k": k}
