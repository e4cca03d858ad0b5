"""PPO for causal LMs with LoRA, written here because TRL no longer ships a PPO trainer.

TRL removed `PPOTrainer` in 1.13 and erbench pins trl==1.16.0, so this module implements the
update itself (InstructGPT-style RLHF PPO, Ouyang et al. 2022; Schulman et al. 2017):

  rollout   sample a response per prompt from the policy (base + LoRA), record the old
            log-probs, the reference log-probs (the same model with its adapters DISABLED,
            i.e. the frozen base, ExpCTR §4.3.1) and the value estimates;
  rewards   per token r_t = -beta * KL_t, plus the sequence score at the last response token
            (eq. 7 of ExpCTR: R(Z) - beta * log pi_RL / pi_init);
  GAE       advantages A_t = sum_l (gamma*lam)^l delta_{t+l}, delta_t = r_t + gamma V_{t+1} - V_t,
            returns = A + V;
  update    clipped surrogate  max(-A*ratio, -A*clip(ratio, 1-eps, 1+eps)) averaged over the
            response tokens, plus vf_coef * clipped value loss; `ppo_epochs` passes over
            minibatches; AdamW on the LoRA tensors and the value head.

The pure functions (gae, token_rewards, policy_loss, value_loss, kl_per_token) take tensors
and are unit-tested on hand-computed numbers; `PPOTrainer` wires them to a PEFT model.
`algorithm="rloo"` is offered as an explicit extra (sequence-level advantage = the KL-penalised
score minus the leave-one-out mean over the other rollouts of the batch, no value head; same
clipped surrogate) and is never used unless asked for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bench.api.progress import bar
from bench.backbones.positions import padded_position_ids


@dataclass
class PPOConfig:
    lr: float = 1e-5
    beta: float = 0.05  # KL penalty to the reference policy (ExpCTR default)
    clip_eps: float = 0.2  # policy ratio clip
    clip_value: float = 0.2  # value clip around the old value
    vf_coef: float = 0.1
    gamma: float = 1.0
    lam: float = 0.95
    ppo_epochs: int = 2  # optimisation passes over one rollout batch
    minibatch_size: int = 4
    max_new_tokens: int = 48
    temperature: float = 1.0  # sampling temperature; log-probs use the same scaling
    top_k: int = 0  # 0: full distribution (the ratio is then exact)
    top_p: float = 1.0
    whiten_advantages: bool = True
    max_grad_norm: float = 1.0
    kl_estimator: str = "k1"  # "k1": logp - ref_logp (TRL's default); "k3": unbiased, >= 0
    algorithm: str = "ppo"  # "ppo" (value head + GAE) or "rloo" (explicit opt-in)
    max_prompt_tokens: int | None = 512
    # allowed first response tokens (None: any): sampled from the policy renormalised over them,
    # and the first position's log-probs (policy and reference) use the same renormalisation
    opening_ids: list[int] | None = None
    # run each prompt's work once per step (issue #26): one prefill for sampling and the first
    # minibatch, the prompts' common opening once, old log-probs from that minibatch's forward,
    # the frozen reference's opening kept across steps. False: every pass runs in full (the
    # earlier code path; same values up to float summation order, kept for tests and benchmarks)
    share_prompt_work: bool = True


# -- pure functions of the objective ---------------------------------------------------------


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    mask = mask.to(x.dtype)
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1.0)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1.0)


def masked_whiten(
    x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True, all_sum: Any = None
) -> torch.Tensor:
    """(x - mean) / std over the masked entries (population variance), as in TRL. With
    `all_sum` (sum over the processes of a launched run) the statistics are those of the
    whole batch, not of this process's rows."""
    total = all_sum or (lambda t: t)
    maskf = mask.to(x.dtype)
    count = total(maskf.sum()).clamp(min=1.0)
    mean = total((x * maskf).sum()) / count
    var = total((((x - mean) ** 2) * maskf).sum()) / count
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        out = out + mean
    return out * mask.to(x.dtype)


def kl_per_token(logp: torch.Tensor, ref_logp: torch.Tensor, estimator: str = "k1") -> torch.Tensor:
    """Per-token estimate of KL(pi || pi_ref) on tokens sampled from pi."""
    log_ratio = logp - ref_logp
    if estimator == "k1":
        return log_ratio
    if estimator == "k3":
        return torch.exp(-log_ratio) - 1.0 + log_ratio
    raise ValueError(f"unknown kl_estimator {estimator!r} (k1 or k3)")


def last_index(mask: torch.Tensor) -> torch.Tensor:
    """Index of the last 1 in each row of a right-padded mask (0 for an empty row)."""
    return (mask.long().sum(1) - 1).clamp(min=0)


def token_rewards(
    scores: torch.Tensor,
    logp: torch.Tensor,
    ref_logp: torch.Tensor,
    mask: torch.Tensor,
    beta: float,
    estimator: str = "k1",
) -> tuple[torch.Tensor, torch.Tensor]:
    """r_t = -beta * KL_t on every response token, + score on the last one (eq. 7).

    Returns (rewards, kl), both (B, T) and zero on padding.
    """
    maskf = mask.to(logp.dtype)
    kl = kl_per_token(logp, ref_logp, estimator) * maskf
    rewards = -beta * kl
    rows = torch.arange(scores.shape[0], device=scores.device)
    rewards[rows, last_index(mask)] += scores.to(rewards.dtype)
    return rewards * maskf, kl


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over a right-padded (B, T) batch.

    delta_t = r_t + gamma * V_{t+1} - V_t (V past the end = 0), A_t = delta_t + gamma*lam*A_{t+1}.
    Returns (advantages, returns = advantages + values), zero on padding.
    """
    maskf = mask.to(values.dtype)
    values = values * maskf
    rewards = rewards * maskf
    T = rewards.shape[1]
    last = torch.zeros_like(rewards[:, 0])
    advs = []
    for t in reversed(range(T)):
        next_value = values[:, t + 1] if t + 1 < T else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = (delta + gamma * lam * last) * maskf[:, t]
        advs.append(last)
    advantages = torch.stack(advs[::-1], dim=1)
    return advantages, (advantages + values) * maskf


def policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Clipped surrogate: mean over tokens of max(-A*ratio, -A*clip(ratio, 1-eps, 1+eps))."""
    ratio = torch.exp(logp - old_logp)
    pg1 = -advantages * ratio
    pg2 = -advantages * torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    loss = masked_mean(torch.maximum(pg1, pg2), mask)
    with torch.no_grad():
        clipfrac = masked_mean((pg2 > pg1).to(logp.dtype), mask).item()
        approx_kl = masked_mean(0.5 * (logp - old_logp) ** 2, mask).item()
    return loss, {
        "clipfrac": clipfrac,
        "approx_kl": approx_kl,
        "ratio": masked_mean(ratio.detach(), mask).item(),
    }


def value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip_value: float,
) -> torch.Tensor:
    """0.5 * mean over tokens of max((V - R)^2, (V_clipped - R)^2)."""
    clipped = old_values + torch.clamp(values - old_values, -clip_value, clip_value)
    return 0.5 * masked_mean(torch.maximum((values - returns) ** 2, (clipped - returns) ** 2), mask)


def rloo_advantages(scores: torch.Tensor, group: int) -> torch.Tensor:
    """Leave-one-out baseline: A_i = s_i - mean_{j != i} s_j within groups of `group` samples
    of the same prompt (consecutive rows)."""
    s = scores.view(-1, group)
    baseline = (s.sum(1, keepdim=True) - s) / max(1, group - 1)
    return (s - baseline).view(-1)


# -- the trainer -------------------------------------------------------------------------------


class ValueHead(nn.Module):
    """Scalar value per position from the policy's last hidden state."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.summary = nn.Linear(hidden_size, 1)
        nn.init.normal_(self.summary.weight, std=1.0 / (hidden_size + 1))
        nn.init.zeros_(self.summary.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.summary(hidden.to(self.summary.weight.dtype)).squeeze(-1)


@dataclass
class Rollout:
    prompts: list[str]
    query_ids: torch.Tensor  # (B, Q) left-padded
    query_mask: torch.Tensor
    response_ids: torch.Tensor  # (B, T) right-padded, EOS included
    response_mask: torch.Tensor
    texts: list[str]
    old_logp: torch.Tensor | None = None
    ref_logp: torch.Tensor | None = None
    old_values: torch.Tensor | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def response_mask_from(
    ids: torch.Tensor, eos_ids: Sequence[int], pad_id: int | None
) -> torch.Tensor:
    """1 up to and including the first EOS of each row; pad after it."""
    is_eos = torch.zeros_like(ids, dtype=torch.bool)
    for e in eos_ids:
        is_eos |= ids == e
    # positions strictly after the first eos are padding
    after = torch.cumsum(is_eos.long(), dim=1) - is_eos.long()
    mask = (after == 0).long()
    if pad_id is not None and pad_id not in eos_ids:
        mask = mask * (ids != pad_id).long()
    return mask


class PPOTrainer:
    """PPO on a PEFT (LoRA) causal LM; the reference policy is the same model with its
    adapters disabled, so one base model serves as policy, reference and (for ExpCTR) the
    frozen LC scorer.

    Data-parallel in a launched run (bench.api.distributed): each process rolls out its own rows
    of the batch and `step(..., rows=(offset, total))` says which; the minibatches are drawn
    over the whole batch, each process's loss is weighted by its share of the minibatch's
    tokens and the gradients are summed, so the update is the one-process update of the
    whole batch (up to float rounding) whatever the number of processes.
    """

    def __init__(
        self, model: Any, tokenizer: Any, config: PPOConfig | None = None, *, seed: int = 0
    ):
        self.model = model
        self.tok = tokenizer
        self.cfg = config or PPOConfig()
        if self.cfg.algorithm not in ("ppo", "rloo"):
            raise ValueError(f"unknown algorithm {self.cfg.algorithm!r} (ppo or rloo)")
        self.seed = seed
        self.device = next(model.parameters()).device
        hidden = (
            model.config.hidden_size
            if hasattr(model, "config")
            else model.base_model.config.hidden_size
        )
        self.value_head = ValueHead(hidden).to(self.device)
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("the policy has no trainable parameters (add LoRA adapters first)")
        self.policy_params = params
        from bench.api.distributed import world

        self.group = world()
        if self.group.size > 1 and self.cfg.algorithm == "rloo":
            raise ValueError("algorithm=rloo runs in one process (its baseline needs the whole batch)")
        self.group.sync_parameters(params + list(self.value_head.parameters()))  # as DDP does
        self.optimizer = torch.optim.AdamW(
            [{"params": params}, {"params": list(self.value_head.parameters())}], lr=self.cfg.lr
        )
        self.steps = 0
        # the reference (adapters off) is frozen when nothing outside the adapters trains: its
        # keys/values of the prompts' common opening are then kept across steps
        from bench.backbones.common_prefix import PrefixStore

        frozen = all("lora_" in n or not p.requires_grad for n, p in model.named_parameters())
        self.reference_prefixes = PrefixStore() if frozen and self.cfg.share_prompt_work else None
        eos = tokenizer.eos_token_id
        self.eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
        self.pad_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_ids[0]
        )

    # -- model passes -------------------------------------------------------------------------

    def _encode_prompts(self, prompts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        from bench.backbones.generate import encode_prompts, left_pad

        rows = encode_prompts(self.tok, prompts, self.cfg.max_prompt_tokens)
        return left_pad(rows, self.pad_id, self.device)

    @torch.no_grad()
    def generate(self, prompts: Sequence[str]) -> Rollout:
        """Sample one response per (already chat-rendered) prompt from the current policy,
        through the shared generation helper (bench.backbones.generate)."""
        from bench.backbones.generate import generate_batch, generation_kwargs

        if not prompts:  # a process whose share of a small batch is empty
            empty = torch.zeros((0, 1), dtype=torch.long, device=self.device)
            return Rollout([], empty, empty, empty, empty, [])
        from bench.backbones.prompt_prefill import prefill_prompts

        q_ids, q_mask = self._encode_prompts(prompts)
        self.model.eval()
        kwargs = generation_kwargs(
            max_new_tokens=self.cfg.max_new_tokens, do_sample=True, temperature=self.cfg.temperature,
            top_k=self.cfg.top_k, top_p=self.cfg.top_p, pad_id=self.pad_id, eos_ids=self.eos_ids,
        )  # fmt: skip
        # the prompts run once (bench.backbones.prompt_prefill): sampling and the old log-probs
        # of the rows outside the first minibatch continue from that prefill; when the first
        # minibatch holds every row, it runs with autograd on and that minibatch's forward too
        keep = self.group.size == 1 and self.cfg.minibatch_size >= len(prompts)
        pre = prefill_prompts(self.model, q_ids, q_mask, grad=keep) if self.cfg.share_prompt_work else None
        if pre is None:
            r_ids = generate_batch(self.model, q_ids, q_mask, opening_ids=self.cfg.opening_ids, **kwargs)
        else:
            r_ids = generate_batch(self.model, pre.ids, pre.mask, opening_ids=self.cfg.opening_ids,
                                   cache=pre.cache(detach=True), **kwargs)  # fmt: skip
        if r_ids.shape[1] == 0:  # nothing generated at all: one EOS per row
            r_ids = torch.full((q_ids.shape[0], 1), self.eos_ids[0], device=self.device)
        r_mask = response_mask_from(r_ids, self.eos_ids, None)
        r_ids = torch.where(r_mask.bool(), r_ids, torch.full_like(r_ids, self.pad_id))
        texts = self.tok.batch_decode(
            r_ids * r_mask + self.pad_id * (1 - r_mask), skip_special_tokens=True
        )
        ro = Rollout(list(prompts), q_ids, q_mask, r_ids, r_mask, [t.strip() for t in texts])
        if pre is not None:  # (None when share_prompt_work is off) used, then dropped, by step
            ro.extras["prefill"] = (pre, keep)
        return ro

    def forward(
        self,
        q_ids: torch.Tensor,
        q_mask: torch.Tensor,
        r_ids: torch.Tensor,
        r_mask: torch.Tensor,
        *,
        values: bool = True,
        store: Any = None,
        prefill: tuple[Any, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Log-probs (B, T) of the response tokens under the current model (temperature-scaled
        as when sampling) and, with values=True, the value of the state before each token.
        `store`: a PrefixStore (bench.backbones.common_prefix), for a frozen model only.
        `prefill`: (PromptPrefill of the current weights, rows): the prompts' keys and values
        are taken from it, and only the last prompt token and the response run."""
        T = r_ids.shape[1]
        if prefill is not None:
            pre, rows = prefill
            attn = torch.cat([pre.mask[rows], r_mask], dim=1)
            pos = padded_position_ids(attn)[:, pre.mask.shape[1] - 1 :]
            out = self.model(
                input_ids=torch.cat([pre.ids[rows, -1:], r_ids], dim=1), attention_mask=attn,
                position_ids=pos, cache=pre.cache(rows), use_cache=True, output_hidden_states=values,
                logits_to_keep=T + 1,
            )  # fmt: skip
            return self._logp_values(out, r_ids, values)
        if not self.cfg.share_prompt_work:
            ids = torch.cat([q_ids, r_ids], dim=1)
            attn = torch.cat([q_mask, r_mask], dim=1)
            pos = padded_position_ids(attn)
            out = self.model(
                input_ids=ids, attention_mask=attn, position_ids=pos, output_hidden_states=values,
                logits_to_keep=T + 1, use_cache=False,
            )  # fmt: skip
            return self._logp_values(out, r_ids, values)
        from bench.backbones.common_prefix import forward_sharing_prefix, starts

        first = int(starts(q_mask).min()) if q_mask.shape[0] else 0  # padding no row needs
        q_ids, q_mask = q_ids[:, first:], q_mask[:, first:]
        ids = torch.cat([q_ids, r_ids], dim=1)
        attn = torch.cat([q_mask, r_mask], dim=1)
        # the prompts' common opening (chat system turn, instructions) runs once; the frozen
        # reference keeps its keys/values across steps (store)
        limit = int(q_mask.sum(1).min()) - 1 if q_mask.shape[0] else 0
        out = forward_sharing_prefix(
            self.model, ids, attn, limit=limit, store=store, output_hidden_states=values,
            logits_to_keep=T + 1, use_cache=False,
        )  # fmt: skip
        return self._logp_values(out, r_ids, values)

    def _logp_values(
        self, out: Any, r_ids: torch.Tensor, values: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The response's log-probs and values from a forward's output (its last T+1 positions)."""
        T = r_ids.shape[1]
        logits = out.logits[:, -(T + 1) : -1, :].float() / self.cfg.temperature
        if self.cfg.opening_ids:  # the distribution the first token was sampled from
            from bench.backbones.generate import opening_mask

            logits = torch.cat([opening_mask(logits[:, 0], self.cfg.opening_ids)[:, None], logits[:, 1:]], dim=1)
        logp = torch.log_softmax(logits, dim=-1).gather(-1, r_ids.unsqueeze(-1)).squeeze(-1)
        v = None
        if values:
            hidden = out.hidden_states[-1][:, -(T + 1) : -1, :]
            v = self.value_head(hidden).float()
        return logp, v

    @torch.no_grad()
    def score_rollout(self, ro: Rollout) -> Rollout:
        """Fill old log-probs, values and reference log-probs (adapters disabled)."""
        if ro.response_ids.shape[0] == 0:
            ro.old_logp = ro.ref_logp = ro.old_values = torch.zeros(ro.response_ids.shape, device=self.device)
            return ro
        self.model.eval()
        ro.old_logp, ro.old_values = self.forward(
            ro.query_ids, ro.query_mask, ro.response_ids, ro.response_mask
        )
        self._reference(ro)
        return ro

    @torch.no_grad()
    def _reference(self, ro: Rollout) -> None:
        """ro.ref_logp: the response's log-probs with the adapters disabled (the frozen base)."""
        self.model.eval()
        with self.model.disable_adapter():
            ro.ref_logp, _ = self.forward(
                ro.query_ids, ro.query_mask, ro.response_ids, ro.response_mask, values=False,
                store=self.reference_prefixes,
            )  # fmt: skip

    def _score_with_first_minibatch(
        self, ro: Rollout, idx: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """score_rollout, with the rows of the first minibatch (`idx`) forwarded with autograd
        on: before the first optimizer step their old log-probs and values ARE the update's, so
        that forward is not run twice. Returns its (log-probs, values) graph (None: no rows)."""
        self.model.eval()
        if ro.response_ids.shape[0] == 0:
            self.score_rollout(ro)
            return None
        old_logp = torch.zeros(ro.response_ids.shape, device=self.device)
        old_values = torch.zeros(ro.response_ids.shape, device=self.device)
        rest = torch.ones(ro.response_ids.shape[0], dtype=torch.bool, device=self.device)
        rest[idx] = False
        pre, with_graph = ro.extras.pop("prefill", (None, False))
        if rest.any():  # the prompts' keys/values from the rollout's prefill: same weights
            with torch.no_grad():
                old_logp[rest], old_values[rest] = self.forward(
                    ro.query_ids[rest], ro.query_mask[rest], ro.response_ids[rest], ro.response_mask[rest],
                    prefill=(pre, rest) if pre is not None else None,
                )  # fmt: skip
        graph = None
        if len(idx):
            logp, values = self.forward(
                ro.query_ids[idx], ro.query_mask[idx], ro.response_ids[idx], ro.response_mask[idx],
                prefill=(pre, idx) if with_graph else None,
            )  # fmt: skip
            old_logp[idx], old_values[idx] = logp.detach(), values.detach()  # type: ignore[union-attr]
            graph = (logp, values)
        ro.old_logp, ro.old_values = old_logp, old_values
        self._reference(ro)
        return graph

    def rollout(self, prompts: Sequence[str]) -> Rollout:
        return self.score_rollout(self.generate(prompts))

    # -- the update ---------------------------------------------------------------------------

    def step(
        self, ro: Rollout, scores: torch.Tensor | Sequence[float], *, rows: tuple[int, int] | None = None
    ) -> dict[str, float]:
        """One PPO update on a scored rollout; `scores` are the (already normalised) sequence
        rewards R(Z). `rows=(offset, total)`: in a launched run, this process holds rows
        offset.. of a batch of `total` (default: all of it). Returns mean statistics of the step."""
        cfg, group = self.cfg, self.group
        B = ro.response_ids.shape[0]
        offset, total = rows or (0, B)
        gen = torch.Generator().manual_seed(self.seed + self.steps)
        orders = [torch.randperm(total, generator=gen) for _ in range(cfg.ppo_epochs)]

        def mine(chosen: torch.Tensor) -> torch.Tensor:  # this process's rows of a minibatch
            return (chosen[(chosen >= offset) & (chosen < offset + B)] - offset).to(self.device)

        first = None  # the first minibatch's forward, taken while scoring the rollout
        if ro.old_logp is None and not cfg.share_prompt_work:
            self.score_rollout(ro)
        elif ro.old_logp is None:
            first = self._score_with_first_minibatch(ro, mine(orders[0][: cfg.minibatch_size]))
        ro.extras.pop("prefill", None)  # its graph is no longer needed
        scores = torch.as_tensor(scores, dtype=torch.float32, device=self.device)
        mask = ro.response_mask
        maskf = mask.float()
        rewards, kl = token_rewards(
            scores, ro.old_logp, ro.ref_logp, mask, cfg.beta, cfg.kl_estimator
        )
        if cfg.algorithm == "ppo":
            advantages, returns = gae(rewards, ro.old_values, mask, cfg.gamma, cfg.lam)
        else:  # rloo: sequence-level leave-one-out advantage of (score - beta * KL_sum)
            seq = rewards.sum(1)
            adv_seq = rloo_advantages(seq, group=seq.shape[0])
            advantages = adv_seq[:, None] * maskf
            returns = advantages
        if cfg.whiten_advantages and group.all_sum(maskf.sum()) > 1:
            advantages = masked_whiten(advantages, mask, all_sum=group.all_sum)
        stats: dict[str, list[float]] = {
            "policy_loss": [],
            "value_loss": [],
            "clipfrac": [],
            "approx_kl": [],
        }
        self.model.eval()  # no dropout: the ratio is exactly 1 on the first minibatch
        reward = (group.all_sum(scores.sum()) / max(1, total)).item()  # shown beside the bar
        trained = self.policy_params + list(self.value_head.parameters())
        updates = cfg.ppo_epochs * -(-total // cfg.minibatch_size)
        last_pg = 0.0
        with bar(f"{cfg.algorithm.upper()} update", updates) as advance:
            for order in orders:
                for start in range(0, total, cfg.minibatch_size):
                    idx = mine(order[start : start + cfg.minibatch_size])
                    m = mask[idx]
                    # this process's share of the minibatch's tokens (1 in one process)
                    tokens = m.sum().float()
                    share = tokens / group.all_sum(tokens).clamp(min=1.0)
                    self.optimizer.zero_grad(set_to_none=True)
                    if len(idx):
                        if first is not None:  # the policy has not moved since it was scored
                            logp, values = first
                            first = None
                        else:
                            logp, values = self.forward(
                                ro.query_ids[idx], ro.query_mask[idx], ro.response_ids[idx], m,
                                values=cfg.algorithm == "ppo",
                            )  # fmt: skip
                        pg, info = policy_loss(logp, ro.old_logp[idx], advantages[idx], m, cfg.clip_eps)
                        loss = pg
                        if cfg.algorithm == "ppo":
                            vl = value_loss(values, ro.old_values[idx], returns[idx], m, cfg.clip_value)
                            loss = loss + cfg.vf_coef * vl
                            stats["value_loss"].append(vl.item())
                        (loss * share).backward()
                        last_pg = pg.item()
                        stats["policy_loss"].append(last_pg)
                        stats["clipfrac"].append(info["clipfrac"])
                        stats["approx_kl"].append(info["approx_kl"])
                    group.sum_gradients(trained)
                    if cfg.max_grad_norm:
                        torch.nn.utils.clip_grad_norm_(trained, cfg.max_grad_norm)
                    self.optimizer.step()
                    advance(1, reward=reward, policy_loss=last_pg)
        self.steps += 1
        lengths = maskf.sum(1)
        out = {k: (sum(v) / len(v) if v else 0.0) for k, v in stats.items()}
        out.update(
            score=reward,
            kl=(kl.sum(1)).mean().item() if B else 0.0,
            reward_total=rewards.sum(1).mean().item() if B else 0.0,
            response_len=lengths.mean().item() if B else 0.0,
        )
        return out

    # -- checkpoints --------------------------------------------------------------------------

    def save(self, folder: str | Path) -> None:
        """LoRA adapter (PEFT format) + value head + optimizer state + config."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(folder / "adapter"))
        torch.save(self.value_head.state_dict(), folder / "value_head.pt")
        torch.save(self.optimizer.state_dict(), folder / "optimizer.pt")
        (folder / "ppo.json").write_text(
            json.dumps({"config": asdict(self.cfg), "steps": self.steps}, indent=2)
        )

    def load(self, folder: str | Path) -> None:
        """Restore a checkpoint written by `save` into this trainer's (same-shaped) model."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        folder = Path(folder)
        adapter = folder / "adapter"
        weights = adapter / "adapter_model.safetensors"
        if weights.exists():
            state = load_file(str(weights), device=str(self.device))
        else:
            state = torch.load(
                adapter / "adapter_model.bin", map_location=self.device, weights_only=True
            )
        set_peft_model_state_dict(self.model, state)
        self.value_head.load_state_dict(
            torch.load(folder / "value_head.pt", map_location=self.device, weights_only=True)
        )
        opt = folder / "optimizer.pt"
        if opt.exists():
            self.optimizer.load_state_dict(
                torch.load(opt, map_location=self.device, weights_only=True)
            )
        meta = json.loads((folder / "ppo.json").read_text())
        self.steps = int(meta.get("steps", 0))
