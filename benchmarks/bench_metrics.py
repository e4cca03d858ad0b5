"""Score XRec's 3,000 released Amazon pairs with the whole offline metric suite and compare
against calling the libraries directly.

    python benchmarks/bench_metrics.py [--n 3000] [--rounds 1] [--pairs PATH] [--skip-direct]
                                       [--bertscore-dtype bfloat16]
                                       [--bertscore-engine auto|torch|onnx]

The direct calls (sacrebleu x2, the PETER BLEU code, rouge-score, USR, bert_score.score) and
the suite (score_rows) run interleaved A-B-B-A for --rounds rounds in this one process
(benchmarks/abba.py), the suite's caches cleared before each call so every call does the whole
work: the suite/direct ratio per pair of calls and its median, wall and CPU seconds, the load
average. (Before, the direct half ran, then the suite half: two runs gave 0.81x and 1.98x as
other jobs started between the halves.) --skip-direct times the suite once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def default_pairs() -> Path:
    root = Path(os.environ.get("ERBENCH_DATA_DIR", REPO.parent / "shared" / "data"))
    return root / "xrec" / "amazon" / "xrec_predictions.jsonl"


class Timer:
    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Timer:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._w
        self.cpu = time.process_time() - self._c


def direct(preds: list[str], refs: list[str], batch_size: int) -> dict[str, float]:
    import bert_score
    import numpy as np
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import BLEU

    from bench.encoders import embedded_minilm_path
    from metrics.text import corpus_bleu_peter, peter_tokenize

    out: dict[str, float] = {}
    out["bleu1_sacre"] = BLEU(max_ngram_order=1).corpus_score(preds, [refs]).score
    out["bleu4_sacre"] = BLEU().corpus_score(preds, [refs]).score
    hyp_t, ref_t = [peter_tokenize(p) for p in preds], [peter_tokenize(r) for r in refs]
    out["bleu1_peter"] = 100 * corpus_bleu_peter(ref_t, hyp_t, 1)
    out["bleu4_peter"] = 100 * corpus_bleu_peter(ref_t, hyp_t, 4)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    scores = [scorer.score(r, p) for p, r in zip(preds, refs, strict=False)]
    out["rougeL_f"] = float(np.mean([s["rougeL"].fmeasure for s in scores]))
    out["usr"] = len({tuple(p.split()) for p in preds}) / len(preds)
    P, R, F = bert_score.score(
        preds, refs, model_type=str(embedded_minilm_path()), num_layers=6, batch_size=batch_size
    )
    out["bertscore_f1[all-MiniLM-L6-v2]"] = float(F.mean())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=Path, default=default_pairs())
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--skip-direct", action="store_true")
    ap.add_argument(
        "--rounds", type=int, default=1, help="A-B-B-A rounds (each side 2 calls a round)"
    )
    ap.add_argument(
        "--bertscore-dtype",
        default="float32",
        choices=["float32", "bfloat16"],
        help="the suite's eval.bertscore_dtype (the direct calls stay float32)",
    )
    ap.add_argument(
        "--bertscore-engine",
        default="auto",
        choices=["auto", "torch", "onnx"],
        help="the suite's eval.bertscore_engine (the direct calls run bert_score on torch)",
    )
    args = ap.parse_args()
    if not args.pairs.exists():
        print(f"pairs file not found: {args.pairs} (set ERBENCH_DATA_DIR)")
        return 2

    import bert_score  # noqa: F401
    import torch  # warm the heavy imports so neither side pays them
    import transformers  # noqa: F401

    from metrics.pairs import pairs_to_rows
    from metrics.settings import EvalConfig
    from metrics.suite import score_rows

    eval_cfg = EvalConfig(
        bertscore_dtype=args.bertscore_dtype, bertscore_engine=args.bertscore_engine
    )
    rows = pairs_to_rows(args.pairs)[: args.n]
    preds = [r["explanation"] for r in rows]
    refs = [r["reference"] for r in rows]
    print(
        f"pairs: {len(rows)}  torch threads: {torch.get_num_threads()}  "
        f"cpus: {len(os.sched_getaffinity(0))}  load avg: {os.getloadavg()[0]:.1f}"
    )

    from metrics.bertscore import BERTScore

    direct_bs = BERTScore(EvalConfig()).batch_size

    def reset() -> None:  # every call does the whole work: no scores or embeddings kept
        import metrics.bertscore as bertscore_module

        bertscore_module._PAIR_CACHE.clear()
        bertscore_module._EMBEDDINGS.clear()
        bertscore_module._SCORERS.clear()
        bertscore_module._ENCODERS.clear()  # the session is rebuilt; its .onnx file is kept

    if args.skip_direct:
        reset()
        with Timer() as ts:
            report = score_rows(rows, eval_cfg)
        print(
            f"suite (score_rows):   wall {ts.wall:7.1f} s   cpu {ts.cpu:7.1f} s   "
            f"load avg now: {os.getloadavg()[0]:.1f}"
        )
        d_values: dict[str, float] = {}
    else:
        from abba import abba

        a, b = abba(
            lambda: direct(preds, refs, direct_bs),
            lambda: score_rows(rows, eval_cfg),
            rounds=args.rounds,
            names=("direct", "suite"),
            reset=reset,
        )
        d_values, report = a.result, b.result
    for name, sec in sorted(report.seconds.items(), key=lambda kv: -kv[1]):
        print(f"  {name:12s} {sec:7.1f} s wall (the suite's last call)")
    if d_values:
        got = report.as_dict()
        for name, val in d_values.items():
            mine = got.get(name, got.get(name.replace("]", ",bf16]"), float("nan")))
            print(
                f"  {name:34s} suite {mine:10.5f}  direct {val:10.5f}  diff {abs(mine - val):.1e}"
            )
    print("values:")
    for v in report.values:
        print(f"  {v.name:40s} {v.value:10.5f}  n={v.n}")
    if report.unavailable:
        print("unavailable:")
        for name, why in sorted(report.unavailable.items()):
            print(f"  {name}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
