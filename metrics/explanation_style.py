"""Lexicon-based style measures of explanations (Albert et al., §2 "Heuristic-based Analysis").

The paper compares models by how many domain-specific movie terms, residual technical terms
from the input explanations, and subjective/evaluative words their explanations contain; it
does not name its lexicons. erbench's three, each counted per explanation (tokens: lower-cased
words, [a-z][a-z'-]*):

- movie terms (MOVIE_TERMS): erbench's own list of film vocabulary — the crafts and roles of
  the Freebase film relations in RecBole's ml-100k.kg (director, actor, screenwriter, producer,
  cinematographer, studio, award, sequel, ...), the 18 ML-100K genres, and common
  film-criticism nouns (plot, story, cast, performance, scene, soundtrack, ...). Multi-word
  genres (science fiction, film noir) count once.
- technical terms (TECHNICAL_TERMS + TECHNICAL_PATTERNS): the vocabulary of the pipeline's
  input format (methods.distill.context.render_context) that a user-facing explanation should
  not repeat: the recommender's and SEP's names (KNN, nearest neighbours, similarity,
  credibility, readability, knowledge graph, path, node, entity, relation, item, user, score,
  intrinsic, post-hoc), plus decimal numbers ("0.412"), Freebase relation ids
  ("film.film.directed_by") and Freebase MIDs ("m.04ctbw8").
- subjective/evaluative words: the VADER sentiment lexicon (Hutto & Gilbert, ICWSM 2014; the
  7,500-entry `vader_lexicon.txt` of the PyPI package vaderSentiment 3.3.2), its alphabetic
  entries only (emoticons dropped), read from the installed package, never copied here.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MOVIE_TERMS = frozenset(
    """
    film films movie movies cinema cinematic filmmaker filmmakers filmmaking director directors
    directed directing direction actor actors actress actresses cast casting starring star stars
    co-star role roles screenplay screenwriter screenwriters script writer writers written
    producer producers produced cinematographer cinematography camerawork studio studios
    production award awards oscar oscars academy nominated nomination nominations sequel sequels
    prequel prequels remake franchise trilogy series plot plots story stories storyline
    character characters performance performances scene scenes soundtrack music dialogue ending
    twist narrative genre genres blockbuster classic classics box-office release released
    action adventure animation animated children's comedy comedies crime documentary
    documentaries drama dramas fantasy film-noir noir horror musical musicals mystery romance
    romantic sci-fi thriller thrillers war western westerns
    """.split()
)
MOVIE_PHRASES = ("science fiction", "film noir", "box office")
TECHNICAL_TERMS = frozenset(
    """
    knn k-nearest nearest neighbour neighbours neighbor neighbors similarity similarities
    credibility readability diversity intrinsic post-hoc posthoc knowledge-graph graph graphs
    path paths node nodes entity entities relation relations item items user users score scores
    recommender algorithm freebase
    """.split()
)
TECHNICAL_PHRASES = ("knowledge graph", "item-based", "explanation path")
TECHNICAL_PATTERNS = (
    re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])"),  # decimal numbers: similarities, SEP scores
    re.compile(r"\b[a-z_]+\.[a-z_]+\.[a-z_]+\b"),  # Freebase relation ids
    re.compile(r"\bm\.0[0-9a-z_]+\b"),  # Freebase MIDs
)
_TOKEN = re.compile(r"[a-z][a-z'\-]*")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


@functools.cache
def vader_words() -> frozenset[str]:
    """The alphabetic entries of VADER's lexicon (vaderSentiment/vader_lexicon.txt)."""
    spec = importlib.util.find_spec("vaderSentiment")
    if spec is None or spec.origin is None:
        raise ImportError(
            "the subjective-word count needs the VADER lexicon: pip install vaderSentiment==3.3.2"
        )
    path = Path(spec.origin).parent / "vader_lexicon.txt"
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.split("\t", 1)[0]
        if _TOKEN.fullmatch(word):
            words.add(word)
    return frozenset(words)


def _phrase_count(text: str, phrases: Iterable[str]) -> int:
    low = " ".join(text.lower().split())
    return sum(len(re.findall(rf"\b{re.escape(p)}\b", low)) for p in phrases)


def movie_terms(text: str) -> int:
    """Movie-domain terms in `text` (a multi-word genre counts once, not per word)."""
    words = tokens(text)
    count = sum(1 for w in words if w in MOVIE_TERMS)
    # "science fiction" / "film noir": 'film' and 'noir' were counted as words; count the phrase once
    for phrase in MOVIE_PHRASES:
        n = _phrase_count(text, [phrase])
        count += n - n * sum(1 for w in phrase.split() if w in MOVIE_TERMS)
    return count


def technical_terms(text: str) -> int:
    """Residual technical terms: lexicon words, phrases, decimals, relation ids and MIDs."""
    count = sum(1 for w in tokens(text) if w in TECHNICAL_TERMS)
    for phrase in TECHNICAL_PHRASES:
        n = _phrase_count(text, [phrase])
        count += n - n * sum(1 for w in phrase.split() if w in TECHNICAL_TERMS)
    return count + sum(len(p.findall(text.lower())) for p in TECHNICAL_PATTERNS)


def subjective_words(text: str) -> int:
    lexicon = vader_words()
    return sum(1 for w in tokens(text) if w in lexicon)


@dataclass(frozen=True)
class StyleCounts:
    words: int
    movie_terms: int
    technical_terms: int
    subjective_words: int


def style_counts(text: str) -> StyleCounts:
    return StyleCounts(len(tokens(text)), movie_terms(text), technical_terms(text), subjective_words(text))


LEXICON_VERSION = {
    "movie_terms": f"erbench-film-{len(MOVIE_TERMS)}+{len(MOVIE_PHRASES)}",
    "technical_terms": f"erbench-pipeline-{len(TECHNICAL_TERMS)}+{len(TECHNICAL_PHRASES)}+patterns",
    "subjective_words": "vader_lexicon (vaderSentiment 3.3.2)",
}
