"""ExpCTR reward functions (§4.2), pure tensor code so they can be tested on hand-computed values.

LC alignment (§4.2.2):
  eq. 8   s^u = exp(p_yes/T) / (exp(p_yes/T) + exp(p_no/T)): a softmax with temperature T over
          the frozen base LLM's first-token values of "Yes" and "No" on the CTR prompt.
          Which values? The paper calls p "the probability of the first generated token" and T
          "the temperature for softmax function". erbench reads p as the first token's logit
          (score_input="logit", default): a temperature softmax over logits is what T means,
          and at T=1 s^u = P(Yes) / (P(Yes) + P(No)), the score of TALLRec and of ICL, "which
          uses the same frozen LLM scorer" (§5.2), so ExpCTR-LLM and ICL differ only in the
          input the scorer reads. The literal reading (score_input="prob": p = probabilities in
          [0, 1]) squeezes s^u into sigmoid(P(Yes) - P(No)) ~ 0.5: SmolLM2-135M puts ~25% of
          its first-token mass on Yes/No, so untrained scores lie in [0.46, 0.51] (logit
          reading: [0.29, 0.60]) on 160 ML-100K test records, LogLoss stays at ~0.693, eq. 9's
          R_LC moves by hundredths, and ranking follows P(Yes) - P(No), i.e. how much mass the
          model puts on an answer word at all, not its Yes/No preference. It stays available
          as a named deviation.
  eq. 9   R_LC = 1 - |y - s^u|
  eq. 10  R_norm = clip((R - mean_batch R) / std_batch R, -delta, delta)
          (normalize_clip_per_record: the mean/std over the explanations sampled for one
          record instead, erbench's named option model.reward_norm=record; see there)
IC alignment (§4.2.3):
  eq. 11  z = MeanPooling(f_encoder(Z))                       (bench.encoders)
  eq. 12  s^r = f(Concat(h_ui, z)),  s~^r = the same with z = 0 (methods.expctr.deepfm)
  eq. 13  R_IC = 1 - |y - s^r| + |s^r - s~^r|, then eq. 10.
"""

from __future__ import annotations

import torch


def first_token_values(p_yes, p_no, reading: str = "logit") -> tuple[torch.Tensor, torch.Tensor]:
    """The p_pos / p_neg of eq. 8 from the first-token probabilities P(Yes), P(No): "logit"
    gives log P (= the logit minus one shared log-normaliser, which a softmax cancels),
    "prob" the probabilities themselves (the literal reading)."""
    p_yes = torch.as_tensor(p_yes, dtype=torch.float64)
    p_no = torch.as_tensor(p_no, dtype=torch.float64)
    if reading == "logit":
        return p_yes.clamp(min=1e-30).log(), p_no.clamp(min=1e-30).log()
    if reading == "prob":
        return p_yes, p_no
    raise ValueError(f"eq. 8 reading must be 'logit' or 'prob', got {reading!r}")


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


def normalize_clip_per_record(rewards: torch.Tensor, samples: int, delta: float) -> torch.Tensor:
    """Eq. 10 within each record's `samples` consecutive explanations (reward_norm=record).
    Over a batch of different records, R_LC = 1 - |y - s| varies mostly with the label y, which
    no explanation can change (the frozen scorer's s sits near its prior); within one record y
    is fixed, so what is left is how far the explanation moved s toward y."""
    r = torch.as_tensor(rewards, dtype=torch.float64)
    if samples < 1 or r.numel() % samples:
        raise ValueError(f"{r.numel()} rewards do not split into groups of {samples}")
    return torch.cat([normalize_clip(g, delta) for g in r.view(-1, samples)]) if r.numel() else r


def ic_reward(labels: torch.Tensor, s_with: torch.Tensor, s_without: torch.Tensor) -> torch.Tensor:
    """Eq. 13: R_IC = 1 - |y - s^r| + |s^r - s~^r|."""
    y = torch.as_tensor(labels, dtype=torch.float64)
    s = torch.as_tensor(s_with, dtype=torch.float64)
    s0 = torch.as_tensor(s_without, dtype=torch.float64)
    return 1.0 - (y - s).abs() + (s - s0).abs()
