"""The metric suite; metrics read predictions, never models.

Registrations are lazy ("module:attr") so importing `metrics` does not import torch.
Each entry's meta holds `needs` (fields the metric reads) and `reports` (the base names it
reports) so the suite can choose metrics without importing them.
"""

from __future__ import annotations

from bench.registry import METRICS


def register_metric(
    name: str, target: str, *, needs: set[str] | frozenset[str], summary: str, reports=(), **meta
) -> None:
    """Lazy registration helper; other metric modules' entries go in this file."""
    if name in METRICS:
        return
    METRICS.register(
        name, target, summary=summary, needs=sorted(needs), reports=list(reports) or [name], **meta
    )


_EXPL = {"explanation", "reference"}

# -- text overlap (no torch) ------------------------------------------------------------
register_metric(
    "bleu_sacre",
    "metrics.text:SacreBLEU",
    needs=_EXPL,
    summary="BLEU-1/BLEU-4, sacrebleu corpus BLEU (13a tokenizer, 0-100)",
    reports=("bleu1_sacre", "bleu4_sacre"),
)
register_metric(
    "bleu_peter",
    "metrics.text:PeterBLEU",
    needs=_EXPL,
    summary="BLEU-1/BLEU-4 as PETER/NLG4RS compute it (tokenized corpus BLEU, x100)",
    reports=("bleu1_peter", "bleu4_peter"),
)
register_metric(
    "rouge",
    "metrics.text:Rouge",
    needs=_EXPL,
    summary="ROUGE-1/2/L precision/recall/F (rouge-score, mean over samples, 0-1)",
    reports=tuple(f"rouge{k}_{s}" for k in ("1", "2", "L") for s in ("p", "r", "f")),
)
register_metric(
    "rouge_peter",
    "metrics.rouge_peter:PeterRouge",
    needs=_EXPL,
    summary="ROUGE-1/2/L precision/recall/F as PETER/NLG4RS compute them (unique n-grams, x100)",
    reports=tuple(f"rouge{k}_{s}_peter" for k in ("1", "2", "L") for s in ("p", "r", "f")),
)
register_metric(
    "usr",
    "metrics.text:USR",
    needs={"explanation"},
    summary="unique sentence ratio of generated explanations (XRec/PETER)",
    reports=("usr",),
)
register_metric(
    "feature",
    "metrics.text:FeatureMetrics",
    needs={"explanation", "feature_true"},
    summary="PETER feature measures: DIV (lower better), FCR over the dataset's feature vocabulary, FMR",
    reports=("div", "fcr", "fmr"),
)

# -- semantic ------------------------------------------------------------------------------
register_metric(
    "bertscore",
    "metrics.bertscore:BERTScore",
    needs=_EXPL,
    summary="BERTScore P/R/F1 (roberta-large+rescale when given; else MiniLM L6, no rescale)",
    reports=("bertscore_p", "bertscore_r", "bertscore_f1"),
)
# Owned by the judge/BART/BLEURT engineer: classes must subclass metrics.base.Metric.
register_metric(
    "gptscore",
    "metrics.gptscore:GPTScore",
    needs=_EXPL,
    summary="GPTScore (XRec): LLM judge scores prediction vs reference 0-100; unparseable replies counted",
    reports=("gptscore", "gptscore_unparseable"),
)
register_metric(
    "bartscore",
    "metrics.bartscore:BARTScore",
    needs=_EXPL,
    summary="BARTScore (facebook/bart-large-cnn)",
    reports=("bartscore",),
)
register_metric(
    "bleurt",
    "metrics.bleurt:BLEURT",
    needs=_EXPL,
    summary="BLEURT (bleurt-pytorch; checkpoint in the name, the papers' columns: bleurt-base-128)",
    reports=("bleurt",),
)

# -- rating / CTR --------------------------------------------------------------------------
register_metric(
    "rating",
    "metrics.rating:RatingError",
    needs={"rating", "rating_true"},
    summary="RMSE and MAE of predicted ratings (clipped to the rating range, as PETER)",
    reports=("rmse", "mae"),
)
register_metric(
    "ctr",
    "metrics.ctr:CTRMetrics",
    needs={"ctr_score", "label"},
    summary="AUC, LogLoss, MSE, RMSE, MAE of click probabilities",
    reports=("auc", "logloss", "ctr_mse", "ctr_rmse", "ctr_mae"),
)

# -- coherence -------------------------------------------------------------------------------
register_metric(
    "coherence",
    "metrics.coherence:Coherence",
    needs={"explanation", "rating", "rating_true"},
    summary="Curr-RLCER eq. 8 Accuracy/Coherence/Acc and CIER |r2-r1|<=1 rate",
    reports=(
        "coh_accuracy",
        "coh_coherence",
        "coh_acc",
        "cier_rate",
        "coh_r2_heldout_acc",
        "coh_human_alpha",
        "coh_human_agreement",
    ),
)
