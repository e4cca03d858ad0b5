"""One ExpCTR PPO step (rollout, reward, old/reference log-probs and values, the update) with
every pass run in full (`PPOConfig.share_prompt_work=False`, the earlier code path, and the LC
scorer called as before) against the step that runs each prompt's work once (the default:
bench/backbones/prompt_prefill.py, common_prefix.py, the LC digest cache), in one process on
the same records at the same seed, interleaved A-B-B-A (benchmarks/abba.py).

    ERBENCH_DATA_DIR=... python benchmarks/bench_ppo_step.py [--profile tiny] [--stage lc]
        [--rounds 2] [--threads 1]

The method is set up as `bench run --method expctr --dataset ml-100k --profile P` sets it up
(SmolLM2-135M, LoRA, the DeepFM pretrained for the IC reward); the step is that of
`ExpCTR._train_ppo` on the profile's first `batch_size` RL records. One step of the new path
runs first (the LoRA leaves zero, and the frozen models' stored openings are filled, as after
any first step of a run); before every timed call the LoRA, value heads, optimizer states and
step counters are restored and the LC digest cache and encoder cache are emptied, so each
call does a whole step. Prints the ratios, the CPU seconds of each phase per side, whether
both sides sampled the same explanations, and the largest differences of the rewards, the
step's statistics and the LoRA weights after the step.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from abba import abba  # noqa: E402


def setup(profile: str, stage: str):
    """An ExpCTR method ready to run PPO steps (the part of fit before the first stage)."""
    from baselines.llm_ctr import domain_for
    from bench import data
    from bench import python_api as erbench
    from bench.api.run_folder import RunContext
    from bench.runner import validate
    from methods.expctr.method import ExpCTR, rl_sample

    cfg = erbench.config("expctr", "ml-100k", profile=profile)
    params = validate(cfg).params
    loaded = data.load_dataset(cfg.dataset, cfg.data, seed=cfg.seed)
    splits = data.make_splits(loaded, cfg.data, cfg.seed)
    m = ExpCTR(params, RunContext(Path(tempfile.mkdtemp()), cfg, quiet=True))
    m._check_params()
    m.domain = domain_for(cfg.dataset, params.item_domain)
    labelled = [r for r in splits.train if r.label is not None]
    m.rl_records = rl_sample(labelled, params.train_records, cfg.seed)
    m.ctr_train = labelled if params.ctr_records == "all" else m.rl_records
    m.explanations, m.global_step = {}, 0
    m._setup_llm()
    m._setup_ctr(labelled)
    if stage == "ic":  # the IC reward reads the DeepFM
        m._train_ctr_pretrain(Path(tempfile.mkdtemp()))
    return m, params


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="tiny")
    ap.add_argument("--stage", choices=["lc", "ic"], default="lc")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import torch

    from bench.adapters.ppo import PPOTrainer
    from bench.backbones.answer_scoring import first_token_probs
    from bench.backbones.generate import render_chat
    from bench.backbones.lora import lora_state
    from methods.expctr.prompts import ctr_prompt, explanation_prompt
    from methods.expctr.rewards import first_token_values, lc_reward, lc_score, normalize_clip

    torch.set_num_threads(args.threads)
    m, p = setup(args.profile, args.stage)
    new = m.trainer
    old = PPOTrainer(m.model, m.tok, replace(new.cfg, share_prompt_work=False), seed=m.run.seed)
    records = m.rl_records[: p.batch_size]
    prompts = [
        render_chat(m.tok, explanation_prompt(r, m.domain, p.prompt_history)) for r in records
    ]
    labels = torch.tensor([float(r.label) for r in records], dtype=torch.float64)

    def old_lc(texts: list[str]):  # ExpCTR._lc_scores before the digest cache and stored opening
        ctr = [
            render_chat(m.tok, ctr_prompt(e, r, m.domain))
            for r, e in zip(records, texts, strict=True)
        ]
        with m.model.disable_adapter():
            p_yes, p_no = first_token_probs(m.model, m.tok, ctr, m.yes_ids, m.no_ids,
                                            batch_size=p.score_batch_size, max_prompt_tokens=p.max_prompt_tokens)  # fmt: skip
        return lc_reward(
            labels, lc_score(*first_token_values(p_yes, p_no, p.lc_score_input), p.lc_temperature)
        )

    phases: dict[str, dict[str, list[float]]] = {"full": {}, "shared": {}}

    def step(trainer: PPOTrainer, side: str):
        def timed(name, fn):
            c = time.process_time()
            out = fn()
            phases[side].setdefault(name, []).append(time.process_time() - c)
            return out

        torch.manual_seed(12345)
        ro = timed("generate", lambda: trainer.generate(prompts))
        if args.stage == "lc" and side == "full":
            raw = timed("reward", lambda: old_lc(ro.texts))
        else:
            raw = timed("reward", lambda: m._rewards(args.stage, records, ro.texts)[0])
        if side == "full":  # the earlier code scored the rollout before the reward
            timed("old+ref log-probs", lambda: trainer.score_rollout(ro))
        stats = timed(
            "update (+ scoring)", lambda: trainer.step(ro, normalize_clip(raw, p.delta).float())
        )
        return ro.texts, raw, stats, lora_state(m.model)

    print(f"profile {args.profile}, stage {args.stage}: {len(prompts)} rollouts, minibatch {p.minibatch_size}, "
          f"ppo_epochs {p.ppo_epochs}, {p.max_new_tokens} new tokens, torch threads {torch.get_num_threads()}")  # fmt: skip
    step(new, "shared")  # the first step of a run: LoRA leaves zero, the stored openings fill
    phases["shared"].clear()
    lora0 = {k: v.clone() for k, v in lora_state(m.model).items()}
    named = dict(m.model.named_parameters())
    head0 = copy.deepcopy(new.value_head.state_dict())
    opt0 = copy.deepcopy(new.optimizer.state_dict())
    steps0 = new.steps

    def reset():
        with torch.no_grad():
            for k, v in lora0.items():
                named[k].copy_(v)
        for t in (old, new):
            t.value_head.load_state_dict(head0)
            t.optimizer.load_state_dict(copy.deepcopy(opt0))
            t.steps = steps0
        m.lc_cache.clear()
        m.encoder._cache.clear()

    a, b = abba(lambda: step(old, "full"), lambda: step(new, "shared"), rounds=args.rounds,
                names=("full", "shared"), reset=reset)  # fmt: skip
    for side, times in phases.items():
        print(
            f"  {side:7s} CPU s per step: "
            + ", ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in times.items())
        )
    (ta, ra, sa, la), (tb, rb, sb, lb) = a.result, b.result
    same = ta == tb
    print(f"  same sampled explanations at the same seed: {same}")
    print(f"  largest difference: rewards {(ra - rb).abs().max().item():.2e}, "
          f"step statistics {max(abs(sa[k] - sb[k]) for k in sa):.2e}, "
          f"LoRA after the step {max((la[k] - lb[k]).abs().max().item() for k in la):.2e}")  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
