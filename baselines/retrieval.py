"""Retrieval explanation baseline, the explanation reference row.

Candidates for item i are the reference explanations (review sentences) of i's train
records. The user is represented by the mean embedding of their own train explanations;
the candidate with the highest cosine similarity to it is returned. Users without train
text get the item's first candidate; items without train text get the most central train
sentence overall. Embeddings: the sentence encoder named by `encoder` (default: the
embedded all-MiniLM-L6-v2).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.api.method import Method
from bench.api.records import Prediction, Record, Splits
from bench.encoders import EMBEDDED, SentenceEncoder


@dataclass
class Params:
    encoder: str = EMBEDDED
    max_candidates_per_item: int = 50  # keeps encoding time bounded on popular items
    batch_size: int = 64


class Retrieval(Method):
    """Explanation = the item's train review sentence most similar to the user's own."""

    produces = frozenset({"explanation"})
    Params = Params

    def fit(self, splits: Splits) -> None:
        self.run.stage("index", lambda d: self._index(splits.train, d), self._load)

    def _index(self, train: list[Record], stage_dir: Path) -> None:
        p: Params = self.params  # type: ignore[assignment]
        by_item: dict[str, list[str]] = defaultdict(list)
        by_user: dict[str, list[str]] = defaultdict(list)
        for r in train:
            text = r.reference_explanation.strip()
            if not text:
                continue
            if text not in by_item[r.item_id] and len(by_item[r.item_id]) < p.max_candidates_per_item:
                by_item[r.item_id].append(text)
            by_user[r.user_id].append(text)
        self.by_item, self.by_user = dict(by_item), dict(by_user)
        sentences = sorted({t for texts in list(by_item.values()) + list(by_user.values()) for t in texts})
        encoder = self._encoder()
        with self.run.progress("encoding train sentences", len(sentences)) as advance:
            for start in range(0, len(sentences), 512):
                encoder.encode(sentences[start : start + 512])
                advance(len(sentences[start : start + 512]))
        self.fallback = self._central(sentences)
        (stage_dir / "index.json").write_text(
            json.dumps({"by_item": self.by_item, "by_user": self.by_user, "fallback": self.fallback}),
            encoding="utf-8",
        )

    def _load(self, stage_dir: Path) -> None:
        index = json.loads((stage_dir / "index.json").read_text(encoding="utf-8"))
        self.by_item, self.by_user, self.fallback = index["by_item"], index["by_user"], index["fallback"]

    def _encoder(self) -> SentenceEncoder:
        if not hasattr(self, "encoder"):
            p: Params = self.params  # type: ignore[assignment]
            # the checkpoint's own pooling, but always normalised: scores are cosines
            self.encoder = SentenceEncoder(
                p.encoder, device=self.run.device, batch_size=p.batch_size, normalize=True
            )
        return self.encoder

    def _central(self, sentences: list[str]) -> str:
        if not sentences:
            return ""
        vectors = self._encoder().encode(sentences)
        centre = vectors.mean(axis=0)
        return sentences[int(np.argmax(vectors @ centre))]

    def predict(self, records: list[Record]) -> list[Prediction]:
        encoder = self._encoder()
        # Encode every text these records need in one batched call (after a resumed index
        # stage the cache is empty); then one user vector per user and one candidate matrix
        # per item, however many test records share them.
        items = {r.item_id for r in records if self.by_item.get(r.item_id)}
        users = {r.user_id for r in records if r.item_id in items and self.by_user.get(r.user_id)}
        needed = [t for i in sorted(items) for t in self.by_item[i]]
        needed += [t for u in sorted(users) for t in self.by_user[u]]
        if needed:
            encoder.encode(list(dict.fromkeys(needed)))
        user_vecs: dict[str, np.ndarray] = {}
        item_mats: dict[str, np.ndarray] = {}
        out = []
        for r in records:
            candidates = self.by_item.get(r.item_id)
            if not candidates:
                out.append(Prediction(explanation=self.fallback))
                continue
            own = self.by_user.get(r.user_id)
            if not own:
                out.append(Prediction(explanation=candidates[0]))
                continue
            if r.user_id not in user_vecs:
                user_vecs[r.user_id] = encoder.encode(own).mean(axis=0)
            if r.item_id not in item_mats:
                item_mats[r.item_id] = encoder.encode(candidates)
            scores = item_mats[r.item_id] @ user_vecs[r.user_id]
            out.append(Prediction(explanation=candidates[int(np.argmax(scores))]))
        return out
