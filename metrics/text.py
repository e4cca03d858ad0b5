"""Text-overlap and diversity metrics: BLEU (sacrebleu and PETER-style), ROUGE, USR, DIV/FCR/FMR."""

from __future__ import annotations

import collections
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.api.settings import Settings
from metrics.base import Batch, Metric, MetricValue


@dataclass
class RougeSettings(Settings):
    section = "rouge"
    always_hashed = True
    rouge_use_stemmer: bool = False  # rouge-score option, recorded in the metric version


_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def peter_tokenize(text: str) -> list[str]:
    """Lower-cased word/punctuation tokens, close to PETER's preprocessed templates."""
    return _TOKEN_RE.findall(text.lower())


# -- PETER / NLG4RS corpus BLEU (the TF-NMT compute_bleu that PETER's utils call) ----------


def _ngrams(tokens: Sequence[str], max_order: int) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    for order in range(1, max_order + 1):
        for i in range(len(tokens) - order + 1):
            counts[tuple(tokens[i : i + order])] += 1
    return counts


def corpus_bleu_peter(
    references: Sequence[Sequence[str]],
    hypotheses: Sequence[Sequence[str]],
    max_order: int = 4,
    smooth: bool = False,
) -> float:
    """Corpus BLEU in [0, 1] with one reference per hypothesis.

    Clipped n-gram precisions summed over the corpus, geometric mean with uniform weights
    1/max_order, brevity penalty exp(1 - r/c) when c <= r (r, c: corpus reference and
    hypothesis lengths). Without smoothing any zero precision gives 0.
    """
    matches = [0] * max_order
    possible = [0] * max_order
    ref_len = hyp_len = 0
    for ref, hyp in zip(references, hypotheses, strict=False):
        ref_len += len(ref)
        hyp_len += len(hyp)
        overlap = _ngrams(hyp, max_order) & _ngrams(ref, max_order)
        for ngram, count in overlap.items():
            matches[len(ngram) - 1] += count
        for order in range(1, max_order + 1):
            n = len(hyp) - order + 1
            if n > 0:
                possible[order - 1] += n
    precisions = []
    for i in range(max_order):
        if smooth:
            precisions.append((matches[i] + 1.0) / (possible[i] + 1.0))
        else:
            precisions.append(matches[i] / possible[i] if possible[i] > 0 else 0.0)
    if min(precisions) > 0:
        geo_mean = math.exp(sum(math.log(p) / max_order for p in precisions))
    else:
        geo_mean = 0.0
    if ref_len == 0 or hyp_len == 0:
        return 0.0
    ratio = hyp_len / ref_len
    bp = 1.0 if ratio > 1.0 else math.exp(1 - 1.0 / ratio)
    return geo_mean * bp


class PeterBLEU(Metric):
    """BLEU-1 and BLEU-4 as PETER/NLG4RS report them: tokenized corpus BLEU x 100, no smoothing."""

    name = "bleu_peter"
    needs = frozenset({"explanation", "reference"})
    level = "corpus"
    higher_is_better = True
    reports = ("bleu1_peter", "bleu4_peter")

    def version(self) -> dict[str, Any]:
        return {**super().version(), "tokenizer": "lower+\\w+|punct", "smooth": False, "scale": 100}

    def compute(self, batch: Batch) -> list[MetricValue]:
        hyps = [peter_tokenize(t) for t in batch.texts("explanation")]
        refs = [peter_tokenize(t) for t in batch.texts("reference")]
        n = len(batch)
        return [
            self.value("bleu1_peter", 100 * corpus_bleu_peter(refs, hyps, 1), n),
            self.value("bleu4_peter", 100 * corpus_bleu_peter(refs, hyps, 4), n),
        ]


class SacreBLEU(Metric):
    """Standard sacrebleu corpus BLEU (13a tokenization, exp smoothing), orders 1 and 4."""

    name = "bleu_sacre"
    needs = frozenset({"explanation", "reference"})
    level = "corpus"
    higher_is_better = True
    reports = ("bleu1_sacre", "bleu4_sacre")

    def version(self) -> dict[str, Any]:
        import sacrebleu

        return {
            **super().version(),
            "sacrebleu": sacrebleu.__version__,
            "tokenize": "13a",
            "smooth": "exp",
            "scale": 100,
        }

    def compute(self, batch: Batch) -> list[MetricValue]:
        from sacrebleu.metrics import BLEU

        hyps = batch.texts("explanation")
        refs = [batch.texts("reference")]
        n = len(batch)
        b1 = BLEU(max_ngram_order=1).corpus_score(hyps, refs).score
        b4 = BLEU().corpus_score(hyps, refs).score
        return [self.value("bleu1_sacre", b1, n), self.value("bleu4_sacre", b4, n)]


class Rouge(Metric):
    """ROUGE-1/2/L precision, recall, F-measure per sample (rouge-score), averaged; 0-1 scale."""

    name = "rouge"
    needs = frozenset({"explanation", "reference"})
    level = "sample"
    higher_is_better = True
    reports = tuple(f"rouge{k}_{s}" for k in ("1", "2", "L") for s in ("p", "r", "f"))
    settings_classes = (RougeSettings,)

    @property
    def use_stemmer(self) -> bool:
        return RougeSettings.of(self.eval_cfg).rouge_use_stemmer

    def version(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {
            **super().version(),
            "rouge_score": version("rouge-score"),
            "use_stemmer": self.use_stemmer,
            "scale": 1,
        }

    def compute(self, batch: Batch) -> list[MetricValue]:
        from rouge_score import rouge_scorer

        keys = ("rouge1", "rouge2", "rougeL")
        scorer = rouge_scorer.RougeScorer(list(keys), use_stemmer=self.use_stemmer)
        per = {(k, s): [] for k in keys for s in "prf"}
        for hyp, ref in zip(batch.texts("explanation"), batch.texts("reference"), strict=False):
            scores = scorer.score(ref, hyp)  # score(target, prediction)
            for k in keys:
                sc = scores[k]
                per[(k, "p")].append(sc.precision)
                per[(k, "r")].append(sc.recall)
                per[(k, "f")].append(sc.fmeasure)
        return [self.value_from_samples(f"{k}_{s}", per[(k, s)]) for k in keys for s in "prf"]


def unique_sentence_ratio(texts: Iterable[str]) -> tuple[float, int]:
    """(USR, USN): distinct whitespace-token sequences / n, as XRec (s.split()) and PETER do."""
    seqs = [tuple(t.split()) for t in texts]
    if not seqs:
        return float("nan"), 0
    unique = len(set(seqs))
    return unique / len(seqs), unique


class USR(Metric):
    """Unique sentence ratio of the generated explanations."""

    name = "usr"
    needs = frozenset({"explanation"})
    level = "corpus"
    higher_is_better = True
    reports = ("usr",)

    def version(self) -> dict[str, Any]:
        return {**super().version(), "tokenizer": "str.split"}

    def compute(self, batch: Batch) -> list[MetricValue]:
        usr, _ = unique_sentence_ratio(batch.texts("explanation"))
        return [self.value("usr", usr, len(batch))]


# -- PETER feature measures -------------------------------------------------------------------


def as_feature_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    return [str(v) for v in value if str(v).strip()]


def feature_detect(
    tokens: Sequence[str], feature_set: Iterable[tuple[str, ...]]
) -> set[tuple[str, ...]]:
    """Features (token tuples) that occur contiguously in `tokens`."""
    found = set()
    token_set = set(tokens)
    for feat in feature_set:
        if len(feat) == 1:
            if feat[0] in token_set:
                found.add(feat)
        elif feat[0] in token_set:
            k = len(feat)
            if any(tuple(tokens[i : i + k]) == feat for i in range(len(tokens) - k + 1)):
                found.add(feat)
    return found


def feature_scores(
    predicted: Sequence[Sequence[str]],
    true_features: Sequence[Sequence[tuple[str, ...]]],
    feature_set: set[tuple[str, ...]],
) -> tuple[float, float, float, list[float]]:
    """(DIV, FCR, FMR, per-sample match) following PETER's utils (lileipisces/PETER utils.py).

    F_i = the features of `feature_set` (the dataset's vocabulary, PETER's corpus.feature_set)
    detected in explanation i.
    DIV = sum_{i<j} |F_i & F_j| / (N(N-1)/2), computed as sum_f C(c_f, 2) / C(N, 2).
    FCR = |union_i F_i| / |feature_set|.  FMR = mean_i [any true feature of i in F_i].
    """
    detected = [feature_detect(toks, feature_set) for toks in predicted]
    n = len(detected)
    counts: collections.Counter = collections.Counter()
    for fs in detected:
        counts.update(fs)
    pairs = n * (n - 1) / 2
    div = sum(c * (c - 1) / 2 for c in counts.values()) / pairs if pairs else float("nan")
    fcr = len(counts) / len(feature_set) if feature_set else float("nan")
    match = [
        float(any(f in fs for f in true)) for fs, true in zip(detected, true_features, strict=False)
    ]
    fmr = sum(match) / n if n else float("nan")
    return div, fcr, fmr, match


class FeatureMetrics(Metric):
    """PETER's DIV (lower is better), FCR and FMR (lileipisces/PETER utils.py).

    The truth is each row's `feature_true`, the record's own mined feature from the data
    (bench.data.feature_truth), never a method's extras. The feature set is the dataset's feature
    vocabulary, passed as `feature_set` in the context; it is never derived from the rows. Without
    it DIV and FCR are unavailable and FMR alone is scored: with the rows' true features as the
    detection set a row matches exactly when its own feature occurs in its explanation."""

    name = "feature"
    needs = frozenset({"explanation", "feature_true"})
    level = "corpus"
    higher_is_better = True
    reports = ("div", "fcr", "fmr")

    def vocabulary(self) -> set[tuple[str, ...]]:
        given = self.context.get("feature_set") or ()
        return {tuple(peter_tokenize(f)) for f in given} - {()}

    def version(self) -> dict[str, Any]:
        from bench.data.feature_truth import vocabulary_digest

        given = list(self.context.get("feature_set") or ())
        vocabulary = (
            {"source": "dataset", "size": len(self.vocabulary()), "sha256": vocabulary_digest(given)}
            if given
            else {"source": "none (FMR only)"}
        )
        return {**super().version(), "tokenizer": "lower+\\w+|punct", "feature_set": vocabulary}

    def compute(self, batch: Batch) -> list[MetricValue]:
        true = [
            [f for f in (tuple(peter_tokenize(x)) for x in as_feature_list(v)) if f]
            for v in batch.column("feature_true")
        ]
        feature_set = self.vocabulary()
        if not feature_set:
            reason = "needs the dataset's feature vocabulary (a run's feature_vocabulary.json)"
            self.skipped.update({"div": reason, "fcr": reason})
            feature_set = {f for fs in true for f in fs}
        predicted = [peter_tokenize(t) for t in batch.texts("explanation")]
        div, fcr, fmr, match = feature_scores(predicted, true, feature_set)
        n = len(batch)
        values = [self.value("fmr", fmr, n, per_sample=match)]
        if "fcr" not in self.skipped:
            values += [self.value("div", div, n, higher_is_better=False), self.value("fcr", fcr, n)]
        return values
