"""A small DeepFM (Guo et al. 2017) that exposes its hidden representation h_ui, for eq. 12.

Fields are the user id and the item id (index 0 = unseen). The logit is

    w0 + w_u + w_i                      first order
  + <e_u, e_i>                          FM second order (the only pair of two fields)
  + head(Concat(h_ui, g(z_ui)))         deep part; h_ui = last hidden layer of the MLP over
                                        [e_u; e_i], g = Linear+ReLU projection of the
                                        explanation embedding z_ui (eq. 11)

so s^r = sigmoid(logit) is eq. 12 and s~^r is the same forward pass with z = 0 (eq. 13).
RecBole's DeepFM does not expose h_ui, hence this equivalent module. With `z_dim=0` it is a
plain ID DeepFM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass
class DeepFMConfig:
    embed_dim: int = 16
    hidden: tuple[int, ...] = (64, 32)
    z_proj: int = 32  # width of the explanation projection g(z)
    dropout: float = 0.1


class DeepFM(nn.Module):
    def __init__(self, n_users: int, n_items: int, z_dim: int, cfg: DeepFMConfig | None = None):
        super().__init__()
        cfg = cfg or DeepFMConfig()
        self.cfg = cfg
        self.n_users, self.n_items, self.z_dim = n_users, n_items, z_dim
        self.bias = nn.Parameter(torch.zeros(1))
        self.w_user = nn.Embedding(n_users + 1, 1)
        self.w_item = nn.Embedding(n_items + 1, 1)
        self.e_user = nn.Embedding(n_users + 1, cfg.embed_dim)
        self.e_item = nn.Embedding(n_items + 1, cfg.embed_dim)
        for emb in (self.w_user, self.w_item):
            nn.init.zeros_(emb.weight)
        for emb in (self.e_user, self.e_item):
            nn.init.normal_(emb.weight, std=0.01)
        layers: list[nn.Module] = []
        width = 2 * cfg.embed_dim
        for h in cfg.hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(cfg.dropout)]
            width = h
        self.mlp = nn.Sequential(*layers)
        self.hidden_dim = width
        self.z_proj = nn.Sequential(nn.Linear(z_dim, cfg.z_proj), nn.ReLU()) if z_dim else None
        self.head = nn.Linear(width + (cfg.z_proj if z_dim else 0), 1)

    def hidden_rep(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """h_ui: the deep part's last hidden layer."""
        return self.mlp(torch.cat([self.e_user(users), self.e_item(items)], dim=-1))

    def forward(
        self, users: torch.Tensor, items: torch.Tensor, z: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits; z=None means the zero explanation vector."""
        eu, ei = self.e_user(users), self.e_item(items)
        first = self.bias + self.w_user(users).squeeze(-1) + self.w_item(items).squeeze(-1)
        second = (eu * ei).sum(-1)
        h = self.hidden_rep(users, items)
        if self.z_proj is not None:
            if z is None:
                z = torch.zeros(users.shape[0], self.z_dim, device=users.device)
            h = torch.cat([h, self.z_proj(z)], dim=-1)
        return first + second + self.head(h).squeeze(-1)


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
