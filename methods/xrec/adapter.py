"""XRec's collaborative information adapter: a mixture of parametric-whitening experts.

XRec Fig. 1 (ii), the "Collaborative Information Adapter"; code: HKUDS/XRec
explainer/models/explainer.py (PWLayer, MoEAdaptorLayer). It maps one collaborative
embedding x (LightGCN, 64 dims) to the LLM's hidden size:

    expert k   E_k(x) = W_k (dropout(x) - b_k)                      (parametric whitening)
    gate       g(x) = softmax(x W_g + eps * (softplus(x W_n) + 0.01)),  eps ~ N(0, I)
               (the noise term only while training and with noisy gating on)
    output     a(x) = sum_k g_k(x) E_k(x)

Initialisation as XRec's: W_k ~ N(0, 0.02^2), b_k = 0, W_g = W_n = 0 (uniform gates at first).
XRec has one adapter for users and one for items, 8 experts each, dropout 0.2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NOISE_FLOOR = 0.01  # XRec's noise_epsilon: the smallest gate-noise std


class WhiteningExpert(nn.Module):
    """E(x) = W (dropout(x) - b): subtract a learned bias, then a linear map without bias."""

    def __init__(self, in_dim: int, out_dim: int, dropout: float = 0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.bias = nn.Parameter(torch.zeros(in_dim))
        self.linear = nn.Linear(in_dim, out_dim, bias=False)
        nn.init.normal_(self.linear.weight, mean=0.0, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(x) - self.bias)  # W_k (dropout(x) - b_k)


class MoEAdapter(nn.Module):
    """a(x) = sum_k softmax-gate_k(x) * E_k(x) over `experts` whitening experts."""

    def __init__(self, in_dim: int, out_dim: int, experts: int = 8, dropout: float = 0.2, noisy_gating: bool = True):
        super().__init__()
        self.experts = nn.ModuleList(WhiteningExpert(in_dim, out_dim, dropout) for _ in range(experts))
        self.gate = nn.Parameter(torch.zeros(in_dim, experts))  # W_g
        self.noise = nn.Parameter(torch.zeros(in_dim, experts))  # W_n
        self.noisy_gating = noisy_gating

    def gates(self, x: torch.Tensor) -> torch.Tensor:
        """(..., experts) mixing weights; noisy only in training mode."""
        logits = x @ self.gate  # x W_g
        if self.noisy_gating and self.training:
            std = F.softplus(x @ self.noise) + NOISE_FLOOR  # softplus(x W_n) + 0.01
            logits = logits + torch.randn_like(logits) * std
        return torch.softmax(logits, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = torch.stack([expert(x) for expert in self.experts], dim=-2)  # (..., K, out)
        return (self.gates(x).unsqueeze(-1) * outputs).sum(dim=-2)  # sum_k g_k E_k(x)


class CollaborativeAdapters(nn.Module):
    """The trainable part of XRec: one MoE adapter for user embeddings, one for items."""

    def __init__(self, in_dim: int, hidden_size: int, experts: int = 8, dropout: float = 0.2, noisy_gating: bool = True):
        super().__init__()
        self.user = MoEAdapter(in_dim, hidden_size, experts, dropout, noisy_gating)
        self.item = MoEAdapter(in_dim, hidden_size, experts, dropout, noisy_gating)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """(B, 2, hidden): the adapted user and item vector of each row, in slot order."""
        return torch.stack([self.user(users), self.item(items)], dim=1)
