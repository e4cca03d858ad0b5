"""The nlptown-style 1-5 star classifier (coherence r2, Curr-RLCER eq. 7's C) loads from a local
folder, on the run's device: checked on the 5-label stand-in (tests/standins/scorers.py)."""

from __future__ import annotations

from metrics.rating_classifier import HFStarClassifier
from metrics.settings import EvalConfig
from metrics.suite import score_rows
from tests.standins.scorers import star_classifier


def test_hf_star_classifier_loads_a_local_folder_and_reads_star_labels():
    clf = HFStarClassifier(str(star_classifier()), device="cpu")
    assert clf.pipe.device.type == "cpu"
    stars = clf.predict(["great sound", "the strings broke", "ok"])
    assert len(stars) == 3 and set(stars) <= {1.0, 2.0, 3.0, 4.0, 5.0}


def test_coherence_classifier_column_from_a_local_star_classifier():
    folder = star_classifier()
    rows = [
        {"idx": i, "explanation": text, "rating": r1, "rating_true": r0}
        for i, (text, r1, r0) in enumerate(
            [("great sound", 5, 5), ("the strings broke", 2, 1), ("fine product", 3, 4)]
        )
    ]
    cfg = EvalConfig(metrics=["coherence"], sentiment_classifier=str(folder))
    report = score_rows(rows, cfg)
    name = "coh_acc[nlptown-sentiment]"  # the folder carries the real model's name
    assert not report.unavailable, report.unavailable
    value = report.get(name)
    assert 0.0 <= value.value <= 1.0 and value.n == 3


def test_currrl_classifier_runs_on_the_run_device(monkeypatch):
    from methods.currrl import encoders
    from metrics import rating_classifier

    seen = {}

    class Recorder:
        def __init__(self, spec, device="auto"):
            seen["device"] = device

        def predict(self, texts):
            return [3.0 for _ in texts]

    monkeypatch.setattr(rating_classifier, "HFStarClassifier", Recorder)
    classify = encoders.sentiment_classifier("/models/nlptown", [], [], device="cuda:1")
    assert classify(["x"]) == [3.0] and seen["device"] == "cuda:1"
