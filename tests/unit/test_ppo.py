"""PPO objective of bench.adapters.ppo on hand-computed numbers, and one real update."""

from __future__ import annotations

import math

import pytest
import torch

from bench.adapters.ppo import (
    PPOConfig,
    gae,
    kl_per_token,
    policy_loss,
    response_mask_from,
    rloo_advantages,
    token_rewards,
    value_loss,
)
from bench.backbones.positions import padded_position_ids


def test_gae_three_steps_by_hand():
    # delta_t = r_t + gamma V_{t+1} - V_t ; A_t = delta_t + gamma*lam*A_{t+1}  (gamma=.9, lam=.5)
    # t=2: 1 - .7 = .3 ; t=1: .9*.7 - .6 = .03 -> .03 + .45*.3 = .165 ; t=0: .9*.6 - .5 = .04 -> .04 + .45*.165
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    values = torch.tensor([[0.5, 0.6, 0.7]])
    adv, ret = gae(rewards, values, torch.ones(1, 3), gamma=0.9, lam=0.5)
    assert adv.tolist()[0] == pytest.approx([0.11425, 0.165, 0.3])
    assert ret.tolist()[0] == pytest.approx([0.61425, 0.765, 1.0])


def test_gae_ignores_padding():
    # mask [1,1,0]: t=1: .5 - .3 = .2 ; t=0: .2 + .9*.3 - .1 = .37 -> .37 + .45*.2 = .46 ; pad -> 0
    rewards = torch.tensor([[0.2, 0.5, 9.0]])
    values = torch.tensor([[0.1, 0.3, 9.0]])
    adv, ret = gae(rewards, values, torch.tensor([[1, 1, 0]]), gamma=0.9, lam=0.5)
    assert adv.tolist()[0] == pytest.approx([0.46, 0.2, 0.0])
    assert ret.tolist()[0] == pytest.approx([0.56, 0.5, 0.0])


def test_clipped_surrogate_by_hand():
    old = torch.log(torch.full((1, 3), 0.5))
    new = old + torch.log(torch.tensor([[1.5, 0.5, 1.1]]))  # ratios 1.5, 0.5, 1.1
    adv = torch.tensor([[1.0, 1.0, -2.0]])
    loss, info = policy_loss(new, old, adv, torch.ones(1, 3), clip_eps=0.2)
    # token 0: max(-1.5, -1.2) = -1.2 (clipped); token 1: max(-0.5, -0.8) = -0.5; token 2: 2.2
    assert loss.item() == pytest.approx((-1.2 - 0.5 + 2.2) / 3)
    assert info["clipfrac"] == pytest.approx(1 / 3)
    # negative advantage, ratio below 1 - eps: the pessimistic (clipped) term wins
    loss2, _ = policy_loss(
        torch.log(torch.tensor([[0.25]])),
        torch.log(torch.tensor([[0.5]])),
        torch.tensor([[-1.0]]),
        torch.ones(1, 1),
        clip_eps=0.2,
    )
    assert loss2.item() == pytest.approx(0.8)


def test_surrogate_gradient_vanishes_when_clipped():
    old = torch.zeros(1, 1)
    new = torch.tensor([[math.log(1.5)]], requires_grad=True)
    loss, _ = policy_loss(new, old, torch.ones(1, 1), torch.ones(1, 1), clip_eps=0.2)
    loss.backward()
    assert new.grad.item() == 0.0


def test_kl_penalty_rewards_by_hand():
    logp = torch.tensor([[-1.0, -2.0, -0.5]])
    ref = torch.tensor([[-1.5, -1.0, -0.5]])
    # r_t = -beta (logp - ref) = [-.05, .1, 0], + score 2 on the last response token (eq. 7)
    r, kl = token_rewards(torch.tensor([2.0]), logp, ref, torch.ones(1, 3), beta=0.1)
    assert kl.tolist()[0] == pytest.approx([0.5, -1.0, 0.0])
    assert r.tolist()[0] == pytest.approx([-0.05, 0.1, 2.0])
    r2, _ = token_rewards(torch.tensor([2.0]), logp, ref, torch.tensor([[1, 1, 0]]), beta=0.1)
    assert r2.tolist()[0] == pytest.approx([-0.05, 2.1, 0.0])
    # k3 = exp(ref - logp) - 1 - (ref - logp): token 0 -> e^-0.5 - 0.5
    assert kl_per_token(logp, ref, "k3")[0, 0].item() == pytest.approx(math.exp(-0.5) - 0.5)


def test_value_loss_by_hand():
    # clipped value 0.5 + 0.2 = 0.7; max((1-2)^2, (0.7-2)^2) = 1.69 -> 0.5 * 1.69
    loss = value_loss(
        torch.tensor([[1.0]]), torch.tensor([[0.5]]), torch.tensor([[2.0]]), torch.ones(1, 1), 0.2
    )
    assert loss.item() == pytest.approx(0.845)


def test_response_mask_stops_after_first_eos():
    ids = torch.tensor([[5, 6, 2, 2, 2], [5, 2, 7, 2, 2], [5, 6, 7, 8, 9]])
    assert response_mask_from(ids, [2], None).tolist() == [
        [1, 1, 1, 0, 0],
        [1, 1, 0, 0, 0],
        [1, 1, 1, 1, 1],
    ]


def test_rloo_leave_one_out():
    assert rloo_advantages(torch.tensor([1.0, 2.0, 3.0]), 3).tolist() == pytest.approx(
        [-1.5, 0.0, 1.5]
    )


def test_ppo_config_defaults_follow_expctr():
    cfg = PPOConfig()
    assert (cfg.beta, cfg.lr, cfg.algorithm) == (0.05, 1e-5, "ppo")


@pytest.fixture(scope="module")
def tiny_policy():
    from bench.backbones import load_backbone
    from bench.backbones.lora import add_lora, lora_config

    bb = load_backbone("tiny-random", device="cpu", seed=0)
    model = add_lora(bb.model, lora_config(r=4, alpha=8, dropout=0.0))
    return model, bb.tokenizer


def test_ppo_step_changes_lora_and_value_head(tiny_policy):
    from bench.adapters.ppo import PPOTrainer
    from bench.backbones.generate import render_chat
    from bench.backbones.lora import lora_state

    model, tok = tiny_policy
    torch.manual_seed(0)
    trainer = PPOTrainer(
        model, tok, PPOConfig(lr=1e-3, max_new_tokens=6, minibatch_size=2, ppo_epochs=1)
    )
    prompts = [
        render_chat(tok, "Recommend a movie."),
        render_chat(tok, "Explain why in one sentence, please."),
    ]
    ro = trainer.rollout(prompts)
    # before any update: the policy equals the reference (LoRA B = 0) and the recomputed
    # log-probs equal the rollout's (ratio exactly 1 on the first minibatch)
    assert torch.allclose(ro.old_logp, ro.ref_logp, atol=1e-5)
    again, _ = trainer.forward(ro.query_ids, ro.query_mask, ro.response_ids, ro.response_mask)
    assert torch.allclose(again * ro.response_mask, ro.old_logp * ro.response_mask, atol=1e-4)
    before = lora_state(model)
    head_before = trainer.value_head.summary.weight.detach().clone()
    stats = trainer.step(ro, [1.0, -1.0])
    after = lora_state(model)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert not torch.equal(head_before, trainer.value_head.summary.weight)
    assert stats["score"] == pytest.approx(0.0)
    # after the update the policy has moved away from the reference
    ro2 = trainer.score_rollout(ro)
    assert not torch.allclose(ro2.old_logp, ro2.ref_logp, atol=1e-6)


def test_ppo_opening_ids_sample_and_score_the_first_token_over_the_allowed_ones(tiny_policy):
    from bench.adapters.ppo import PPOTrainer
    from bench.backbones.generate import render_chat

    model, tok = tiny_policy
    allowed = [tok.encode(w, add_special_tokens=False)[0] for w in ("Yes", "No")]
    torch.manual_seed(0)
    trainer = PPOTrainer(model, tok, PPOConfig(max_new_tokens=3, temperature=0.7, opening_ids=allowed))
    ro = trainer.rollout([render_chat(tok, "Will they like it?"), render_chat(tok, "Recommend a film.")])
    assert set(ro.response_ids[:, 0].tolist()) <= set(allowed)
    # the first position's probabilities of the two allowed tokens sum to 1 (renormalised), for
    # the policy and for the reference alike
    other = ro.response_ids.clone()
    other[:, 0] = torch.where(other[:, 0] == allowed[0], allowed[1], allowed[0])
    swapped, _ = trainer.forward(ro.query_ids, ro.query_mask, other, ro.response_mask, values=False)
    assert torch.allclose(ro.old_logp[:, 0].exp() + swapped[:, 0].exp(), torch.ones(2), atol=1e-5)
    with model.disable_adapter():
        swapped_ref, _ = trainer.forward(ro.query_ids, ro.query_mask, other, ro.response_mask, values=False)
    assert torch.allclose(ro.ref_logp[:, 0].exp() + swapped_ref[:, 0].exp(), torch.ones(2), atol=1e-5)


def test_ppo_checkpoint_roundtrip(tiny_policy, tmp_path):
    from bench.adapters.ppo import PPOTrainer
    from bench.backbones.lora import lora_state

    model, tok = tiny_policy
    trainer = PPOTrainer(model, tok, PPOConfig(lr=1e-3))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.add_(0.01)
    trainer.save(tmp_path)
    saved = lora_state(model)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_" in n:
                p.zero_()
    trainer.load(tmp_path)
    restored = lora_state(model)
    assert all(torch.allclose(saved[k], restored[k]) for k in saved)


def test_ppo_raises_reward_on_a_learnable_toy_task():
    """Training check: where the task is learnable, PPO raises the mean reward.

    An exact-token target is not learnable here: the tiny random Llama's tied embeddings
    (std 0.02) give logits of std ~0.16 over 49k tokens: at temperature 1 no token gets
    0.01% of the mass, and even at 0.1 every token but the copied last prompt token stays
    at ~0.2%, so rollouts would never hit the target and there would be nothing to learn from.
    The reward is therefore its dense, soft version: the fraction of response tokens in the
    half of the vocabulary whose embedding has a positive cosine with a target token's
    (base rate ~0.5). The policy can climb it by turning its last hidden state towards that
    embedding; sampling at temperature 0.1 makes the reachable rise large. Measured with
    10 steps of 32 rollouts over seeds 0-11 (LoRA init, value head, sampling): sampled reward,
    mean of the first 3 steps 0.44-0.56 -> last 3 steps 0.69-0.84, a rise of +0.15 to +0.35
    (seed 0, used here: 0.54 -> 0.69); exact expected first-token reward 0.42 -> 0.75-0.85
    (seeds 0-4; 0.78 for seed 0).
    """
    from bench.adapters.ppo import PPOTrainer
    from bench.api.threads import torch_threads
    from bench.backbones import load_backbone
    from bench.backbones.lora import add_lora, lora_config

    with torch_threads(1):  # a tiny model runs far faster on one thread on a shared CPU
        bb = load_backbone("tiny-random", device="cpu", seed=0)
        torch.manual_seed(0)  # LoRA A init, value head init and sampling
        model, tok = add_lora(bb.model, lora_config(r=4, alpha=8, dropout=0.0)), bb.tokenizer
        cfg = PPOConfig(lr=2e-2, temperature=0.1, max_new_tokens=2, minibatch_size=16)
        trainer = PPOTrainer(model, tok, cfg, seed=0)
        emb = model.get_input_embeddings().weight.detach()
        emb = emb / emb.norm(dim=1, keepdim=True)
        in_target_half = (emb @ emb[1014] > 0).float()  # 1014: an arbitrary target token
        base = ["Recommend a movie.", "Why this item?", "Tell me more.", "Hello"]

        def expected_first_token_reward() -> float:
            tok.padding_side = "left"
            enc = tok(base, return_tensors="pt", padding=True, add_special_tokens=False)
            pos = padded_position_ids(enc["attention_mask"])
            with torch.no_grad():
                logits = model(**enc, position_ids=pos).logits[:, -1].float()
            return ((logits / cfg.temperature).softmax(-1) @ in_target_half).mean().item()

        expected_before = expected_first_token_reward()
        rewards, kls = [], []
        for _ in range(10):
            ro = trainer.rollout(base * 8)
            m = ro.response_mask.float()
            scores = (in_target_half[ro.response_ids] * m).sum(1) / m.sum(1)
            stats = trainer.step(ro, scores)
            rewards.append(scores.mean().item())
            kls.append(stats["kl"])
        expected_after = expected_first_token_reward()
    assert all(math.isfinite(k) for k in kls)
    first, last = sum(rewards[:3]) / 3, sum(rewards[-3:]) / 3
    assert last > first + 0.1, rewards  # measured +0.15..+0.35 over seeds 0-11
    assert expected_before < 0.5 and expected_after > expected_before + 0.2


def test_ppo_update_steps_a_bar_with_the_batch_reward(tiny_policy):
    from bench.adapters.ppo import PPOTrainer
    from bench.api.progress import use_progress
    from bench.backbones.generate import render_chat
    from tests.helpers import RecordingSink

    model, tok = tiny_policy
    trainer = PPOTrainer(model, tok, PPOConfig(lr=1e-4, max_new_tokens=4, minibatch_size=1, ppo_epochs=2))
    ro = trainer.rollout([render_chat(tok, "Recommend a movie."), render_chat(tok, "Why?")])
    sink = RecordingSink()
    with use_progress(sink):
        stats = trainer.step(ro, [1.0, 0.5])
    [update] = sink.bars  # 2 epochs x 2 minibatches of one rollout
    assert (update.description, update.total, update.steps, update.closed) == ("PPO update", 4, 4, True)
    assert [s["reward"] for s in update.status] == [0.75] * 4
    shown = [s["policy_loss"] for s in update.status]
    assert sum(shown) / 4 == pytest.approx(stats["policy_loss"])
