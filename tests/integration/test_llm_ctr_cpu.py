"""Slow: the LLM CTR methods against the claims of ExpCTR's Table 1, on ML-100K with the
embedded backbone (SmolLM2-135M) and each method's `cpu` profile, all scored on the same 300
test records:

- TALLRec (LoRA instruction tuning) ranks better than ICL (the same frozen backbone): AUC.
  Holds (0.6885 vs 0.5332).
- ExpCTR: the LC reward (eq. 9 over the LC stage's sampled explanations, label-balanced: the
  mean over positives and over negatives, equally weighted) rises from the first to the last
  quarter of the LC stage; ExpCTR-LLM (eq. 8 on the final explanations) ranks better than
  ICL; ExpCTR-Aug (eq. 12) ranks better than the same DeepFM without the explanation (z = 0,
  eq. 13's s~). None holds on this backbone, hence xfail(strict=True): the frozen 135M scorer
  reacts to a leading "Yes"/"No" (AUC 0.988 for such explanations by the true label) but
  hardly to prose (0.586), and the generator never opens with either
  (benchmarks/expctr_scorer_probe.py; docs/results/2026-11-30-expctr-cpu.md); forcing
  the opening (model.explanation_opening=yes_no) does not teach it a per-sample choice either.
  A pass turns these into failures to un-mark.

Each run is `bench run --method M --dataset ml-100k --profile cpu` (seed 0, ExpCTR's sampling
with 5 targets per user, the seeded 300-record eval sample). Run folders go to
$ERBENCH_SLOW_RUNS_DIR when set, so a second pass reuses finished runs; docs/results/2026-11-30-expctr-cpu.md's numbers
are read from them. Times on 2 shared cores: TALLRec 31 min, ICL 2.5 min, ExpCTR 48 min.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DATASET = "ml-100k"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    env = os.environ.get("ERBENCH_SLOW_RUNS_DIR")
    return Path(env) if env else tmp_path_factory.mktemp("llm-ctr-runs")


def run_folder(method: str, runs_dir: Path) -> Path:
    from bench.config import resolve
    from bench.runner import execute

    cfg = resolve(method, DATASET, profile="cpu", sets=[f"runs_dir={runs_dir}"])
    return execute(cfg, quiet=True).run_dir


def run(method: str, runs_dir: Path) -> list[dict]:
    folder = run_folder(method, runs_dir)
    return [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]


def auc(preds: list[dict], key=lambda p: p["ctr_score"]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score([p["label"] for p in preds], [key(p) for p in preds]))


def records(preds: list[dict]) -> list[tuple[str, str]]:
    return [(p["user_id"], p["item_id"]) for p in preds]


@pytest.fixture(scope="module")
def icl(runs_dir):
    return run("icl", runs_dir)


def test_tallrec_beats_icl(icl, runs_dir):
    tallrec = run("tallrec", runs_dir)
    assert records(tallrec) == records(icl) and len(icl) == 300
    assert auc(tallrec) > auc(icl), f"TALLRec AUC {auc(tallrec):.4f} <= ICL {auc(icl):.4f}"


XFAIL_135M = pytest.mark.xfail(
    strict=True, reason="SmolLM2-135M's LC scorer reads only a leading Yes/No, which the generator never writes (docs/results/2026-11-30-expctr-cpu.md)"
)


@pytest.fixture(scope="module")
def expctr(runs_dir):
    run_dir = run_folder("expctr", runs_dir)
    preds = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    log = [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]
    return preds, log


def test_expctr_scores_the_same_records(expctr, icl):
    preds, log = expctr
    assert records(preds) == records(icl)
    assert "lc" in {r["stage"] for r in log} and all("lc_reward" in r for r in log if r["stage"] == "lc")


def lc_steps_by_label(log: list[dict], runs_dir: Path) -> list[tuple[float, int, float, int]]:
    """Per LC step: (sum of s^u over the positives' samples, their count, the same for the
    negatives). The log has the batch means of eq. 8 and eq. 9; the step's labels come from
    the method's own record sample and schedule (reward = s on a positive, 1 - s on a negative)."""
    from bench import data as D
    from bench.config import resolve
    from methods.expctr.method import ppo_schedule, rl_sample

    cfg = resolve("expctr", DATASET, profile="cpu", sets=[f"runs_dir={runs_dir}"])
    splits = D.make_splits(D.load_dataset(cfg.dataset, cfg.data, seed=cfg.seed), cfg.data, cfg.seed)
    m = cfg.model
    rl = rl_sample([r for r in splits.train if r.label is not None], m["train_records"], cfg.seed)
    k = m.get("samples_per_record", 1)
    schedule = ppo_schedule(len(rl), m["batch_size"] // k, m["lc_epochs"], cfg.seed, "lc")
    rows = [r for r in log if r["stage"] == "lc"]
    assert len(rows) == len(schedule)
    out = []
    for row, (_, picked) in zip(rows, schedule, strict=True):
        n = len(picked) * k
        n_pos = sum(rl[j].label for j in picked) * k
        s_sum, r_sum = row["ctr_score_mean"] * n, row["lc_reward"] * n
        s_pos = (r_sum + s_sum - (n - n_pos)) / 2
        out.append((s_pos, n_pos, s_sum - s_pos, n - n_pos))
    return out


def balanced_lc_reward(steps) -> float:
    """Eq. 9 averaged over positives and negatives with equal weight: (mean s on positives +
    1 - mean s on negatives) / 2. The batch mean itself moves with how many of a step's two
    samples are positives (the untrained scorer gives ~0.44 to every explanation)."""
    pos = sum(x[0] for x in steps) / max(1, sum(x[1] for x in steps))
    neg = sum(x[2] for x in steps) / max(1, sum(x[3] for x in steps))
    return (pos + 1 - neg) / 2


@XFAIL_135M
def test_expctr_lc_reward_rises(expctr, runs_dir):
    steps = lc_steps_by_label(expctr[1], runs_dir)
    k = len(steps) // 4
    first, last = balanced_lc_reward(steps[:k]), balanced_lc_reward(steps[-k:])
    assert last > first, f"LC reward (label-balanced) did not rise: first {k} steps {first:.4f}, last {k} {last:.4f}"


@XFAIL_135M
def test_expctr_llm_beats_icl(expctr, icl):
    llm = auc(expctr[0], lambda p: p["extras"]["ctr_llm"])
    assert llm > auc(icl), f"ExpCTR-LLM AUC {llm:.4f} <= ICL {auc(icl):.4f}"


@XFAIL_135M
def test_expctr_aug_beats_the_same_deepfm_without_explanations(expctr):
    aug = auc(expctr[0], lambda p: p["extras"]["ctr_aug"])
    without = auc(expctr[0], lambda p: p["extras"]["ctr_aug_no_expl"])
    assert aug > without, f"ExpCTR-Aug AUC {aug:.4f} <= the same DeepFM without explanations {without:.4f}"
