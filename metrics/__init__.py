"""The metric suite; metrics read predictions, never models.

Registrations are lazy ("module:attr") so importing `metrics` does not import torch. What a
metric needs and reports is declared once, on its class (metrics.base.Metric.declarations),
and read through METRICS.declared(name).
"""

from __future__ import annotations

from bench.api.registry import METRICS

# name, target, summary
_BUILTIN = [
    # -- text overlap (no torch)
    ("bleu_sacre", "metrics.text:SacreBLEU",
     "BLEU-1/BLEU-4, sacrebleu corpus BLEU (13a tokenizer, 0-100)"),
    ("bleu_peter", "metrics.text:PeterBLEU",
     "BLEU-1/BLEU-4 as PETER/NLG4RS compute it (tokenized corpus BLEU, x100)"),
    ("rouge", "metrics.text:Rouge",
     "ROUGE-1/2/L precision/recall/F (rouge-score, mean over samples, 0-1)"),
    ("rouge_peter", "metrics.rouge_peter:PeterRouge",
     "ROUGE-1/2/L precision/recall/F as PETER/NLG4RS compute them (unique n-grams, x100)"),
    ("usr", "metrics.text:USR",
     "unique sentence ratio of generated explanations (XRec/PETER)"),
    ("feature", "metrics.text:FeatureMetrics",
     "PETER feature measures: DIV (lower better), FCR over the dataset's feature vocabulary, FMR"),
    # -- semantic
    ("bertscore", "metrics.bertscore:BERTScore",
     "BERTScore P/R/F1 (roberta-large+rescale when given; else MiniLM L6, no rescale)"),
    ("gptscore", "metrics.gptscore:GPTScore",
     "GPTScore (XRec): LLM judge scores prediction vs reference 0-100; unparseable replies counted"),
    ("bartscore", "metrics.bartscore:BARTScore",
     "BARTScore (facebook/bart-large-cnn)"),
    ("bleurt", "metrics.bleurt:BLEURT",
     "BLEURT (bleurt-pytorch; checkpoint in the name, the papers' columns: bleurt-base-128)"),
    # -- rating / CTR
    ("rating", "metrics.rating:RatingError",
     "RMSE and MAE of predicted ratings (clipped to the rating range, as PETER)"),
    ("ctr", "metrics.ctr:CTRMetrics",
     "AUC, LogLoss, MSE, RMSE, MAE of click probabilities"),
    # -- coherence
    ("coherence", "metrics.coherence:Coherence",
     "Curr-RLCER eq. 8 Accuracy/Coherence/Acc and CIER |r2-r1|<=1 rate"),
]  # fmt: skip

METRICS.register_lazy(_BUILTIN)
