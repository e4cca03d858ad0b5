"""RLAIF step 2: path enumeration and the SEP sort on a hand-made knowledge graph.

    user u liked m1 "Casino (1995)" (5/5) and m2 "Clueless (1995)" (4/5); the target r is
    "Heat (1995)". e1 is an unnamed Freebase director of m1 and r (degree 2); genre Drama links
    m1, m2, r and m3 (degree 4); user v liked m2 (4/5) and r (5/5) (degree 2).
    ItemKNN similarities to r: W[m1, r] = 0.6, W[m2, r] = 0.3, so ŝ(m1) = 1, ŝ(m2) = 0.5.

Hand values (specificity s(z) = 1 / log2(1 + deg z): s(e1) = s(v) = 1/log2 3 = 0.630930,
s(Drama) = 1/log2 5 = 0.430677; g = geometric mean of the edge weights):
    p1 u-m1-e1-r      w = (1, .630930, .630930)              g = .735621  c = .867810  ρ = .25
    p2 u-m1-Drama-r   w = (1, .430677, .430677)              g = .570297  c = .785148  ρ = .5
    p3 u-m2-Drama-r   w = (.8, .430677, .430677)             g = .529417  c = .514708  ρ = .5
    p4 u-m2-v-r       w = (.8, .8·.630930, 1·.630930)        g = .633939  c = .566969  ρ = .25
Sort with λ = (1, 1, 1): first p2 (2.285148; every δ = 1); then p1 (δ = ½(½ + 1) = .75:
m1 covered, new pattern → 1.867810) over p4 (1.816969) and p3 (δ = ½(½ + 0) → 1.264708);
then p4 (δ = 1 → 1.816969) over p3 (1.264708).
"""

import math

import pytest

from methods.distill.kg import GENRE, LIKED, KnowledgeGraph, add_movies, add_users, node
from methods.distill.paths import (
    credibility,
    diversity,
    edge_weight,
    enumerate_paths,
    readability,
    sort_paths,
    specificity,
    verbalise,
)

DIRECTED = "film.film.directed_by"


def _kg():
    kg = KnowledgeGraph()
    add_movies(kg, {"m1": "Casino (1995)", "m2": "Clueless (1995)", "r": "Heat (1995)", "m3": "Ran (1985)"})
    add_users(kg, {"u": {"m1", "m2"}, "v": {"m2", "r"}},
              {("u", "m1"): 5.0, ("u", "m2"): 4.0, ("v", "m2"): 4.0, ("v", "r"): 5.0})  # fmt: skip
    for movie in ("m1", "r"):
        kg.add_edge(node("movie", movie), node("entity", "e1"), DIRECTED)
    for movie in ("m1", "m2", "r", "m3"):
        kg.add_edge(node("movie", movie), node(GENRE, "Drama"), GENRE)
    kg.names[node(GENRE, "Drama")] = "Drama"
    return kg


U, R = node("user", "u"), node("movie", "r")
M1, M2, E1, DRAMA, V = node("movie", "m1"), node("movie", "m2"), node("entity", "e1"), node(GENRE, "Drama"), node("user", "v")
ANCHOR = {M1: 1.0, M2: 0.5}


def _by_nodes(paths):
    return {p.nodes: p for p in paths}


def test_enumeration_finds_every_short_simple_path():
    kg = _kg()
    paths = enumerate_paths(kg, U, R, max_edges=3)
    assert set(_by_nodes(paths)) == {(U, M1, E1, R), (U, M1, DRAMA, R), (U, M2, DRAMA, R), (U, M2, V, R)}
    assert _by_nodes(paths)[(U, M1, E1, R)].relations == (LIKED, DIRECTED, DIRECTED)
    assert enumerate_paths(kg, U, R, max_edges=2) == []  # no liked sequel of r
    no_users = enumerate_paths(kg, U, R, 3, allow=lambda n: not n.startswith("user:"))
    assert (U, M2, V, R) not in _by_nodes(no_users)
    # longer paths: u-m1-Drama-m3? no, m3 does not reach r in one more hop except via Drama again
    longer = enumerate_paths(kg, U, R, max_edges=4)
    assert (U, M1, E1, R) in _by_nodes(longer) and all(len(set(p.nodes)) == len(p.nodes) for p in longer)
    assert len(enumerate_paths(kg, U, R, max_edges=3, limit=2)) == 2


def test_edge_weights_credibility_readability():
    kg = _kg()
    s_e1, s_drama = 1 / math.log2(3), 1 / math.log2(5)
    assert specificity(kg, E1) == pytest.approx(s_e1) and specificity(kg, DRAMA) == pytest.approx(s_drama)
    assert edge_weight(kg, U, M2, source=U) == pytest.approx(0.8)  # the user's own like: rating / 5
    assert edge_weight(kg, M2, V, source=U) == pytest.approx(0.8 * s_e1)  # another user's like
    paths = _by_nodes(enumerate_paths(kg, U, R, 3))
    p1, p2, p3, p4 = (paths[k] for k in [(U, M1, E1, R), (U, M1, DRAMA, R), (U, M2, DRAMA, R), (U, M2, V, R)])
    assert credibility(kg, p1, 1.0) == pytest.approx(0.867810, abs=1e-6)
    assert credibility(kg, p2, 1.0) == pytest.approx(0.785148, abs=1e-6)
    assert credibility(kg, p3, 0.5) == pytest.approx(0.514708, abs=1e-6)
    assert credibility(kg, p4, 0.5) == pytest.approx(0.566969, abs=1e-6)
    assert readability(kg, p1) == 0.25 and readability(kg, p2) == 0.5 and readability(kg, p4) == 0.25
    assert diversity(p1, []) == 1.0
    assert diversity(p1, [p2]) == 0.75 and diversity(p3, [p2]) == 0.25 and diversity(p4, [p2, p1]) == 1.0


def test_sep_sort_order_and_scores():
    kg = _kg()
    ranked = sort_paths(kg, enumerate_paths(kg, U, R, 3), ANCHOR.get, keep=3)
    assert [s.path.nodes for s in ranked] == [(U, M1, DRAMA, R), (U, M1, E1, R), (U, M2, V, R)]
    assert [s.score for s in ranked] == pytest.approx([2.285148, 1.867810, 1.816969], abs=1e-6)
    only_credibility = sort_paths(kg, enumerate_paths(kg, U, R, 3), ANCHOR.get, keep=1, weights=(1, 0, 0))
    assert only_credibility[0].path.nodes == (U, M1, E1, R)


def test_unnamed_entities_are_said_through_their_relation():
    kg = _kg()
    paths = _by_nodes(enumerate_paths(kg, U, R, 3))
    assert verbalise(kg, paths[(U, M1, E1, R)]) == "the user liked Casino (1995): Heat (1995) shares a director with Casino (1995)"
    assert verbalise(kg, paths[(U, M1, DRAMA, R)]).endswith("Heat (1995) is a Drama film, like Casino (1995)")
    assert "another viewer who liked Clueless (1995)" in verbalise(kg, paths[(U, M2, V, R)])
