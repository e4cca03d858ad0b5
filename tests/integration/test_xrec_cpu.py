"""Slow: XRec's collaborative signal against its no-embedding ablation (issue #29), on
amazon-instruments with the embedded backbone (SmolLM2-135M) and the `cpu` profile
(model.injection=hidden_add since 2026-12-07, docs/changelog.md).

XRec's claim: the LightGCN embeddings, adapted and injected into the frozen LLM, make the
explanations better than the same model without them. Checked two ways:

1. full XRec > its `model.use_embeddings=false` ablation (the adapters read zeros) on
   BERTScore F1 [all-MiniLM-L6-v2], paired over the same 200 seeded test records of seeds 0,
   1 and 2 (600 pairs, two-sided paired t-test p < 0.05): the issue's criterion;
2. the per-user/per-item part of the vectors is what helps: on each seed's validation
   records, the trained adapters' own vectors give a lower validation loss than the same
   vectors shuffled across records (benchmarks/xrec_diagnostics.py). On the additive mode the
   ablation's adapters read x = 0, so their gradient passes through the experts' small
   initial weights and they barely train; (1) can then pass on the constant part alone, which
   (2) separates from the collaborative signal.

Measured (docs/results/2026-12-07-xrec-ablation.md): (1) passes (0.2030 against 0.1783, p = 1.4e-11);
(2) fails on the cpu profile, hence its xfail(strict=True) with the measured reason; a pass
turns it into a failure to un-mark.

Runs are `bench run --method xrec --dataset amazon-instruments --profile cpu --seed S
[--set model.use_embeddings=false]`; folders go to $ERBENCH_SLOW_RUNS_DIR when set, so a
second pass reuses finished runs. About 40 min per run on two idle cores (six runs).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DATASET = "amazon-instruments"
SEEDS = (0, 1, 2)
METRIC = "bertscore_f1[all-MiniLM-L6-v2]"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    env = os.environ.get("ERBENCH_SLOW_RUNS_DIR")
    return Path(env) if env else tmp_path_factory.mktemp("xrec-runs")


def run(runs_dir: Path, seed: int, *sets: str) -> Path:
    from tests.conftest import shared_data_dir

    root = shared_data_dir()
    if root is None or not (root / "amazon2014" / "reviews_Musical_Instruments_5.json.gz").exists():
        pytest.skip("amazon2014/reviews_Musical_Instruments_5.json.gz not found (set ERBENCH_DATA_DIR)")
    from bench.config import resolve
    from bench.runner import execute

    cfg = resolve("xrec", DATASET, profile="cpu", seed=seed, sets=[f"runs_dir={runs_dir}", f"data.data_dir={root}", *sets])
    return execute(cfg, quiet=True).run_dir


@pytest.fixture(scope="module")
def paired(runs_dir) -> tuple[list[float], list[float]]:
    """Per-record BERTScore F1 of full XRec and of the ablation, seed by seed, same records."""
    from bench.api.run_folder import RunFolder
    from metrics.significance import align

    full, ablation = [], []
    for seed in SEEDS:
        xs, ys = align(
            RunFolder(run(runs_dir, seed)).read_per_example(),
            RunFolder(run(runs_dir, seed, "model.use_embeddings=false")).read_per_example(),
            METRIC,
        )
        assert len(xs) == 200, f"seed {seed}: {len(xs)} paired records"
        full += xs
        ablation += ys
    return full, ablation


def test_full_xrec_beats_its_no_embedding_ablation(paired):
    from metrics.significance import paired_ttest

    full, ablation = paired
    test = paired_ttest(full, ablation)
    mean_full, mean_ablation = sum(full) / len(full), sum(ablation) / len(ablation)
    assert mean_full > mean_ablation and test.p_value < 0.05, (
        f"{METRIC}: full {mean_full:.4f} vs use_embeddings=false {mean_ablation:.4f}, p = {test.p_value:.3g}"
    )


PER_USER_PART_UNUSED = pytest.mark.xfail(
    strict=True,
    raises=AssertionError,  # a crash in the script is an error, not the expected failure
    reason="with injection=hidden_add the per-user part of the adapted vectors is unused at this scale: valid loss "
    "own vectors vs shuffled across records, seed 0 4.1779 vs 4.1728, seed 1 4.4633 vs 4.4689, seed 2 4.4676 vs "
    "4.4521; every record given the vectors' mean does better (3.9990, 4.4509, 4.4405); what beats use_embeddings=false is a constant vector whose norm "
    "follows LightGCN's (docs/results/2026-12-07-xrec-ablation.md)",
)


@PER_USER_PART_UNUSED
def test_own_vectors_beat_shuffled_vectors_on_validation(runs_dir, tmp_path):
    import json
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "xrec_diagnostics.py"
    worse = {}
    for seed in SEEDS:
        out = tmp_path / f"diagnostics-s{seed}.json"
        subprocess.run([sys.executable, str(script), str(run(runs_dir, seed)), "--n", "1", "--users", "20",
                        "--no-modes", "--json", str(out)], check=True, capture_output=True)  # fmt: skip
        loss = json.loads(out.read_text(encoding="utf-8"))["valid_loss"]
        if not loss["trained"] < loss["shuffled_rows"]:
            worse[seed] = (round(loss["trained"], 4), round(loss["shuffled_rows"], 4))
    assert worse == {}, f"own vectors' valid loss not below shuffled vectors' (own, shuffled) per seed: {worse}"
