"""How uncertain each Bradley-Terry difference is, for choosing which pair to show next.

Chatbot Arena (Chiang et al. 2024, §5 "active sampling") shows the model pairs whose score
difference is least certain. The variance here is the asymptotic one of the maximum-likelihood
fit (metrics.arena's θ, same comparisons, same prior):

    I = Σ_c p_c (1 - p_c) (e_w - e_l)(e_w - e_l)^T     Fisher information of the BT likelihood
    p_c = e^θw / (e^θw + e^θl)                           Bradley & Terry (1952)
    Var(θi - θj) = C_ii + C_jj - 2 C_ij,  C = I^+        (pseudo-inverse: θ is defined up to a shift)

choix's prior `alpha` enters as `alpha` pseudo-comparisons each way between every pair, so a
pair never shown has a finite, large variance rather than an infinite one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from metrics.arena import Battle, bradley_terry, comparisons


def pair_variances(n_models: int, battles: Sequence[Battle],
                   alpha: float = 0.01) -> dict[tuple[int, int], float]:  # fmt: skip
    """(i, j) with i < j -> Var(θi − θj) of the fitted model (module docstring)."""
    import numpy as np

    theta = bradley_terry(n_models, battles, alpha)
    info = np.zeros((n_models, n_models))

    def add(w: int, loser: int, weight: float) -> None:
        p = 1.0 / (1.0 + math.exp(theta[loser] - theta[w]))  # Bradley & Terry (1952)
        v = np.zeros(n_models)
        v[w], v[loser] = 1.0, -1.0
        info[:] += weight * p * (1 - p) * np.outer(v, v)  # one comparison's Fisher information

    for w, loser in comparisons(battles):
        add(w, loser, 1.0)
    for i in range(n_models):
        for j in range(n_models):
            if i != j:
                add(i, j, alpha)
    cov = np.linalg.pinv(info)
    return {
        (i, j): float(cov[i, i] + cov[j, j] - 2 * cov[i, j])  # Var(θi − θj)
        for i in range(n_models)
        for j in range(i + 1, n_models)
    }
