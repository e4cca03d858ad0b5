"""One GRPO training step (generation, rewards, log-probs, loss, backward) with TRL's own
GRPOTrainer against erbench's (bench/adapters/grpo_prefill.py: shared prompt prefill in
generation, each prompt forwarded once in the log-probs), in one process on the same prompts,
interleaved A-B-B-A (benchmarks/abba.py).

    python benchmarks/bench_grpo_step.py [--backbone embedded] [--prompts 2] [--g 4]
        [--prompt-tokens 160] [--new-tokens 12] [--beta 0.0] [--rounds 2]

The defaults are Curr-RLCER's tiny profile with `model.lora_dropout: 0` (2 prompts x 4
completions, prompts up to 160 tokens, 12-token completions, LoRA r8/a16 on q_proj,v_proj,
beta 0, one torch thread). Both trainers get identical copies of the model; each call runs
`trainer.training_step` on the same generation batch at the same seed (the optimizer step is
left out: it is the same on both sides). Prints the new/old ratios, whether both sides sampled
the same completions, and the largest difference of the per-token log-probs, entropies, loss
and LoRA gradients on the same completions.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from abba import abba  # noqa: E402
from grpo_shape import add_shape_args, prompt_lengths  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_shape_args(ap, new_tokens=12)
    ap.add_argument("--beta", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import torch
    from trl import GRPOTrainer

    from bench.adapters import trl as A
    from bench.adapters.grpo_prefill import shared_prefill_grpo_trainer
    from bench.backbones.hf import load_backbone
    from bench.backbones.lora import add_lora, lora_config

    torch.set_num_threads(args.threads)
    bb = load_backbone(args.backbone, device="cpu")
    tok = bb.tokenizer
    tok.padding_side = "left"
    gen = torch.Generator().manual_seed(0)
    lengths = prompt_lengths(args)
    texts = [tok.decode(torch.randint(100, 10000, (n + 20,), generator=gen)) for n in lengths]
    prompts = [tok.decode(tok(t)["input_ids"][:n]) for t, n in zip(texts, lengths, strict=True)]
    rows = [{"prompt": p} for p in prompts]
    batch = [r for r in rows for _ in range(args.g)]  # as TRL's sampler repeats each prompt G times

    def length(completions, **_):
        return [len(A.completion_text(c)) / 10 for c in completions]

    settings = A.GRPOSettings(max_steps=1, per_device_train_batch_size=args.prompts * args.g,
                              num_generations=args.g, max_completion_length=args.new_tokens,
                              learning_rate=3e-4, beta=args.beta, device="cpu", seed=0)  # fmt: skip
    torch.manual_seed(0)
    policy = add_lora(bb.model, lora_config(r=8, alpha=16, dropout=0.0))
    with torch.no_grad():  # a trained-looking adapter: PEFT's B = 0 would make it the identity
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    out = Path(tempfile.mkdtemp(prefix="bench-grpo-"))

    def trainer(cls, model, name):
        return cls(model=model, args=A.grpo_config(settings, out / name), train_dataset=A._dataset(rows),
                   processing_class=tok, reward_funcs=[A.named_reward("length", length)])  # fmt: skip

    old = trainer(GRPOTrainer, copy.deepcopy(policy), "old")
    new = trainer(shared_prefill_grpo_trainer(), policy, "new")
    for t in (old, new):
        t.current_gradient_accumulation_steps = 1  # what Trainer.train sets before each step
    print(
        f"backbone {args.backbone}: {args.prompts} prompts x {args.g}, prompt tokens "
        f"{[len(tok(p)['input_ids']) for p in prompts]}, {args.new_tokens} new tokens, beta {args.beta}, "
        f"torch threads {torch.get_num_threads()}"
    )

    def step(t):
        def run():
            torch.manual_seed(7)
            t.model.zero_grad(set_to_none=True)
            return float(t.training_step(t.model, batch, None))

        return run

    with A._library_bars_off():
        a, b = abba(step(old), step(new), rounds=args.rounds, names=("trl", "erbench"))
        print(f"  loss: trl {a.result:.6f}  erbench {b.result:.6f}")
        return compare(old, new, batch)


def compare(old, new, batch) -> int:
    """Same completions at the same seed; log-probs, entropies, loss, LoRA gradients on them."""
    import torch

    old.model.train(), new.model.train()
    torch.manual_seed(7)
    x = old._prepare_inputs(batch)
    torch.manual_seed(7)
    y = new._prepare_inputs(batch)
    same = torch.equal(x["completion_ids"], y["completion_ids"])
    print(f"  same sampled completions at the same seed: {same}")
    ids = torch.cat([x["prompt_ids"], x["completion_ids"]], dim=1)
    mask = torch.cat([x["prompt_mask"], x["completion_mask"]], dim=1)
    keep = x["completion_ids"].shape[1]
    diffs = {}
    grads = []
    for t in (old, new):
        t.model.zero_grad(set_to_none=True)
        lp, ent, _ = t._get_per_token_logps_and_entropies(
            t.model, ids, mask, keep, compute_entropy=True
        )
        loss = t.compute_loss(t.model, x)
        loss.backward()
        grads.append({n: p.grad for n, p in t.model.named_parameters() if p.grad is not None})
        diffs.setdefault("logps", []).append(lp * x["completion_mask"])
        diffs.setdefault("entropies", []).append(ent * x["completion_mask"])
        diffs.setdefault("loss", []).append(loss.detach())
    for name, (u, v) in diffs.items():
        print(f"  largest |trl - erbench| {name}: {(u - v).abs().max().item():.3g}")
    # float64: what is left beyond float32 rounding (prompt and completion run in two forwards)
    with torch.no_grad():
        lp64 = []
        for t in (old, new):
            t.model.double()
            lp64.append(t._get_per_token_logps_and_entropies(t.model, ids, mask, keep)[0])
            t.model.float()
    print(f"  in float64: largest |trl - erbench| logps: {(lp64[0] - lp64[1]).abs().max().item():.3g}; "
          f"largest |logp| {diffs['logps'][0].abs().max().item():.3g}")  # fmt: skip
    g = max((grads[0][n] - grads[1][n]).abs().max().item() for n in grads[0])
    print(f"  largest |trl - erbench| LoRA gradient: {g:.3g} (largest gradient "
          f"{max(v.abs().max().item() for v in grads[0].values()):.3g})")  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
