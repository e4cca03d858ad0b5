"""RecBole's DeepFM (Guo et al. 2017) with the explanation embedding concatenated, eq. 12.

ExpCTR builds the IC reward "upon the DeepFM and implemented through ... Recbole" (§5.1.4)
and concatenates z_ui with the hidden representation h_ui (eq. 12). This module is RecBole
1.2.1's DeepFM (recbole.model.context_aware_recommender.deepfm) built from RecBole's own
layers (MLPLayers, BaseFactorizationMachine) with its defaults (embedding size 10, MLP
[128, 128, 128], dropout 0.2, Xavier-normal init), on the user-id and item-id fields (index
0 = unseen), and with h_ui exposed. The logit is

    w0 + w_u + w_i                          first order (RecBole's FMFirstOrderLinear)
  + FM(e_u, e_i)                            second order (BaseFactorizationMachine)
  + predict(Concat(h_ui, z_ui))             deep part; h_ui = MLPLayers over [e_u; e_i] (the
                                            input of RecBole's deep_predict_layer), z_ui the
                                            explanation embedding of eq. 11

so s^r = sigmoid(logit) is eq. 12 and s~^r is the same forward pass with z = 0 (eq. 13).
`z_concat="projection"` (a named variant, erbench's earlier module) passes z through a
Linear+ReLU of width `z_proj` before the concatenation. With `z_dim=0` it is RecBole's plain
ID DeepFM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass
class DeepFMConfig:  # defaults: RecBole 1.2.1 properties/model/DeepFM.yaml
    embed_dim: int = 10
    hidden: tuple[int, ...] = (128, 128, 128)
    z_proj: int = 32  # width of the explanation projection (z_concat="projection" only)
    dropout: float = 0.2
    z_concat: str = "direct"  # "direct": Concat(h_ui, z_ui) as eq. 12; "projection": Linear+ReLU first


class DeepFM(nn.Module):
    def __init__(self, n_users: int, n_items: int, z_dim: int, cfg: DeepFMConfig | None = None):
        super().__init__()
        cfg = cfg or DeepFMConfig()
        self.cfg = cfg
        self.n_users, self.n_items, self.z_dim = n_users, n_items, z_dim
        from recbole.model.layers import BaseFactorizationMachine, MLPLayers

        if cfg.z_concat not in ("direct", "projection"):
            raise ValueError(f"z_concat must be 'direct' or 'projection', got {cfg.z_concat!r}")
        self.bias = nn.Parameter(torch.zeros(1))
        self.w_user = nn.Embedding(n_users + 1, 1)
        self.w_item = nn.Embedding(n_items + 1, 1)
        self.e_user = nn.Embedding(n_users + 1, cfg.embed_dim)
        self.e_item = nn.Embedding(n_items + 1, cfg.embed_dim)
        self.fm = BaseFactorizationMachine(reduce_sum=True)
        self.mlp = MLPLayers([2 * cfg.embed_dim, *cfg.hidden], cfg.dropout)
        self.hidden_dim = width = cfg.hidden[-1]
        self.z_proj = None
        z_width = z_dim
        if z_dim and cfg.z_concat == "projection":
            self.z_proj = nn.Sequential(nn.Linear(z_dim, cfg.z_proj), nn.ReLU())
            z_width = cfg.z_proj
        self.head = nn.Linear(width + z_width, 1)  # RecBole's deep_predict_layer, widened by z
        self.apply(_init_weights)

    def hidden_rep(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """h_ui: the deep part's last hidden layer."""
        return self.mlp(torch.cat([self.e_user(users), self.e_item(items)], dim=-1))

    def forward(
        self, users: torch.Tensor, items: torch.Tensor, z: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits; z=None means the zero explanation vector."""
        eu, ei = self.e_user(users), self.e_item(items)
        first = self.bias + self.w_user(users).squeeze(-1) + self.w_item(items).squeeze(-1)
        second = self.fm(torch.stack([eu, ei], dim=1)).squeeze(-1)  # = <e_u, e_i> for two fields
        h = self.hidden_rep(users, items)
        if self.z_dim:
            if z is None:
                z = torch.zeros(users.shape[0], self.z_dim, device=users.device)
            h = torch.cat([h, z if self.z_proj is None else self.z_proj(z)], dim=-1)  # eq. 12
        return first + second + self.head(h).squeeze(-1)


def _init_weights(module: nn.Module) -> None:
    """RecBole DeepFM._init_weights: Xavier-normal embeddings and linear weights, zero biases."""
    if isinstance(module, (nn.Embedding, nn.Linear)):
        nn.init.xavier_normal_(module.weight.data)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.constant_(module.bias.data, 0)


class IdIndex:
    """user/item id -> embedding row (0 = unseen)."""

    def __init__(self, users: Sequence[str], items: Sequence[str]):
        self.users = {u: k + 1 for k, u in enumerate(sorted(set(users)))}
        self.items = {i: k + 1 for k, i in enumerate(sorted(set(items)))}

    def encode(self, records: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        u = torch.tensor([self.users.get(r.user_id, 0) for r in records], dtype=torch.long)
        i = torch.tensor([self.items.get(r.item_id, 0) for r in records], dtype=torch.long)
        return u, i

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "users": sorted(self.users, key=self.users.get),
            "items": sorted(self.items, key=self.items.get),
        }

    @classmethod
    def from_dict(cls, data: dict[str, list[str]]) -> IdIndex:
        return cls(data["users"], data["items"])


def train_deepfm(
    model: DeepFM,
    users: torch.Tensor,
    items: torch.Tensor,
    labels: torch.Tensor,
    z: torch.Tensor | None = None,
    *,
    epochs: int = 5,
    lr: float = 1e-3,
    batch_size: int = 256,
    weight_decay: float = 0.0,
    z_dropout: float = 0.0,
    seed: int = 0,
    log: Any = None,
) -> list[float]:
    """Minimise BCE (eq. 3 without z, eq. 15 with z). With z_dropout > 0 each row's z is
    zeroed with that probability, so the model also learns the explanation-free prediction
    s~^r that eq. 13 compares against. Returns the mean loss per epoch."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    n = labels.shape[0]
    losses = []
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            zb = None
            if z is not None:
                zb = z[idx]
                if z_dropout > 0:
                    keep = (torch.rand(idx.shape[0], 1, generator=gen) >= z_dropout).to(zb.dtype)
                    zb = zb * keep
            loss = loss_fn(model(users[idx], items[idx], zb), labels[idx].float())
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        losses.append(total / max(1, n))
        if log is not None:
            log(epoch, losses[-1])
    model.eval()
    return losses


@torch.no_grad()
def predict_proba(
    model: DeepFM, users: torch.Tensor, items: torch.Tensor, z: torch.Tensor | None = None
) -> np.ndarray:
    model.eval()
    return torch.sigmoid(model(users, items, z)).numpy().astype(np.float64)
