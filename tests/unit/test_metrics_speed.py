"""Speed of the model-free metrics, measured with pytest-benchmark (no timed asserts).

Run with `pytest tests/unit/test_metrics_speed.py --benchmark-enable` to see figures; the
default run executes each once as a smoke test.
"""

from __future__ import annotations

import random

from metrics.settings import EvalConfig
from metrics.suite import score_rows

WORDS = "the user would buy this book because story characters plot engaging series author".split()


def synthetic_rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append(
            {
                "idx": i,
                "explanation": " ".join(rng.choices(WORDS, k=40)),
                "reference": " ".join(rng.choices(WORDS, k=40)),
                "rating": rng.uniform(1, 5),
                "rating_true": float(rng.randint(1, 5)),
                "label": rng.randint(0, 1),
                "ctr_score": rng.random(),
            }
        )
    return rows


def test_text_rating_ctr_suite_speed(benchmark):
    rows = synthetic_rows(300)
    cfg = EvalConfig(metrics=["bleu_sacre", "bleu_peter", "rouge", "usr", "rating", "ctr"])
    report = benchmark(score_rows, rows, cfg)
    assert {"bleu4_sacre", "rougeL_f", "usr", "rmse", "auc"} <= set(report.as_dict())
