"""Text metrics against hand-computed values on tiny inputs."""

from __future__ import annotations

import math

import pytest

from metrics.base import Batch
from metrics.settings import EvalConfig
from metrics.text import (
    PeterBLEU,
    Rouge,
    SacreBLEU,
    corpus_bleu_peter,
    feature_scores,
    peter_tokenize,
    unique_sentence_ratio,
)


def rows(pairs, **extra):
    return [
        {
            "idx": i,
            "explanation": h,
            "reference": r,
            "extras": dict(extra.get("extras", [{}] * len(pairs))[i]),
        }
        for i, (h, r) in enumerate(pairs)
    ]


def test_usr_counts_distinct_token_sequences():
    # USR = |distinct split() sequences| / n (XRec/PETER unique_sentence_percent)
    usr, usn = unique_sentence_ratio(["a b", "a b", "a  b", "c"])
    assert (usr, usn) == (0.5, 2)


def test_peter_bleu_hand_values():
    hyp, ref = peter_tokenize("the cat sat on the mat"), peter_tokenize("the cat is on the mat")
    # BLEU-1: clipped unigram matches 5/6, BP = 1 (equal lengths)
    assert corpus_bleu_peter([ref], [hyp], 1) == pytest.approx(5 / 6)
    # BLEU-2: sqrt(5/6 * 3/5)
    assert corpus_bleu_peter([ref], [hyp], 2) == pytest.approx(math.sqrt(5 / 6 * 3 / 5))
    # BLEU-4 without smoothing: no 4-gram match -> 0 (TF-NMT compute_bleu as in PETER)
    assert corpus_bleu_peter([ref], [hyp], 4) == 0.0
    # smoothed: ((5+1)/(6+1) * (3+1)/(5+1) * (1+1)/(4+1) * (0+1)/(3+1))^(1/4)
    assert corpus_bleu_peter([ref], [hyp], 4, smooth=True) == pytest.approx(
        (6 / 7 * 4 / 6 * 2 / 5 * 1 / 4) ** 0.25
    )
    # brevity penalty exp(1 - r/c) with r=3, c=2
    assert corpus_bleu_peter([["the", "cat", "sat"]], [["the", "cat"]], 1) == pytest.approx(
        math.exp(1 - 3 / 2)
    )


def test_peter_bleu_metric_scales_by_100():
    b = Batch(rows([("the cat sat on the mat", "the cat is on the mat")]))
    values = {v.name: v.value for v in PeterBLEU().compute(b)}
    assert values == {"bleu1_peter": pytest.approx(100 * 5 / 6), "bleu4_peter": 0.0}


def test_sacrebleu_bleu1_hand_value():
    # sacrebleu BLEU-1 = 100 * p1 * BP = 100 * 1 * exp(1 - 3/2)
    b = Batch(rows([("the cat", "the cat sat")]))
    values = {v.name: v.value for v in SacreBLEU().compute(b)}
    assert values["bleu1_sacre"] == pytest.approx(100 * math.exp(-0.5), abs=1e-6)


def test_rouge_hand_values():
    b = Batch(rows([("the cat sat", "the cat was here")]))
    v = {x.name: x.value for x in Rouge(EvalConfig()).compute(b)}
    # ROUGE-1: overlap 2, P = 2/3, R = 2/4, F = 2PR/(P+R) = 4/7
    assert (v["rouge1_p"], v["rouge1_r"], v["rouge1_f"]) == pytest.approx((2 / 3, 1 / 2, 4 / 7))
    # ROUGE-2: overlap 1 ("the cat"), P = 1/2, R = 1/3, F = 0.4
    assert (v["rouge2_p"], v["rouge2_r"], v["rouge2_f"]) == pytest.approx((1 / 2, 1 / 3, 0.4))
    # ROUGE-L: LCS "the cat" = 2 tokens, same as ROUGE-1 here
    assert v["rougeL_f"] == pytest.approx(4 / 7)


def test_div_fcr_fmr_hand_values():
    preds = ["the sound is great", "great price and sound", "nice strings"]
    true = [["sound"], ["price"], ["tone"]]
    fset = {("sound",), ("price",), ("tone",), ("strings",)}
    div, fcr, fmr, match = feature_scores(
        [peter_tokenize(p) for p in preds], [[(f,) for f in t] for t in true], fset
    )
    # detected: {sound}, {price, sound}, {strings}
    # DIV = sum_{i<j} |F_i & F_j| / C(3,2) = (1 + 0 + 0) / 3   (PETER feature_diversity)
    assert div == pytest.approx(1 / 3)
    # FCR = |{sound, price, strings}| / |feature set| = 3/4
    assert fcr == pytest.approx(3 / 4)
    # FMR = share of rows whose true feature is generated = 2/3
    assert fmr == pytest.approx(2 / 3) and match == [1.0, 1.0, 0.0]


def test_multiword_feature_detected_contiguously():
    from metrics.text import feature_detect

    toks = peter_tokenize("great sound quality here")
    assert feature_detect(toks, {("sound", "quality"), ("quality", "sound")}) == {
        ("sound", "quality")
    }
