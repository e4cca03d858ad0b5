"""Slow: Curr-RLCER learns what its paper claims, on amazon-instruments with the embedded
backbone (SmolLM2-135M) and the `cpu` profile:

- every GRPO stage's mean reward (the paper's rewards, eq. 3-7, summed as TRL logs them:
  format + accuracy for stages 1-2, format + length + accuracy + coherence for stage 3) is
  higher over the last quarter of its steps than over the first quarter. Holds for stages 1
  and 2; stage 3's stays flat (xfail, strict). With stage 3 at lr 1e-3 for 48 steps
  (model.explain_learning_rate, model.stage3_steps) its reward rises on held-out validation
  records (paired t-test p < 0.05, benchmarks/currrl_stage_rewards.py), though its test
  explanations are then no better than zero-shot's (docs/results/2026-11-30-currrl-cpu.md);
- the final model beats `llm-zeroshot` (the untrained backbone on the same prompts, cpu
  profile) on the same 200 test records: RMSE, coherence Acc (eq. 8 with the embedded
  classifier, coh_acc[minilm-logreg]) and BERTScore F1 [all-MiniLM-L6-v2];
- the two ablations of Table 5 run: w/o DPO (no 3a_dpo stage) and w/o coherence reward
  (stage 3 logs no coherence reward); their numbers are in docs/results/2026-11-30-currrl-cpu.md.

Runs are `bench run --method M --dataset amazon-instruments --profile cpu` (seed 0); folders
go to $ERBENCH_SLOW_RUNS_DIR when set, so a second pass reuses finished runs. Times on 2
shared cores: docs/results/2026-11-30-currrl-cpu.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DATASET = "amazon-instruments"
GRPO = ("1_judgment", "2_choose", "3b_explain")


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    env = os.environ.get("ERBENCH_SLOW_RUNS_DIR")
    return Path(env) if env else tmp_path_factory.mktemp("currrl-runs")


def run(method: str, runs_dir: Path, *sets: str):
    from tests.conftest import shared_data_dir

    root = shared_data_dir()
    if root is None or not (root / "amazon2014" / "reviews_Musical_Instruments_5.json.gz").exists():
        pytest.skip("amazon2014/reviews_Musical_Instruments_5.json.gz not found (set ERBENCH_DATA_DIR)")
    from bench.config import resolve
    from bench.runner import execute

    cfg = resolve(method, DATASET, profile="cpu", sets=[f"runs_dir={runs_dir}", f"data.data_dir={root}", *sets])
    return execute(cfg, quiet=True)


def metrics(result) -> dict[str, float]:
    return {r["metric"]: r["value"] for r in result.rows}


def records(result) -> list[tuple[str, str]]:
    rows = (result.run_dir / "predictions.jsonl").read_text().splitlines()
    return [(json.loads(line)["user_id"], json.loads(line)["item_id"]) for line in rows]


def log(result) -> list[dict]:
    return [json.loads(line) for line in (result.run_dir / "train_log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def zeroshot(runs_dir):
    return run("llm-zeroshot", runs_dir)


@pytest.fixture(scope="module")
def full(runs_dir):
    return run("currrl", runs_dir)


STAGE3_FLAT = pytest.mark.xfail(
    strict=True,
    reason="stage 3's train-log reward stays flat on the cpu profile (1.922 -> 1.916), and on "
    "held-out records; at lr 1e-3 x 48 steps it rises on held-out records only "
    "(test_stage3_reward_rises_on_heldout_records; docs/results/2026-11-30-currrl-cpu.md)",
)


@pytest.mark.parametrize("stage", [GRPO[0], GRPO[1], pytest.param(GRPO[2], marks=STAGE3_FLAT)])
def test_grpo_stage_reward_rises(full, stage):
    rewards = [r["reward"] for r in log(full) if r["stage"] == stage and "reward" in r]
    k = max(1, len(rewards) // 4)
    first, last = sum(rewards[:k]) / k, sum(rewards[-k:]) / k
    assert last > first, f"{stage}: mean reward first {k} steps {first:.4f}, last {k} {last:.4f}"


def test_stage3_reward_rises_on_heldout_records(runs_dir, tmp_path):
    """With stage 3 at lr 1e-3 for 48 steps (the profile's 2e-4 x 24 leaves it flat), the
    paper's stage-3 reward (eq. 5-7) on 64 seeded validation records, 4 samples each, is higher
    after stage 3 than before (benchmarks/currrl_stage_rewards.py, ~10 min on one thread)."""
    import subprocess
    import sys

    strong = run("currrl", runs_dir, "model.explain_learning_rate=1e-3", "model.stage3_steps=48")
    repo = Path(__file__).resolve().parents[2]
    out = tmp_path / "stage3.json"
    subprocess.run([sys.executable, str(repo / "benchmarks" / "currrl_stage_rewards.py"), str(strong.run_dir),
                    "--n", "64", "--stage", "3b_explain", "--threads", "1", "--json", str(out)],
                   check=True, cwd=repo)  # fmt: skip
    total = json.loads(out.read_text())["stages"]["3b_explain"]["reward"]
    assert total["after"] > total["before"] and total["p"] < 0.05, total


def test_scores_the_same_records_as_zeroshot(full, zeroshot):
    assert records(full) == records(zeroshot) and len(records(full)) == 200


@pytest.mark.parametrize("name", ["coh_acc[minilm-logreg]", "bertscore_f1[all-MiniLM-L6-v2]"])
def test_beats_zeroshot(full, zeroshot, name):
    got, base = metrics(full)[name], metrics(zeroshot)[name]
    assert got > base, f"{name}: Curr-RLCER {got:.4f} <= zero-shot {base:.4f}"


def test_rates_better_than_zeroshot(full, zeroshot):
    assert metrics(full)["rmse"] < metrics(zeroshot)["rmse"]


def test_ablations_run(runs_dir):
    no_dpo = run("currrl", runs_dir, "model.use_dpo=false")
    assert not (no_dpo.run_dir / "stages" / "3a_dpo").exists() and (no_dpo.run_dir / "stages" / "3b_explain").exists()
    no_coherence = run("currrl", runs_dir, "model.use_coherence_reward=false")
    stage3 = [r for r in log(no_coherence) if r["stage"] == "3b_explain" and "reward" in r]
    assert stage3 and not any("reward_coherence" in r for r in stage3)
    for result in (no_dpo, no_coherence):
        assert {"rmse", "coh_acc[minilm-logreg]", "bertscore_f1[all-MiniLM-L6-v2]"} <= set(metrics(result))
