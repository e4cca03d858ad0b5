"""Slow: each classic baseline trained on CPU on amazon-instruments beats simple references.

- rating (NRT, PETER, PETER+, CER): test RMSE below the train-global-mean predictor's;
- explanation (all five): PETER-style BLEU-4 above a reference that answers each test record
  with a random train explanation of the same item (mean over 5 draws).

Each model runs exactly as `bench run --method M --dataset amazon-instruments --profile cpu
--set threads=1` does (seed 0, random 3:1:1, the whole test split, the whole offline metric
suite). Run folders go to $ERBENCH_SLOW_RUNS_DIR when set, so a second pass reuses finished
runs and the table of full-run numbers in docs/results/2026-11-22-classic-amazon.md is read from them
(`bench results --runs-dir $ERBENCH_SLOW_RUNS_DIR`); otherwise to a temporary folder.
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path

import pytest

from bench.config import resolve
from bench.runner import execute
from metrics.text import corpus_bleu_peter, peter_tokenize

pytestmark = pytest.mark.slow

DATASET = "amazon-instruments"


@pytest.fixture(scope="module")
def data_root() -> Path:
    from tests.conftest import shared_data_dir

    root = shared_data_dir()
    if root is None or not (root / "amazon2014" / "reviews_Musical_Instruments_5.json.gz").exists():
        pytest.skip("amazon2014/reviews_Musical_Instruments_5.json.gz not found (set ERBENCH_DATA_DIR)")
    return root


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    env = os.environ.get("ERBENCH_SLOW_RUNS_DIR")
    return Path(env) if env else tmp_path_factory.mktemp("classic-runs")


def random_same_item_bleu4(train, test, refs, draws=5) -> float:
    by_item: dict[str, list[str]] = {}
    for r in train:
        by_item.setdefault(r.item_id, []).append(r.reference_explanation)
    scores = []
    for seed in range(draws):
        rng = random.Random(seed)
        hyps = [peter_tokenize(rng.choice(by_item[r.item_id])) if r.item_id in by_item else [] for r in test]
        scores.append(100 * corpus_bleu_peter(refs, hyps, 4))
    return sum(scores) / len(scores)


@pytest.mark.parametrize("name", ["nrt", "att2seq", "peter", "peter+", "cer"])
def test_beats_the_simple_references(name, data_root, runs_dir):
    from bench import data

    cfg = resolve(name, DATASET, profile="cpu",
                  sets=[f"runs_dir={runs_dir}", f"data.data_dir={data_root}", "threads=1"])  # fmt: skip
    result = execute(cfg, quiet=True)
    got = {r["metric"]: r["value"] for r in result.rows}

    # the references, on the same split the runner made
    splits = data.make_splits(data.load_dataset(DATASET, cfg.data, seed=cfg.seed), cfg.data, cfg.seed)
    preds = [json.loads(line) for line in (result.run_dir / "predictions.jsonl").read_text().splitlines()]
    assert [p["reference"] for p in preds] == [r.reference_explanation for r in splits.test]
    refs = [peter_tokenize(r.reference_explanation) for r in splits.test]
    reference = random_same_item_bleu4(splits.train, splits.test, refs)
    assert got["bleu4_peter"] > reference, (
        f"{name}: BLEU-4 {got['bleu4_peter']:.3f} <= random same-item train explanation {reference:.3f}"
    )

    if "rmse" in got:
        mean = sum(r.rating for r in splits.train) / len(splits.train)
        base = math.sqrt(sum((mean - r.rating) ** 2 for r in splits.test) / len(splits.test))
        assert got["rmse"] < base, f"{name}: RMSE {got['rmse']:.4f} >= global mean {base:.4f}"
    else:
        assert name == "att2seq"  # Att2Seq takes the rating as an input attribute, predicts none
