"""ExpCTR reward functions (§4.2), pure tensor code so they can be tested on hand-computed values.

LC alignment (§4.2.2):
  eq. 8   s^u = exp(p_yes/T) / (exp(p_yes/T) + exp(p_no/T)),  p_* = probability of the first
          generated token being "Yes" / "No" under the frozen base LLM on the CTR prompt;
          (score_input="logit" uses the first-token logits instead of the probabilities; at
          T=1 that equals P(Yes)/(P(Yes)+P(No)), the TALLRec/ICL score)
  eq. 9   R_LC = 1 - |y - s^u|
  eq. 10  R_norm = clip((R - mean_batch R) / std_batch R, -delta, delta)
IC alignment (§4.2.3):
  eq. 11  z = MeanPooling(f_encoder(Z))                       (bench.encoders)
  eq. 12  s^r = f(Concat(h_ui, z)),  s~^r = the same with z = 0 (methods.expctr.deepfm)
  eq. 13  R_IC = 1 - |y - s^r| + |s^r - s~^r|, then eq. 10.
"""

from __future__ import annotations

import torch


def lc_score(p_yes: torch.Tensor, p_no: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Eq. 8: temperature softmax over the two first-token values, probability of "Yes"."""
    p_yes = torch.as_tensor(p_yes, dtype=torch.float64)
    p_no = torch.as_tensor(p_no, dtype=torch.float64)
    return torch.sigmoid((p_yes - p_no) / temperature)


def lc_reward(labels: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Eq. 9: R_LC = 1 - |y - s|."""
    labels = torch.as_tensor(labels, dtype=torch.float64)
    return 1.0 - (labels - torch.as_tensor(scores, dtype=torch.float64)).abs()


def normalize_clip(rewards: torch.Tensor, delta: float, eps: float = 1e-8) -> torch.Tensor:
    """Eq. 10: batch z-score (population std) clipped to [-delta, delta]; a batch with no
    spread (or of one) gets zeros."""
    r = torch.as_tensor(rewards, dtype=torch.float64)
    if r.numel() < 2:
        return torch.zeros_like(r)
    std = r.std(unbiased=False)
    if std < eps:
        return torch.zeros_like(r)
    return torch.clamp((r - r.mean()) / std, -delta, delta)


def ic_reward(labels: torch.Tensor, s_with: torch.Tensor, s_without: torch.Tensor) -> torch.Tensor:
    """Eq. 13: R_IC = 1 - |y - s^r| + |s^r - s~^r|."""
    y = torch.as_tensor(labels, dtype=torch.float64)
    s = torch.as_tensor(s_with, dtype=torch.float64)
    s0 = torch.as_tensor(s_without, dtype=torch.float64)
    return 1.0 - (y - s).abs() + (s - s0).abs()
