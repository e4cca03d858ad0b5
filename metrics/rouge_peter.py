"""ROUGE as PETER and NLG4RS report it, beside rouge-score's (metrics.text.Rouge) under its own
names, rouge{1,2,L}_{p,r,f}_peter, as bleu*_peter sits beside bleu*_sacre.

Source: lileipisces/PETER rouge.py (the TF-NMT ROUGE script) called by utils.rouge_score. PETER
joins each token list with " " and rouge.py splits it on " " again; per (hypothesis, reference):

- ROUGE-N, n = 1, 2, over *distinct* n-grams: with G_h, G_r the n-gram sets of hypothesis and
  reference, P = |G_h & G_r| / |G_h| and R = |G_h & G_r| / |G_r| (0 for an empty set),
  F = 2PR / (P + R + 1e-8). rouge-score clips n-gram *counts*, so repeated words score differently.
- ROUGE-L, sentence level: L = LCS length of the token lists, R = L / m, P = L / n (m, n: reference
  and hypothesis lengths), beta = P / (R + 1e-12), F = (1 + beta^2) R P / (R + beta^2 P + 1e-12):
  an F-beta with beta = P / R, not rouge-score's harmonic mean.

Each score is averaged over the pairs and multiplied by 100. Tokens are PETER-BLEU's
(metrics.text.peter_tokenize); an empty text is the single empty token "".split(" ") gives, as in
PETER.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from metrics.base import Batch, Metric, MetricValue
from metrics.text import peter_tokenize

VARIANTS = ("1", "2", "L")


class PRF(NamedTuple):
    precision: float
    recall: float
    fmeasure: float


def peter_words(text: str) -> list[str]:
    """The token list PETER's rouge.py sees: tokens joined with " ", split on " "."""
    return " ".join(peter_tokenize(text)).split(" ")


def distinct_ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def rouge_n_peter(hypothesis: list[str], reference: list[str], n: int) -> PRF:
    """PETER rouge.py rouge_n: precision/recall over distinct n-grams, F = 2PR/(P+R+1e-8)."""
    hyp, ref = distinct_ngrams(hypothesis, n), distinct_ngrams(reference, n)
    overlap = len(hyp & ref)
    precision = overlap / len(hyp) if hyp else 0.0
    recall = overlap / len(ref) if ref else 0.0
    return PRF(precision, recall, 2.0 * precision * recall / (precision + recall + 1e-8))


def lcs_length(x: list[str], y: list[str]) -> int:
    """Length of the longest common subsequence (dynamic programming, two rows)."""
    previous = [0] * (len(y) + 1)
    for a in x:
        current = [0]
        for j, b in enumerate(y, 1):
            current.append(previous[j - 1] + 1 if a == b else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l_peter(hypothesis: list[str], reference: list[str]) -> PRF:
    """PETER rouge.py rouge_l_sentence_level: F-beta of LCS precision/recall with beta = P/R."""
    lcs = lcs_length(hypothesis, reference)
    recall, precision = lcs / len(reference), lcs / len(hypothesis)
    beta = precision / (recall + 1e-12)
    fmeasure = (1 + beta**2) * recall * precision / (recall + beta**2 * precision + 1e-12)
    return PRF(precision, recall, fmeasure)


def rouge_peter(hypothesis: str, reference: str) -> dict[str, PRF]:
    """{"1": ROUGE-1, "2": ROUGE-2, "L": ROUGE-L} of one pair, each on a 0-1 scale."""
    hyp, ref = peter_words(hypothesis), peter_words(reference)
    return {"1": rouge_n_peter(hyp, ref, 1), "2": rouge_n_peter(hyp, ref, 2), "L": rouge_l_peter(hyp, ref)}


class PeterRouge(Metric):
    """ROUGE-1/2/L precision, recall and F as PETER/NLG4RS report them (mean over pairs, x100)."""

    name = "rouge_peter"
    needs = frozenset({"explanation", "reference"})
    level = "sample"
    higher_is_better = True
    reports = tuple(f"rouge{k}_{s}_peter" for k in VARIANTS for s in ("p", "r", "f"))

    def version(self) -> dict[str, Any]:
        return {
            **super().version(),
            "definition": "PETER rouge.py (distinct n-grams; ROUGE-L F-beta, beta = P/R)",
            "tokenizer": "lower+\\w+|punct",
            "scale": 100,
        }

    def compute(self, batch: Batch) -> list[MetricValue]:
        per: dict[str, list[float]] = {name: [] for name in self.reports}
        for hyp, ref in zip(batch.texts("explanation"), batch.texts("reference"), strict=True):
            for variant, prf in rouge_peter(hyp, ref).items():
                for short, value in zip("prf", prf, strict=True):
                    per[f"rouge{variant}_{short}_peter"].append(100 * value)
        return [self.value_from_samples(name, scores) for name, scores in per.items()]
