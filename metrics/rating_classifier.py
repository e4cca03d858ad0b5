"""A 1-5 star rating classifier from text: MiniLM sentence embeddings + logistic regression.

The embedded stand-in for nlptown/bert-base-multilingual-uncased-sentiment, trained on the
train split's review texts. Used by the coherence metric (explanation-based rating r2) and
reusable as the Curr-RLCER coherence reward C(·).

    clf = RatingClassifier().fit(texts, ratings)     # holds out 20% to report its accuracy
    clf.heldout_accuracy                              # on the held-out part
    clf.predict(["great strings, sound wonderful"])   # -> [5.0]
    clf.save(folder); RatingClassifier.load(folder)   # JSON + npz (no pickle)

Saved files: classifier.json (metadata) and classifier.npz (coef, intercept, classes);
np.load(allow_pickle=False) reads them back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.encoders import EMBEDDED_NAME, embed

FORMAT_VERSION = 1


def clip_words(text: str, max_words: int) -> str:
    words = text.split()
    return " ".join(words[:max_words])


def data_digest(texts: Sequence[str], ratings: Sequence[float]) -> str:
    h = hashlib.sha256()
    for t, r in zip(texts, ratings, strict=False):
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
        h.update(str(float(r)).encode())
        h.update(b"\x01")
    return h.hexdigest()[:16]


class RatingClassifier:
    """fit(texts, ratings) / predict(texts) -> ratings in {1..5}; save/load as JSON + npz."""

    label = "minilm-logreg"

    def __init__(
        self,
        *,
        C: float = 1.0,
        class_weight: str | None = "balanced",
        max_words: int = 100,
        heldout: float = 0.2,
        seed: int = 0,
        max_train: int | None = 3000,
        encoder_path: str | None = None,
    ):
        self.C = C
        self.class_weight = class_weight
        self.max_words = max_words
        self.heldout = heldout
        self.seed = seed
        self.max_train = max_train
        self.encoder_path = encoder_path
        self.coef: Any = None
        self.intercept: Any = None
        self.classes: Any = None
        self.heldout_accuracy: float | None = None
        self.n_train = 0
        self.n_heldout = 0
        self.digest = ""

    # -- training -----------------------------------------------------------------------
    def _embed(self, texts: Sequence[str], cache_dir: Path | None = None) -> Any:
        return embed(
            [clip_words(t, self.max_words) for t in texts],
            path=self.encoder_path,
            cache_dir=cache_dir,
        )

    def fit(
        self, texts: Sequence[str], ratings: Sequence[float], *, cache_dir: Path | None = None
    ) -> RatingClassifier:
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        if len(texts) != len(ratings):
            raise ValueError("texts and ratings differ in length")
        pairs = [
            (t, int(round(float(r))))
            for t, r in zip(texts, ratings, strict=False)
            if t and t.strip()
        ]
        if len(pairs) < 10:
            raise ValueError(f"need at least 10 non-empty texts to train, got {len(pairs)}")
        self.digest = data_digest([p[0] for p in pairs], [p[1] for p in pairs])
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(pairs))
        if self.max_train and len(order) > self.max_train / (1 - self.heldout):
            order = order[: int(self.max_train / (1 - self.heldout))]
        n_held = int(round(len(order) * self.heldout)) if self.heldout else 0
        held, train = order[:n_held], order[n_held:]
        X = self._embed([pairs[i][0] for i in order], cache_dir)
        y = np.asarray([pairs[i][1] for i in order])
        pos = {int(i): k for k, i in enumerate(order)}
        Xtr = X[[pos[int(i)] for i in train]]
        ytr = y[[pos[int(i)] for i in train]]
        model = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000)
        model.fit(Xtr, ytr)
        self.coef, self.intercept, self.classes = model.coef_, model.intercept_, model.classes_
        self.n_train, self.n_heldout = len(train), n_held
        if n_held:
            Xh = X[[pos[int(i)] for i in held]]
            yh = y[[pos[int(i)] for i in held]]
            self.heldout_accuracy = float((self._predict_X(Xh) == yh).mean())
        return self

    # -- inference ------------------------------------------------------------------------
    def _scores(self, X: Any) -> Any:
        if self.coef is None:
            raise RuntimeError("RatingClassifier is not fitted")
        scores = X @ self.coef.T + self.intercept
        if scores.shape[1] == 1:  # binary case: sklearn keeps one row of coefficients
            import numpy as np

            scores = np.concatenate([-scores, scores], axis=1)
        return scores

    def _predict_X(self, X: Any) -> Any:
        return self.classes[self._scores(X).argmax(axis=1)]

    def predict(self, texts: Sequence[str]) -> list[float]:
        """The most likely star rating of each text."""
        if not texts:
            return []
        return [float(v) for v in self._predict_X(self._embed(texts))]

    def predict_proba(self, texts: Sequence[str]) -> Any:
        import numpy as np

        s = self._scores(self._embed(texts))
        s = s - s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(axis=1, keepdims=True)

    def expected_rating(self, texts: Sequence[str]) -> list[float]:
        """Probability-weighted rating (a smooth alternative for rewards)."""
        p = self.predict_proba(texts)
        return [float(v) for v in p @ self.classes.astype(float)]

    # -- persistence (JSON + npz, no pickle) -------------------------------------------------
    def meta(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": "minilm-logreg",
            "encoder": EMBEDDED_NAME if self.encoder_path is None else self.encoder_path,
            "C": self.C,
            "class_weight": self.class_weight,
            "max_words": self.max_words,
            "heldout": self.heldout,
            "seed": self.seed,
            "max_train": self.max_train,
            "heldout_accuracy": self.heldout_accuracy,
            "n_train": self.n_train,
            "n_heldout": self.n_heldout,
            "train_digest": self.digest,
            "classes": [int(c) for c in self.classes] if self.classes is not None else None,
        }

    def save(self, folder: str | Path) -> Path:
        import numpy as np

        from bench.api.run_folder import atomic_write_json, written_atomically

        folder = Path(folder)
        with written_atomically(folder / "classifier.npz") as tmp:
            np.savez(tmp, coef=self.coef, intercept=self.intercept, classes=self.classes)
        atomic_write_json(folder / "classifier.json", self.meta())
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> RatingClassifier:
        import numpy as np

        folder = Path(folder)
        meta = json.loads((folder / "classifier.json").read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{folder}: unsupported classifier format {meta.get('format_version')}"
            )
        enc = None if meta["encoder"] == EMBEDDED_NAME else meta["encoder"]
        clf = cls(
            C=meta["C"],
            class_weight=meta["class_weight"],
            max_words=meta["max_words"],
            heldout=meta["heldout"],
            seed=meta["seed"],
            max_train=meta["max_train"],
            encoder_path=enc,
        )
        with np.load(folder / "classifier.npz", allow_pickle=False) as data:
            clf.coef, clf.intercept, clf.classes = data["coef"], data["intercept"], data["classes"]
        clf.heldout_accuracy = meta["heldout_accuracy"]
        clf.n_train, clf.n_heldout = meta["n_train"], meta["n_heldout"]
        clf.digest = meta["train_digest"]
        return clf

    @classmethod
    def fit_or_load(
        cls, texts: Sequence[str], ratings: Sequence[float], cache_dir: str | Path | None, **kw: Any
    ) -> RatingClassifier:
        """Train once per training set (keyed by a digest of texts+ratings+settings) and cache."""
        clf = cls(**kw)
        key = (
            data_digest(texts, ratings)
            + "_"
            + hashlib.sha256(
                json.dumps(
                    {
                        k: v
                        for k, v in clf.meta().items()
                        if k
                        not in (
                            "heldout_accuracy",
                            "n_train",
                            "n_heldout",
                            "train_digest",
                            "classes",
                        )
                    },
                    sort_keys=True,
                ).encode()
            ).hexdigest()[:8]
        )
        folder = Path(cache_dir) / "rating_classifier" / key if cache_dir else None
        if folder is not None and (folder / "classifier.json").exists():
            return cls.load(folder)
        clf.fit(texts, ratings)
        if folder is not None:
            clf.save(folder)
        return clf


# -- the official classifier (nlptown), when it is loadable here ------------------------------

NLPTOWN_ID = "nlptown/bert-base-multilingual-uncased-sentiment"


class HFStarClassifier:
    """A Hugging Face 1-5 star sentiment model (labels like "4 stars"), local files only, on
    `device` ("auto": cuda when present, else cpu; or the run's device, e.g. "cuda:1")."""

    def __init__(self, model_id_or_dir: str, batch_size: int = 32, device: str = "auto"):
        from transformers import pipeline

        from metrics.checkpoint import resolve_device

        self.model_id = model_id_or_dir
        self.device = resolve_device(device)
        # local_files_only goes to pipeline itself, which hands it to every from_pretrained it
        # calls; inside model_kwargs it reached AutoConfig twice (TypeError)
        self.pipe = pipeline(
            "text-classification", model=model_id_or_dir, device=self.device,
            local_files_only=True,
        )  # fmt: skip
        self.batch_size = batch_size

    def predict(self, texts: Sequence[str]) -> list[float]:
        out = self.pipe(list(texts), batch_size=self.batch_size, truncation=True)
        return [float(str(o["label"]).split()[0]) for o in out]
