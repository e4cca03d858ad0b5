"""RLAIF step 1: RecBole's ItemKNN and the intrinsic explanation on a hand-made matrix.

Users x items (all ratings >= 4, so every interaction is also a like):
    u1: a b        u2: a b c        u3: b c d
Item cosines (columns of R): cos(a,b) = 2/(√2·√3) = 0.81650, cos(a,c) = 1/(√2·√2) = 0.5,
cos(b,c) = 2/(√3·√2) = 0.81650, cos(b,d) = 1/√3 = 0.57735, cos(c,d) = 1/√2 = 0.70711,
cos(a,d) = 0. With k = 2 RecBole keeps each item's two most similar items (W[j, i]).
"""

import math

import pytest

from bench.api.errors import ConfigError
from bench.api.records import Record
from methods.distill.knn import ItemKNNRecommender

pytest.importorskip("recbole")

LIKES = {"u1": "ab", "u2": "abc", "u3": "bcd"}
COS_AB, COS_AC, COS_BC, COS_BD, COS_CD = 2 / math.sqrt(6), 0.5, 2 / math.sqrt(6), 1 / math.sqrt(3), 1 / math.sqrt(2)


def _train(disliked=()):
    out = []
    for user, items in LIKES.items():
        for item in items:
            rating = 2.0 if (user, item) in disliked else 5.0
            out.append(Record(user_id=user, item_id=item, rating=rating, label=int(rating >= 4)))
    return out


@pytest.fixture(scope="module")
def knn():
    return ItemKNNRecommender.fit(_train(), k=2)


def test_similarity_is_recbole_cosine_top_k(knn):
    w = knn.similarity.toarray()
    a, b, c, d = (knn.item_index[x] for x in "abcd")
    assert w[b, a] == pytest.approx(COS_AB, abs=1e-5) and w[c, a] == pytest.approx(COS_AC, abs=1e-5)
    assert w[d, a] == 0  # cos(a, d) = 0
    # d's neighbours: c (0.707) and b (0.577); b's: a and c (0.8165 each), d cut by k = 2
    assert w[c, d] == pytest.approx(COS_CD, abs=1e-5) and w[b, d] == pytest.approx(COS_BD, abs=1e-5)
    assert w[d, b] == 0


def test_scores_top_k_and_rank(knn):
    # u1 = {a, b}: score(c) = W[b, c] = cos(b, c); score(d) = W[b, d] = cos(b, d)
    assert knn.score("u1", "c") == pytest.approx(COS_BC, abs=1e-5)
    assert knn.score("u1", "d") == pytest.approx(COS_BD, abs=1e-5)
    top = knn.top_k("u1", 5)
    assert [i for i, _ in top] == ["c", "d"]  # train items a, b are never recommended
    assert knn.top_k("u1", 5, exclude=["c"]) == [("d", pytest.approx(COS_BD, abs=1e-5))]
    assert knn.rank("u1", "c") == 1 and knn.rank("u1", "d") == 2
    # u3 = {b, c, d}: score(a) = W[b, a] + W[c, a] = 0.8165 + 0.5
    assert knn.score("u3", "a") == pytest.approx(COS_AB + COS_AC, abs=1e-5)


def test_intrinsic_explanation_is_the_liked_neighbours(knn):
    nbs = knn.neighbours("u3", "a")
    assert [n.item_id for n in nbs] == ["b", "c"]
    assert [n.similarity for n in nbs] == pytest.approx([COS_AB, COS_AC], abs=1e-5)
    assert [n.item_id for n in knn.neighbours("u3", "a", n=1)] == ["b"]
    assert knn.neighbours("u1", "d")[0].item_id == "b"
    assert knn.neighbours("nobody", "a") == [] and knn.neighbours("u1", "zzz") == []


def test_only_liked_items_explain():
    knn = ItemKNNRecommender.fit(_train(disliked={("u3", "b")}), k=2)
    # u3 rated b 2 stars: b still counts in R ("all") but is not a liked neighbour
    assert [n.item_id for n in knn.neighbours("u3", "a")] == ["c"]
    liked_only = ItemKNNRecommender.fit(_train(disliked={("u3", "b")}), k=2, interactions="liked")
    assert liked_only.matrix.sum() == 7  # 8 interactions, one disliked


def test_checkpoint_roundtrip(knn, tmp_path):
    knn.save(tmp_path)
    again = ItemKNNRecommender.load(tmp_path, _train())
    assert (again.similarity != knn.similarity).nnz == 0
    assert again.top_k("u1", 2) == knn.top_k("u1", 2)


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="knn_interactions"):
        ItemKNNRecommender.fit(_train(), interactions="some")
    with pytest.raises(ConfigError, match="knn_k"):
        ItemKNNRecommender.fit(_train(), k=0)
