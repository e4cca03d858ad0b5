"""Slow: each classic baseline trained on CPU on amazon-instruments beats simple references.

- rating (NRT, PETER, PETER+, CER): test RMSE below the train-global-mean predictor's;
- explanation (all five): PETER-style BLEU-4 above a reference that answers each test record
  with a random train explanation of the same item (mean over 5 draws).

Training uses the method's `cpu` profile on the full train split (seed 0, random 3:1:1);
scoring uses the first `N_TEST` test records (the subsample keeps generation cheap).
"""

from __future__ import annotations

import math
import random

import pytest
import torch

from bench.config import DataConfig, RunConfig, build_dataclass, resolve
from bench.rundir import RunContext
from bench.runner import method_class, seed_everything
from metrics.text import corpus_bleu_peter, peter_tokenize

N_TEST = 600

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: several times faster for these small models on a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def splits():
    from tests.conftest import shared_data_dir

    root = shared_data_dir()
    if root is None or not (root / "amazon2014" / "reviews_Musical_Instruments_5.json.gz").exists():
        pytest.skip("amazon2014/reviews_Musical_Instruments_5.json.gz not found (set ERBENCH_DATA_DIR)")
    from bench import data

    cfg = DataConfig(data_dir=str(root))
    return data.make_splits(data.load_dataset("amazon-instruments", cfg), cfg, 0)


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
def test_beats_the_simple_references(name, splits, tmp_path):
    cls = method_class(name)
    model = resolve(name, "amazon-instruments", profile="cpu").model
    run = RunContext(tmp_path / name, RunConfig(method=name, dataset="amazon-instruments", device="cpu", model=model),
                     quiet=True)
    seed_everything(0)
    method = cls(build_dataclass(cls.Params, model, "model"), run)
    method.fit(splits)
    test = splits.test[:N_TEST]
    preds = method.predict(test)

    refs = [peter_tokenize(r.reference_explanation) for r in test]
    bleu4 = 100 * corpus_bleu_peter(refs, [peter_tokenize(p.explanation) for p in preds], 4)
    reference = random_same_item_bleu4(splits.train, test, refs)
    assert bleu4 > reference, f"{name}: BLEU-4 {bleu4:.3f} <= random same-item train explanation {reference:.3f}"

    if "rating" in cls.produces:
        mean = sum(r.rating for r in splits.train) / len(splits.train)
        rmse = math.sqrt(sum((p.rating - r.rating) ** 2 for p, r in zip(preds, test, strict=True)) / len(test))
        base = math.sqrt(sum((mean - r.rating) ** 2 for r in test) / len(test))
        assert rmse < base, f"{name}: RMSE {rmse:.4f} >= global mean {base:.4f}"
