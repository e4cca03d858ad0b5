"""Curr-RLCER eq. 8 coherence, CIER rate, human-rating agreement, the rating classifier."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.api.errors import DataError
from bench.api.judgments import read_ratings
from bench.api.records import Record
from metrics.coherence import (
    coherence_scores,
    krippendorff_alpha_interval,
    mean_pairwise_agreement,
)
from metrics.settings import EvalConfig
from metrics.suite import score_rows


def test_eq8_hand_values():
    # Curr-RLCER eq. 8 with R = 4:
    # sample 1: r0=5 r1=4 r2=3 -> Accuracy ((1-1/4)+(1-2/4))/2 = .625, Coherence 1-1/4 = .75
    # sample 2: r0=2 r1=2 r2=5 -> Accuracy (1+(1-3/4))/2 = .625, Coherence 1-3/4 = .25
    s = coherence_scores([5, 2], [4, 2], [3, 5])
    assert s["coh_accuracy"] == pytest.approx([0.625, 0.625])
    assert s["coh_coherence"] == pytest.approx([0.75, 0.25])
    assert s["coh_acc"] == pytest.approx([0.6875, 0.4375])  # (Accuracy + Coherence) / 2
    assert s["cier_rate"] == [1.0, 0.0]  # |r2 - r1| <= 1


def rows():
    return [
        {
            "idx": 0,
            "user_id": "u0",
            "item_id": "i0",
            "rating_true": 5,
            "rating": 4,
            "explanation": "fine",
            "reference": "x",
        },
        {
            "idx": 1,
            "user_id": "u1",
            "item_id": "i1",
            "rating_true": 2,
            "rating": 2,
            "explanation": "awful",
            "reference": "x",
        },
    ]


def test_coherence_with_injected_judge_through_suite():
    judge = lambda texts: [3.0 if t == "fine" else 5.0 for t in texts]  # noqa: E731
    cfg = EvalConfig(metrics=["coherence"], coherence_sources=["judge"], judge_model="m")
    rep = score_rows(rows(), cfg, judge=judge)
    v = rep.as_dict()
    assert v["coh_acc[judge:m]"] == pytest.approx((0.6875 + 0.4375) / 2)
    assert v["coh_accuracy[judge:m]"] == pytest.approx(0.625)
    assert v["cier_rate[judge:m]"] == pytest.approx(0.5)
    # population std of per-sample Acc [0.6875, 0.4375]
    assert v["coh_acc_std[judge:m]"] == pytest.approx(0.125)
    assert rep.per_example[0]["coh_acc[judge:m]"] == pytest.approx(0.6875)


def test_coherence_judge_missing_is_unavailable_with_reason():
    cfg = EvalConfig(metrics=["coh_acc"], coherence_sources=["judge"])
    rep = score_rows(rows(), cfg)
    assert not rep.values
    ((name, reason),) = [(k, r) for k, r in rep.unavailable.items() if k.startswith("coh_acc[")]
    assert name.startswith("coh_acc[judge:") and "judge" in reason


def test_human_ratings_csv_averaged_with_agreement(tmp_path):
    csv = tmp_path / "human.csv"
    csv.write_text("idx,annotator,rating\n0,a,3\n0,b,3\n1,a,4\n1,b,6\n", encoding="utf-8")
    cfg = EvalConfig(metrics=["coherence"], coherence_sources=["human"], human_ratings_csv=str(csv))
    v = score_rows(rows(), cfg).as_dict()
    # r2 = mean over annotators: 3 and 5 -> the same r2 as the judge test above
    assert v["coh_acc[human]"] == pytest.approx(0.5625)
    assert v["coh_human_agreement[human]"] == pytest.approx(0.5)  # 1 of 2 annotator pairs agree


def test_krippendorff_alpha_interval_hand_value():
    # units [1,2], [3,3]: D_o = (1+1)/1 / 4 = 0.5; D_e = 22 / (4*3); alpha = 1 - D_o/D_e = 8/11
    ratings = {"u1": [1, 2], "u2": [3, 3]}
    assert krippendorff_alpha_interval(ratings) == pytest.approx(8 / 11)
    assert mean_pairwise_agreement(ratings) == pytest.approx(0.5)
    assert krippendorff_alpha_interval({"a": [1, 1], "b": [3, 3]}) == 1.0


def test_human_csv_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("idx,annotator,rating\n0,a,three\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.csv:2"):
        read_ratings(bad)


POS = [
    "great product, love it",
    "excellent, works perfectly",
    "wonderful sound, highly recommend",
    "amazing quality, five stars",
    "fantastic value, very happy",
]
NEG = [
    "terrible, broke immediately",
    "awful quality, waste of money",
    "horrible, do not buy",
    "worst purchase ever, useless",
    "very bad, returned it",
]


def train_records():
    recs = []
    for k in range(4):
        recs += [
            Record(user_id=f"u{k}{i}", item_id="i", rating=5.0, review=t) for i, t in enumerate(POS)
        ]
        recs += [
            Record(user_id=f"v{k}{i}", item_id="i", rating=1.0, review=t) for i, t in enumerate(NEG)
        ]
    return recs


def test_rating_classifier_fit_predict_save_load(tmp_path):
    from metrics.rating_classifier import RatingClassifier

    recs = train_records()
    clf = RatingClassifier(heldout=0.25).fit([r.review for r in recs], [r.rating for r in recs])
    assert 0.0 <= clf.heldout_accuracy <= 1.0 and clf.n_heldout == 10
    texts = ["love it, excellent", "awful, broke"]
    assert clf.predict(texts) == [5.0, 1.0]
    clf.save(tmp_path / "clf")
    meta = json.loads((tmp_path / "clf" / "classifier.json").read_text())
    assert meta["classes"] == [1, 5]
    with np.load(tmp_path / "clf" / "classifier.npz", allow_pickle=False) as data:
        assert data["coef"].shape[1] == 384
    again = RatingClassifier.load(tmp_path / "clf")
    assert again.predict(texts) == clf.predict(texts)
    assert again.heldout_accuracy == clf.heldout_accuracy


def test_coherence_embedded_classifier_trained_on_train_reviews(tmp_path):
    cfg = EvalConfig(metrics=["coherence"])
    data = rows()
    data[0]["explanation"] = "excellent, love it"
    data[1]["explanation"] = "terrible, waste of money"
    rep = score_rows(data, cfg, train_records=train_records(), cache_dir=tmp_path)
    v = rep.as_dict()
    # r2 = [5, 1]: sample 1 Accuracy (0.75 + 1)/2, Coherence 0.75; sample 2 (1 + 0.75)/2, 0.75
    assert v["coh_acc[minilm-logreg]"] == pytest.approx(
        ((0.875 + 0.75) / 2 + (0.875 + 0.75) / 2) / 2
    )
    assert "coh_r2_heldout_acc[minilm-logreg]" in v
    assert list((tmp_path / "rating_classifier").iterdir())  # cached for the next scoring


def test_coherence_without_train_reviews_is_unavailable():
    rep = score_rows(rows(), EvalConfig(metrics=["coherence"]))
    assert "train split" in rep.unavailable["coh_acc[minilm-logreg]"]


def test_official_sentiment_classifier_not_loadable_is_unavailable():
    cfg = EvalConfig(
        metrics=["coherence"],
        sentiment_classifier="nlptown/bert-base-multilingual-uncased-sentiment",
    )
    rep = score_rows(rows(), cfg, train_records=train_records())
    assert not rep.values
    assert "not loadable" in rep.unavailable["coh_acc[nlptown-sentiment]"]
