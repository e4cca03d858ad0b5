"""Retrain Curr-RLCER's stage 3 GRPO alone, under other settings, on a finished run's stages 1-3a.

    python benchmarks/currrl_stage3_sweep.py RUN_DIR OUT_DIR --set model.learning_rate=1e-3 \\
        [--set model.stage3_steps=48] [--coherence-rating expected] [--threads 1]

Stages 1, 2 and 3a are reloaded from RUN_DIR as they were trained (the seeds are per stage, so
stage 3b starts from the same weights and random state as in RUN_DIR); only 3b trains, with
the run's settings changed by --set (model.* only; model.learning_rate then moves stage 3b
alone). Prints the train log's mean rewards over the first and last quarter of the steps.
OUT_DIR becomes a folder `currrl_stage_rewards.py OUT_DIR` scores on held-out records (always
with the paper's eq. 7). `--coherence-rating expected` trains with C's probability-weighted
rating in eq. 7 instead of its label (a diagnostic, not the paper's reward).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SWEEP_FILE = "stage3_sweep.json"  # marks OUT_DIR for currrl_stage_rewards.py


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path, help="a finished currrl run folder")
    ap.add_argument("out_dir", type=Path, help="new folder for the retrained stage 3b")
    ap.add_argument("--set", dest="sets", action="append", default=[], help="model.KEY=VALUE")
    ap.add_argument("--coherence-rating", choices=("label", "expected"), default="label")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (1 when sharing the cores)")
    args = ap.parse_args()
    if any(not s.startswith("model.") or s.startswith("model.backbone") for s in args.sets):
        sys.exit("error: --set takes model.* settings of stage 3b only (not model.backbone)")
    if args.out_dir.exists():
        sys.exit(f"error: {args.out_dir} exists; pick a new folder")

    import torch

    from bench import data as D
    from bench.api.config_keys import parse_set
    from bench.api.run_folder import RunContext, RunFolder
    from bench.config import RunConfig, build_dataclass, dump_yaml, to_dict
    from bench.identity import identify
    from methods.currrl.method import STAGES, CurrRLCER

    *reused, retrained = STAGES  # stages 1-3a reloaded as trained; 3b trains again
    torch.set_num_threads(args.threads)
    source_folder, out = RunFolder(args.run_dir), RunFolder(args.out_dir)
    raw = source_folder.read_config()
    source = identify(build_dataclass(RunConfig, raw))
    if source.run_id != args.run_dir.name or source.cfg.method != "currrl":
        sys.exit(f"error: {args.run_dir} is not a currrl run of today's code and data ({source.run_id})")
    for expr in args.sets:
        raw["model"].update(parse_set(expr)["model"])
    identity = identify(build_dataclass(RunConfig, raw))  # a bad --set fails here, before any copy
    cfg = identity.cfg
    for name in reused:
        if source_folder.stage_done(name):
            shutil.copytree(source_folder.stage(name), out.stage(name))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out.write_config(dump_yaml(to_dict(cfg)))
    (args.out_dir / SWEEP_FILE).write_text(json.dumps(
        {"source_run": args.run_dir.name, "sets": args.sets, "coherence_rating": args.coherence_rating}, indent=1))
    splits = D.make_splits(D.load_dataset(cfg.dataset, cfg.data, seed=cfg.seed), cfg.data, cfg.seed)
    method = CurrRLCER(identity.params, RunContext(args.out_dir, cfg, quiet=False))
    if args.coherence_rating == "expected":
        label_classifier = method.classifier

        def expected(train):
            clf = label_classifier(train).classifier
            return lambda texts: clf.expected_rating(list(texts)) if texts else []

        method.classifier = expected
    method.fit(splits)

    rows = [r for r in out.read_train_log() if r.get("stage") == retrained and "reward" in r]
    quarter = max(1, len(rows) // 4)
    print(f"{retrained}: {len(rows)} steps, mean over the first -> last {quarter}")
    for key in [k for k in rows[0] if k == "reward" or (k.startswith("reward_") and not k.endswith("_std"))]:
        first, last = (statistics.mean(r[key] for r in part) for part in (rows[:quarter], rows[-quarter:]))
        print(f"  {key:18s} {first:.3f} -> {last:.3f}")


if __name__ == "__main__":
    main()
