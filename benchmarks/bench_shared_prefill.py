"""GRPO-shaped generation with and without the shared prompt prefill
(bench/backbones/shared_prefill.py), in one process on the same prompts, interleaved A-B-B-A
(benchmarks/abba.py), in eval mode (no dropout: the case where it is used).

    python benchmarks/bench_shared_prefill.py [--backbone embedded] [--prompts 2] [--g 4]
        [--prompt-tokens 160] [--new-tokens 32] [--rounds 2]

The defaults are Curr-RLCER's tiny profile (2 prompts x 4 generations, prompts up to 160
tokens). Checks that the sampled outputs at the same seed are identical.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from abba import abba  # noqa: E402
from grpo_shape import add_shape_args, prompt_lengths  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_shape_args(ap, new_tokens=32)
    args = ap.parse_args()
    import torch

    from bench.backbones.hf import load_backbone
    from bench.backbones.shared_prefill import generate_shared_prefill

    bb = load_backbone(args.backbone, device="cpu")
    model, pad = bb.model.eval(), bb.tokenizer.pad_token_id
    gen = torch.Generator().manual_seed(0)
    lengths = prompt_lengths(args)
    width = max(lengths)
    ids = torch.full((args.prompts * args.g, width), pad)
    mask = torch.zeros_like(ids)
    for i, n in enumerate(lengths):
        p = torch.randint(100, 10000, (n,), generator=gen)
        ids[i * args.g : (i + 1) * args.g, width - n :] = p
        mask[i * args.g : (i + 1) * args.g, width - n :] = 1
    kw = dict(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, do_sample=True,
              temperature=1.0, top_k=0, pad_token_id=pad)  # fmt: skip
    print(
        f"backbone {args.backbone}: {args.prompts} prompts x {args.g}, prompt tokens {lengths}, "
        f"{args.new_tokens} new tokens, torch threads {torch.get_num_threads()}"
    )

    def plain():
        torch.manual_seed(7)
        return model.generate(input_ids=ids, attention_mask=mask, **kw)

    def shared():
        torch.manual_seed(7)
        return generate_shared_prefill(model, ids, mask, **kw)

    with torch.no_grad():
        a, b = abba(plain, shared, rounds=args.rounds, names=("plain", "shared"))
    same = torch.equal(a.result, b.result)
    print(f"  same sampled tokens at the same seed: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
