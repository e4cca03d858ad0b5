"""Lexicon counts of metrics.explanation_style on hand-counted sentences."""

import pytest

from metrics.explanation_style import movie_terms, style_counts, subjective_words, technical_terms

pytest.importorskip("vaderSentiment")


def test_movie_terms():
    # film, director, thriller, cast = 4; "science fiction" once
    assert movie_terms("A film by the director of a thriller, with a great cast.") == 4
    assert movie_terms("A science fiction classic.") == 2  # the phrase + classic
    assert movie_terms("A film noir.") == 1  # film + noir read as one term


def test_technical_terms():
    # similarity, 0.412, knowledge graph (one), path, user = 5
    text = "Similarity 0.412 on the knowledge graph path for the user."
    assert technical_terms(text) == 5
    assert technical_terms("linked by film.film.directed_by to m.04ctbw8") == 2
    assert technical_terms("You will love it.") == 0


def test_subjective_words_read_vader():
    # VADER lists love (3.2), great (3.1), fun (2.3); 'movie' and 'you' are not in it
    assert subjective_words("You will love this great, fun movie.") == 3
    counts = style_counts("You will love this great, fun movie.")
    assert counts.words == 7 and counts.movie_terms == 1 and counts.technical_terms == 0
