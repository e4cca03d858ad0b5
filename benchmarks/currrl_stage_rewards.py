"""Does a Curr-RLCER GRPO stage raise its own reward on records it never trained on?

    python benchmarks/currrl_stage_rewards.py RUN_DIR [--n 48] [--stage 3b_explain ...]

The train log's per-step reward mixes learning with which two prompts a step drew; this scores
the stage's paper rewards (eq. 3-7, as the run trained with them) on the same seeded validation
records before and after the stage: the finished stages' adapters are applied in order, and
each model samples `num_generations` completions per prompt as GRPO does (temperature,
completion length of the stage). Reports the mean of every reward component before and after,
and the paired difference per record with its t-test p-value. `spread` is each component's mean
within-record standard deviation over the k samples before the stage: GRPO's advantage is a
sample's reward minus its group's mean, so a component that never varies within a record (e.g.
eq. 5 when every completion is short) gives the stage no signal.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TASKS = {"1_judgment": "judgment", "2_choose": "choose", "3b_explain": "explain"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path, help="a finished currrl run folder (or a currrl_stage3_sweep.py one)")
    ap.add_argument("--n", type=int, default=48, help="validation records (seeded sample)")
    ap.add_argument("--stage", action="append", choices=sorted(TASKS), help="default: 3b_explain")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (1 when sharing the cores)")
    args = ap.parse_args()
    stages = args.stage or ["3b_explain"]

    import numpy as np
    import torch
    from scipy.stats import ttest_rel

    from bench import data as D
    from bench.api.run_folder import RunContext, RunFolder
    from bench.backbones.generate import generate
    from bench.backbones.lora import apply_lora_dir
    from bench.config import RunConfig, build_dataclass
    from bench.identity import identify

    torch.set_num_threads(args.threads)
    folder = RunFolder(args.run_dir)
    cfg = build_dataclass(RunConfig, folder.read_config())
    identity = identify(cfg)
    # a folder of currrl_stage3_sweep.py holds a run's stages 1-3a and a retrained 3b
    from benchmarks.currrl_stage3_sweep import SWEEP_FILE

    swept = (args.run_dir / SWEEP_FILE).exists()
    if (identity.run_id != args.run_dir.name and not swept) or cfg.method != "currrl":
        sys.exit(f"error: {args.run_dir} is not a currrl run of today's code and data ({identity.run_id})")
    splits = D.make_splits(D.load_dataset(cfg.dataset, cfg.data, seed=cfg.seed), cfg.data, cfg.seed)
    from methods.currrl.method import CurrRLCER

    p = identity.params
    method = CurrRLCER(p, RunContext(Path(tempfile.mkdtemp()), cfg, quiet=True))
    method._load_backbone()
    usable = [r for r in splits.valid if r.reference_explanation and r.rating is not None]
    recs = random.Random(f"stage-rewards:{cfg.seed}").sample(usable, min(args.n, len(usable)))
    k = p.num_generations

    def score(stage: str) -> dict[str, np.ndarray]:
        """{reward component: (records, k) rewards of each record's samples}."""
        task = TASKS[stage]
        rows = method._grpo_rows(task, recs)
        length = p.explain_max_completion_length if task == "explain" else p.max_completion_length
        out = generate(method.model, method.tokenizer, [r["prompt"] for r in rows for _ in range(k)],
                       max_new_tokens=length, batch_size=p.predict_batch_size, do_sample=True,
                       temperature=p.temperature, seed=cfg.seed)  # fmt: skip
        columns = {c: [r[c] for r in rows for _ in range(k)] for c in ("label", "rating", "reference")}
        scores = {
            name: np.asarray(fn(completions=out, **columns), dtype=float).reshape(len(recs), k)
            for name, fn in method.reward_functions(task, splits.train).items()
        }
        scores["reward"] = sum(scores.values())
        return scores

    results = {}
    # the finished stages in training order: their names sort that way (1_, 2_, 3a_, 3b_)
    for stage in folder.finished_stages():
        if stage in stages:
            before = score(stage)
        method.model = apply_lora_dir(method.model, folder.stage(stage) / "adapter")
        method._after_training()
        if stage in stages:
            after = score(stage)
            results[stage] = {
                name: {"before": float(before[name].mean()), "after": float(after[name].mean()),
                       "p": float(ttest_rel(after[name].mean(1), before[name].mean(1)).pvalue),
                       "spread": float(before[name].std(1).mean())}
                for name in before
            }  # fmt: skip
            print(f"{stage}: {len(recs)} validation records x {k} samples")
            for name, v in results[stage].items():
                print(f"  {name:10s} {v['before']:.4f} -> {v['after']:.4f}  (paired p = {v['p']:.3f}, "
                      f"spread {v['spread']:.4f})")
    if args.json:
        args.json.write_text(json.dumps({"run": args.run_dir.name, "n": len(recs), "stages": results}, indent=1))


if __name__ == "__main__":
    main()
