"""PETER's DIV/FCR/FMR read their truth from the data: FCR over the dataset's whole feature
vocabulary, FMR against each record's own mined feature, never a method's extras."""

from __future__ import annotations

import json

import pytest

from bench.api.records import Prediction, Record
from bench.config import resolve
from bench.data.feature_truth import mine_feature_truth, read_vocabulary, vocabulary_digest
from bench.rescore import rescore_run
from metrics.settings import EvalConfig
from metrics.suite import score_rows
from tests.helpers import patch_synthetic_data

VOCABULARY = ["sound", "price", "strings", "tone", "case", "strap", "bag", "cable", "pedal", "knob"]


def row(i, explanation, feature_true, extras=None):
    return {"idx": i, "explanation": explanation, "reference": "r", "feature_true": feature_true,
            "extras": extras or {}}  # fmt: skip


def test_fcr_divides_by_the_dataset_vocabulary_not_the_rows_features():
    # the rows' own truths are only {sound, price}; the explanations name sound, price, strings
    rows = [
        row(0, "the sound is great", "sound"),
        row(1, "great price and sound", "price"),
        row(2, "nice strings", "sound"),
    ]
    rep = score_rows(rows, EvalConfig(metrics=["div", "fcr", "fmr"]), feature_set=VOCABULARY)
    v = rep.as_dict()
    # FCR = |{sound, price, strings}| / |vocabulary| = 3/10 (PETER feature_coverage_ratio)
    assert v["fcr"] == pytest.approx(0.3)
    # DIV = (|{sound} & {price, sound}| + 0 + 0) / C(3, 2) = 1/3
    assert v["div"] == pytest.approx(1 / 3)
    # FMR: rows 0 and 1 name their own feature, row 2 does not -> 2/3
    assert v["fmr"] == pytest.approx(2 / 3)
    assert rep.get("fcr").version["feature_set"] == {
        "source": "dataset", "size": 10, "sha256": vocabulary_digest(VOCABULARY)}  # fmt: skip


def test_fmr_uses_the_data_truth_even_when_extras_claim_another_feature():
    rows = [
        row(0, "the sound is great", "strings", extras={"feature": "sound", "features": "sound"}),
        row(1, "nice strings", "strings", extras={"feature": "tone"}),
    ]
    v = score_rows(rows, EvalConfig(metrics=["fmr"]), feature_set=VOCABULARY).as_dict()
    assert v["fmr"] == pytest.approx(0.5)  # only row 1 names its true feature


def test_rows_without_a_data_truth_get_no_feature_metrics_from_extras():
    rows = [{"idx": 0, "explanation": "the sound", "reference": "r", "extras": {"features": "sound"}}]
    rep = score_rows(rows, EvalConfig(metrics=["fmr", "fcr"]), feature_set=VOCABULARY)
    assert not rep.values and "rows lack feature_true" in rep.unavailable["fmr"]


def test_without_a_vocabulary_only_fmr_is_scored():
    rows = [row(0, "the sound is great", "sound"), row(1, "nice strings", "tone")]
    rep = score_rows(rows, EvalConfig(metrics=["div", "fcr", "fmr"]))
    assert rep.as_dict() == {"fmr": 0.5, "fmr_std": 0.5}
    assert "vocabulary" in rep.unavailable["fcr"] and "vocabulary" in rep.unavailable["div"]


def test_mined_truth_is_the_train_vocabulary_and_the_record_feature():
    opinion = "great sound here and great strings too"
    train = [Record(f"u{i}", "i1", 5.0, review=opinion, reference_explanation=opinion) for i in range(5)]
    truth = mine_feature_truth(train)
    # both words co-occur with an opinion word in 5 >= min_count train sentences
    assert truth.vocabulary == ("sound", "strings")
    test = Record("u9", "i1", 4.0, reference_explanation="the strings are great")
    assert truth.feature_of(test) == "strings"
    assert mine_feature_truth([Record("u", "i", 5.0)]) is None  # no reviews, no vocabulary


def test_a_run_scores_fcr_over_the_train_vocabulary_and_saves_it(tmp_path, monkeypatch):
    from baselines.retrieval import Retrieval

    patch_synthetic_data(monkeypatch)
    monkeypatch.setattr(Retrieval, "fit", lambda self, splits: None)
    monkeypatch.setattr(
        Retrieval, "predict",
        lambda self, records: [Prediction(explanation="great sound", extras={"feature": "tone"})
                               for _ in records],
    )  # fmt: skip
    cfg = resolve("retrieval", "ml-100k", sets=[f"runs_dir={tmp_path}", "eval.metrics=[div, fcr, fmr]"])
    from bench.runner import execute

    result = execute(cfg, quiet=True)
    # the synthetic train reviews yield five features; every explanation names only "sound"
    assert read_vocabulary(result.run_dir) == ("broke", "case", "sound", "strings", "tone")
    values = {r["metric"]: r["value"] for r in result.rows}
    assert values["fcr"] == pytest.approx(1 / 5)
    assert values["div"] == pytest.approx(1.0)  # every pair shares "sound"
    rows = [json.loads(x) for x in (result.run_dir / "predictions.jsonl").read_text().splitlines()]
    # FMR = share of test records whose own mined feature is "sound": 21 of 48
    assert sum(r["feature_true"] == "sound" for r in rows) == 21 and len(rows) == 48
    assert values["fmr"] == pytest.approx(21 / 48)
    rescored = rescore_run(result.run_dir).as_dict()
    assert rescored["fcr"] == pytest.approx(1 / 5) and rescored["fmr"] == pytest.approx(21 / 48)
