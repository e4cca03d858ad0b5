"""BERTScore through erbench (metrics/bertscore_embed.py) vs bert_score's own scorer.score, in
one process on the same pairs, interleaved A-B-B-A (benchmarks/abba.py).

    python benchmarks/bench_bertscore.py [--n 1000] [--rounds 2] [--pairs PATH]
                                         [--versus chunked|direct] [--engine torch|onnx]
    python benchmarks/bench_bertscore.py --engines [--n 500] [--rounds 2]

old = what the suite did before: scorer.score on chunks of 256 pairs; direct = one
bert_score.score-equivalent call on all pairs (scorer.score(cands, refs)); new = score_pairs,
its encoder forward run by --engine (torch, or ONNX Runtime: metrics/bertscore_onnx.py).
--engines times score_pairs with torch's forward (old) against ONNX Runtime's (new) instead.
Prints the ratios and the largest difference of the values (must be < 1e-5).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from abba import abba  # noqa: E402
from bench_metrics import default_pairs  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=Path, default=default_pairs())
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument(
        "--versus",
        choices=["chunked", "direct"],
        default="direct",
        help="old side: the suite's former 256-pair chunks, or one scorer.score call",
    )
    ap.add_argument(
        "--engine",
        choices=["torch", "onnx"],
        default="torch",
        help="what runs the new side's encoder forward (eval.bertscore_engine)",
    )
    ap.add_argument(
        "--engines",
        action="store_true",
        help="old = score_pairs on torch, new = score_pairs on ONNX Runtime",
    )
    args = ap.parse_args()
    if not args.pairs.exists():
        print(f"pairs file not found: {args.pairs} (set ERBENCH_DATA_DIR)")
        return 2
    import torch

    from metrics.bertscore import BERTScore
    from metrics.bertscore_embed import EmbeddingCache, score_pairs
    from metrics.pairs import pairs_to_rows
    from metrics.settings import EvalConfig

    rows = [
        r
        for r in pairs_to_rows(args.pairs)[: args.n]
        if r["explanation"].strip() and r["reference"].strip()
    ]
    cands = [r["explanation"] for r in rows]
    refs = [r["reference"] for r in rows]
    metric = BERTScore(EvalConfig(bertscore_engine="onnx"))
    scorer = metric._scorer()
    onnx = metric._encoder(scorer)  # exported (or read from the cache) before any timing
    if onnx is None and (args.engines or args.engine == "onnx"):
        print("ONNX Runtime encoder unavailable (see the warning above)")
        return 2
    texts = {*cands, *refs}
    print(
        f"pairs: {len(rows)}  distinct texts: {len(texts)}  torch threads: "
        f"{torch.get_num_threads()}"
    )

    def old() -> torch.Tensor:
        if args.versus == "direct":
            return torch.stack(scorer.score(cands, refs), dim=-1)
        out = []
        for s in range(0, len(cands), 256):
            out.append(torch.stack(scorer.score(cands[s : s + 256], refs[s : s + 256]), dim=-1))
        return torch.cat(out)

    def new() -> torch.Tensor:  # a cold cache: all the work
        encoder = onnx if (args.engines or args.engine == "onnx") else None
        return score_pairs(scorer, cands, refs, EmbeddingCache(), encoder=encoder)

    def on_torch() -> torch.Tensor:
        return score_pairs(scorer, cands, refs, EmbeddingCache())

    names = ("torch", "onnx") if args.engines else (args.versus, f"new-{args.engine}")
    a, b = abba(on_torch if args.engines else old, new, rounds=args.rounds, names=names)
    diff = (a.result - b.result).abs().max().item()
    print(f"  largest |old - new| over P, R, F1: {diff:.2e}")
    return 0 if diff < 1e-5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
