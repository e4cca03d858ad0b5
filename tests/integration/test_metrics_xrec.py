"""The suite on XRec's released Amazon predictions equals direct library calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metrics.pairs import pairs_to_rows
from metrics.settings import EvalConfig
from metrics.suite import score_rows

BERT_N = 64
ROUGE_N = 1000  # BERTScore subset, keeps the default test run fast on 2 cores


@pytest.fixture(scope="module")
def xrec_rows():
    from tests.conftest import shared_data_dir

    root = shared_data_dir()
    path = root / "xrec" / "amazon" / "xrec_predictions.jsonl" if root else None
    if path is None or not Path(path).exists():
        pytest.skip("xrec/amazon/xrec_predictions.jsonl not found: set ERBENCH_DATA_DIR")
    return pairs_to_rows(path)


def test_all_pairs_loaded(xrec_rows):
    assert len(xrec_rows) == 3000


def test_usr_bleu_rouge_equal_direct_calls(xrec_rows):
    import sacrebleu
    from rouge_score import rouge_scorer

    preds = [r["explanation"] for r in xrec_rows]
    refs = [r["reference"] for r in xrec_rows]
    rep = score_rows(xrec_rows, EvalConfig(metrics=["usr", "bleu_sacre"]))
    v = rep.as_dict()
    # USR as XRec computes it: distinct s.split() sequences / n; all 3,000 are distinct
    assert v["usr"] == len({tuple(p.split()) for p in preds}) / len(preds) == 1.0
    assert v["bleu4_sacre"] == pytest.approx(sacrebleu.corpus_bleu(preds, [refs]).score, abs=1e-9)
    b1 = sacrebleu.metrics.BLEU(max_ngram_order=1).corpus_score(preds, [refs]).score
    assert v["bleu1_sacre"] == pytest.approx(b1, abs=1e-9)
    # ROUGE on the first ROUGE_N pairs (rouge-score is pure Python and slow)
    v = score_rows(xrec_rows[:ROUGE_N], EvalConfig(metrics=["rougeL_f", "rouge1_f"])).as_dict()
    scorer = rouge_scorer.RougeScorer(["rougeL", "rouge1"], use_stemmer=False)
    direct = [scorer.score(r, p) for p, r in zip(preds[:ROUGE_N], refs[:ROUGE_N], strict=False)]
    assert v["rougeL_f"] == pytest.approx(
        np.mean([d["rougeL"].fmeasure for d in direct]), abs=1e-12
    )
    assert v["rouge1_f"] == pytest.approx(
        np.mean([d["rouge1"].fmeasure for d in direct]), abs=1e-12
    )
    assert v["rougeL_f_std"] == pytest.approx(
        np.std([d["rougeL"].fmeasure for d in direct]), abs=1e-12
    )


def test_bertscore_equals_direct_bert_score(xrec_rows):
    import bert_score

    from bench.encoders import embedded_minilm_path

    rows = xrec_rows[:BERT_N]
    rep = score_rows(rows, EvalConfig(metrics=["bertscore"]))
    P, R, F = bert_score.score(
        [r["explanation"] for r in rows],
        [r["reference"] for r in rows],
        model_type=str(embedded_minilm_path()),
        num_layers=6,
    )
    v = rep.as_dict()
    name = "bertscore_f1[all-MiniLM-L6-v2]"
    assert v[name] == pytest.approx(float(F.mean()), abs=1e-6)
    assert v["bertscore_p[all-MiniLM-L6-v2]"] == pytest.approx(float(P.mean()), abs=1e-6)
    assert v["bertscore_f1_std[all-MiniLM-L6-v2]"] == pytest.approx(
        float(F.std(unbiased=False)), abs=1e-6
    )
    np.testing.assert_allclose(rep.get(name).per_sample, F.numpy(), atol=1e-6)
    ver = rep.get(name).version
    assert (ver["num_layers"], ver["rescale_with_baseline"]) == (6, False)


def test_bf16_bertscore_has_its_own_name_and_stays_close(xrec_rows):
    rows = xrec_rows[:BERT_N]
    exact = score_rows(rows, EvalConfig(metrics=["bertscore"])).as_dict()
    rep = score_rows(rows, EvalConfig(metrics=["bertscore"], bertscore_dtype="bfloat16"))
    fast = rep.as_dict()
    name = "bertscore_f1[all-MiniLM-L6-v2,bf16]"
    assert "bertscore_f1[all-MiniLM-L6-v2]" not in fast  # never reported under the fp32 name
    assert rep.get(name).version["dtype"] == "bfloat16"
    # bf16 rounding moves corpus F1 by ~1e-3 on MiniLM (measured 1.7e-3 at worst on 3,000 pairs)
    assert fast[name] == pytest.approx(exact["bertscore_f1[all-MiniLM-L6-v2]"], abs=5e-3)
    assert fast[name] != exact["bertscore_f1[all-MiniLM-L6-v2]"]
