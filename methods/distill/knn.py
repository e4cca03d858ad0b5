"""Step 1 of the RLAIF pipeline: the item-based KNN recommender and its intrinsic explanation.

The recommender is RecBole's own ItemKNN class (recbole.model.general_recommender.itemknn,
Aiolli 2013), built on the train interactions only; nothing here re-implements the KNN:

    W      = ComputeSimilarity(R, topk=k, shrink)   item-item cosine, each item keeps its k
                                                   most similar items (W[j, i] = sim(j, i))
    score(u, i) = (R · W)[u, i] = sum_j R[u, j] W[j, i]   (ItemKNN.pred_mat)

R is the binary user x item matrix of the train records (`interactions="all"`, RecBole's
implicit feedback) or of the liked ones only (`"liked"`: label 1, rating >= the dataset's
threshold). The paper (Albert et al., §1) explains each recommendation intrinsically by "the ten
nearest neighbours": `neighbours(u, i)` are the items j the user liked with the largest
W[j, i] > 0 (the terms of the sum that scores i), at most `n_neighbours`, with similarities.

The stage checkpoint is W as a plain npz (data, indices, indptr, shape; read with
allow_pickle=False) plus the id lists; R is rebuilt from the same train records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.api.errors import ConfigError
from bench.api.records import Record

INTERACTIONS = ("all", "liked")


@dataclass(frozen=True)
class Neighbour:
    item_id: str
    similarity: float  # W[j, i]: RecBole's cosine between the liked item j and the target i


class _InteractionView:
    """The two things RecBole's ItemKNN reads from a RecBole Dataset: sizes and the matrix."""

    def __init__(self, matrix: Any, user_field: str):
        self.matrix = matrix
        self.user_field = user_field

    def num(self, field: str) -> int:
        return int(self.matrix.shape[0] if field == self.user_field else self.matrix.shape[1])

    def inter_matrix(self, form: str = "csr", value_field: str | None = None) -> Any:
        return self.matrix.asformat(form)


def recbole_itemknn_similarity(matrix: Any, k: int, shrink: float) -> Any:
    """W of RecBole's ItemKNN on the user x item csr matrix (a csc matrix, items x items)."""
    from bench.adapters import recbole_compat

    recbole_compat.apply()
    with recbole_compat.quiet():
        from recbole.model.general_recommender.itemknn import ItemKNN

        config = {
            "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id", "NEG_PREFIX": "neg_",
            "device": "cpu", "k": int(k), "knn_method": "item", "shrink": float(shrink),
        }  # fmt: skip
        model = ItemKNN(config, _InteractionView(matrix.astype(np.float32), "user_id"))
    return model.w.tocsc()


class ItemKNNRecommender:
    """Item ids <-> matrix columns, R, W, and the user's liked items."""

    def __init__(self, users: list[str], items: list[str], matrix: Any, similarity: Any,
                 liked: dict[str, set[str]], ratings: dict[tuple[str, str], float]):  # fmt: skip
        self.users = users
        self.items = items
        self.user_index = {u: n for n, u in enumerate(users)}
        self.item_index = {i: n for n, i in enumerate(items)}
        self.matrix = matrix.tocsr()  # R
        self.similarity = similarity.tocsc()  # W
        self.liked = liked
        self.ratings = ratings  # (user, item) -> the train rating (for the KG's user edges)

    # -- building -----------------------------------------------------------------------
    @staticmethod
    def interactions(train: Iterable[Record], mode: str) -> tuple[list[str], list[str], Any]:
        import scipy.sparse as sp

        if mode not in INTERACTIONS:
            raise ConfigError(f"model.knn_interactions must be one of {', '.join(INTERACTIONS)}, got {mode!r}")
        pairs = sorted({(r.user_id, r.item_id) for r in train if mode == "all" or r.label == 1})
        users = sorted({u for u, _ in pairs} | {r.user_id for r in train})
        items = sorted({i for _, i in pairs} | {r.item_id for r in train})
        u_index = {u: n for n, u in enumerate(users)}
        i_index = {i: n for n, i in enumerate(items)}
        rows = [u_index[u] for u, _ in pairs]
        cols = [i_index[i] for _, i in pairs]
        data = np.ones(len(pairs), dtype=np.float32)
        return users, items, sp.csr_matrix((data, (rows, cols)), shape=(len(users), len(items)))

    @staticmethod
    def _liked(train: Iterable[Record]) -> tuple[dict[str, set[str]], dict[tuple[str, str], float]]:
        liked: dict[str, set[str]] = {}
        ratings: dict[tuple[str, str], float] = {}
        for r in train:
            if r.rating is not None:
                ratings[(r.user_id, r.item_id)] = float(r.rating)
            if r.label == 1:
                liked.setdefault(r.user_id, set()).add(r.item_id)
        return liked, ratings

    @classmethod
    def fit(cls, train: Sequence[Record], *, k: int = 100, shrink: float = 0.0,
            interactions: str = "all") -> ItemKNNRecommender:  # fmt: skip
        if k < 1:
            raise ConfigError(f"model.knn_k must be at least 1, got {k}")
        users, items, matrix = cls.interactions(train, interactions)
        liked, ratings = cls._liked(train)
        return cls(users, items, matrix, recbole_itemknn_similarity(matrix, k, shrink), liked, ratings)

    # -- checkpoint ---------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        from bench.api.run_folder import atomic_write_json, written_atomically

        w = self.similarity.tocsr()
        with written_atomically(folder / "itemknn_w.npz") as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, data=w.data, indices=w.indices, indptr=w.indptr, shape=np.array(w.shape))
        atomic_write_json(folder / "itemknn_ids.json", {"users": self.users, "items": self.items})

    @classmethod
    def load(cls, folder: Path, train: Sequence[Record], interactions: str = "all") -> ItemKNNRecommender:
        import scipy.sparse as sp

        ids = json.loads((folder / "itemknn_ids.json").read_text(encoding="utf-8"))
        with np.load(folder / "itemknn_w.npz", allow_pickle=False) as z:
            w = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
        users, items, matrix = cls.interactions(train, interactions)
        if users != ids["users"] or items != ids["items"]:
            raise ValueError(f"{folder}: the saved ItemKNN was built on other train records")
        liked, ratings = cls._liked(train)
        return cls(users, items, matrix, w, liked, ratings)

    # -- queries ------------------------------------------------------------------------
    def scores(self, user: str) -> np.ndarray:
        """(R · W)[u] over every item (zeros for an unknown user)."""
        if user not in self.user_index:
            return np.zeros(len(self.items), dtype=np.float32)
        row = self.matrix[self.user_index[user]]
        return np.asarray((row @ self.similarity).todense()).ravel()

    def score(self, user: str, item: str) -> float:
        if item not in self.item_index:
            return 0.0
        return float(self.scores(user)[self.item_index[item]])

    def seen(self, user: str) -> set[str]:
        if user not in self.user_index:
            return set()
        row = self.matrix[self.user_index[user]]
        return {self.items[c] for c in row.indices}

    def top_k(self, user: str, k: int, exclude: Iterable[str] = ()) -> list[tuple[str, float]]:
        """The user's k best-scored items (score > 0), train items and `exclude` left out;
        ties broken by item id so the list is deterministic."""
        scores = self.scores(user)
        skip = self.seen(user) | set(exclude)
        ranked = sorted(
            ((self.items[n], float(s)) for n, s in enumerate(scores) if s > 0 and self.items[n] not in skip),
            key=lambda pair: (-pair[1], pair[0]),
        )
        return ranked[:k]

    def rank(self, user: str, item: str) -> int | None:
        """1-based position of `item` in the user's full KNN ranking (None: scored 0 or unknown)."""
        if item not in self.item_index:
            return None
        scores = self.scores(user)
        target = scores[self.item_index[item]]
        if target <= 0:
            return None
        skip = {self.item_index[i] for i in self.seen(user) if i != item}
        better = sum(1 for n, s in enumerate(scores) if n not in skip and s > target)
        return better + 1

    def neighbours(self, user: str, item: str, n: int = 10) -> list[Neighbour]:
        """The intrinsic explanation: the liked items j with the largest W[j, item] > 0."""
        if item not in self.item_index:
            return []
        column = self.similarity.getcol(self.item_index[item])
        liked = self.liked.get(user, set())
        found = [
            Neighbour(self.items[j], float(s))
            for j, s in zip(column.indices, column.data, strict=True)
            if s > 0 and self.items[j] in liked and self.items[j] != item
        ]
        found.sort(key=lambda nb: (-nb.similarity, nb.item_id))
        return found[:n]
