"""The knowledge graphs of the RLAIF pipeline from hand-made files: RecBole's atomic
.item/.link/.kg (ML-100K) and GroupLens movies.csv/tags.csv (ML-32M, with similar tags)."""

import math

import pytest

from methods.distill.kg import (
    GENRE,
    SIMILAR_TAG,
    TAG,
    display_title,
    find_csv,
    ml32m_graph,
    ml100k_graph,
    node,
    read_tags_csv,
    similar_tags,
)


def test_freebase_facts_are_one_edge_each(tmp_path):
    (tmp_path / "x.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "1\tHeat\t1995\tAction Crime\n2\tCasino\t1995\tCrime Drama\n"
    )
    (tmp_path / "x.link").write_text("item_id:token\tentity_id:token\n1\tm.heat\n2\tm.casino\n")
    (tmp_path / "x.kg").write_text(
        "head_id:token\trelation_id:token\ttail_id:token\n"
        "m.heat\tfilm.film.directed_by\tm.mann\n"
        "m.mann\tfilm.director.film\tm.heat\n"  # the same fact from the director's side
        "m.scorsese\tfilm.director.film\tm.casino\n"
        "m.heat\tfilm.film.sequel\tm.casino\n"  # two linked movies: a movie-movie edge
        "m.other\tfilm.film.actor\tm.nobody\n"  # no linked movie: ignored
    )
    kg = ml100k_graph(tmp_path, "x")
    heat, casino = node("movie", "1"), node("movie", "2")
    assert kg.relations(heat, node("entity", "m.mann")) == {"film.film.directed_by"}
    assert kg.relations(casino, node("entity", "m.scorsese")) == {"film.film.directed_by"}
    assert kg.relations(heat, casino) == {"film.film.sequel"}
    assert node("entity", "m.other") not in kg
    assert kg.degree(node(GENRE, "Crime")) == 2 and kg.name(node("year", "1995")) == "1995"
    assert set(kg.sources) == {"x.item", "x.link", "x.kg"}


def test_tags_and_similar_tags(tmp_path):
    (tmp_path / "movies.csv").write_text('movieId,title,genres\n1,"Heat (1995)",Action|Crime\n2,Casino (1995),Crime\n3,Up (2009),Animation\n')
    rows = ["1,1,heist,0", "2,1,heist,0", "1,1,Los Angeles,0", "2,1, los  angeles,0",
            "1,2,heist,0", "3,2,heist,0", "1,2,vegas,0", "2,2,vegas,0", "1,3,balloons,0"]  # fmt: skip
    (tmp_path / "tags.csv").write_text("userId,movieId,tag,timestamp\n" + "\n".join(rows) + "\n")
    tags = read_tags_csv(find_csv(tmp_path, "tags.csv"), None, min_count=2)
    assert tags == {"1": {"heist": 2, "los angeles": 2}, "2": {"heist": 2, "vegas": 2}}  # "balloons": 1 user
    # movie sets: heist {1, 2}, los angeles {1}, vegas {2}: cos(heist, los angeles) = 1/√2
    pairs = similar_tags(tags, threshold=0.5, keep=3)
    assert pairs == [("heist", "los angeles", pytest.approx(1 / math.sqrt(2), abs=1e-6)),
                     ("heist", "vegas", pytest.approx(1 / math.sqrt(2), abs=1e-6))]  # fmt: skip
    kg = ml32m_graph(tmp_path, min_tag_count=2, tag_similarity=0.5)
    assert kg.relations(node("movie", "1"), node(TAG, "heist")) == {TAG}
    assert kg.relations(node(TAG, "heist"), node(TAG, "vegas")) == {SIMILAR_TAG}
    assert kg.weights[frozenset((node(TAG, "heist"), node(TAG, "vegas")))] == pytest.approx(0.707107, abs=1e-6)
    assert kg.name(node("year", "2009")) == "2009" and kg.degree(node(GENRE, "Crime")) == 2


def test_display_titles():
    assert display_title("Graduate, The (1967)") == "The Graduate (1967)"
    assert display_title("Heat (1995)") == "Heat (1995)"
    assert display_title("Ascension, L' (1999)") == "L'Ascension (1999)"
