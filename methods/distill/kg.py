"""Step 2a of the RLAIF pipeline: the knowledge graph of users, movies, metadata and tags.

Albert et al. (§1) "construct a knowledge graph that links users, movies, associated metadata,
and similar tags". Nodes are typed strings `kind:key`:

    user:<id>      a user; edges `liked` to the movies they liked in the train split
    movie:<id>     a movie (the dataset's item id), named by its title
    entity:<mid>   a Freebase entity (director, actor, company, ...) without a name
    genre:<name>   a genre (ML-100K `class`, ML-32M movies.csv), named
    year:<yyyy>    a release year, named
    tag:<text>     a user tag (ML-32M tags.csv), named; `similar_tag` edges join similar tags

Edges are undirected and carry the relation read from the movie's side (`film.film.directed_by`
for a director node). The offline default is ML-100K with the Freebase KG shipped in RecBole's
wheel: `ml-100k.link` maps item ids to Freebase MIDs and `ml-100k.kg` holds (head, relation,
tail) triples; a relation seen from the other end (film.director.film) is stored as its
film.film.* inverse, so one fact is one edge. Genres and years come from `ml-100k.item`.

ML-32M (the paper's dataset): genres and years from movies.csv, tags from tags.csv (a tag on a
movie once at least `min_tag_count` users applied it), and `similar_tag` edges between tags
whose movie sets have cosine similarity >= `tag_similarity` (each tag keeps its
`similar_tags` most similar). links.csv (IMDb / TMDb ids) only names where IMDb metadata would
come from; erbench does not download IMDb (a documented gap, see README).
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Freebase relations seen from the non-film end, stored as their film.film.* inverse.
INVERSE_RELATIONS = {
    "film.director.film": "film.film.directed_by",
    "film.producer.film": "film.film.produced_by",
    "film.writer.film": "film.film.written_by",
    "film.actor.film": "film.film.actor",
    "film.film_genre.films_in_this_genre": "film.film.genre",
    "film.cinematographer.film": "film.film.cinematography",
    "film.production_company.films": "film.film.production_companies",
    "film.content_rating.film": "film.film.rating",
    "film.film_subject.films": "film.film.subjects",
}
LIKED = "liked"
GENRE = "genre"
YEAR = "release_year"
TAG = "tag"
SIMILAR_TAG = "similar_tag"


def node(kind: str, key: str) -> str:
    return f"{kind}:{key}"


def kind_of(name: str) -> str:
    return name.split(":", 1)[0]


def key_of(name: str) -> str:
    return name.split(":", 1)[1]


@dataclass
class KnowledgeGraph:
    """Typed nodes, undirected edges with relation sets, display names and edge weights."""

    adj: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(dict))
    names: dict[str, str] = field(default_factory=dict)
    weights: dict[frozenset[str], float] = field(default_factory=dict)  # explicit edge weights
    sources: dict[str, str] = field(default_factory=dict)  # file name -> sha256 (provenance)

    def add_edge(self, a: str, b: str, relation: str, weight: float | None = None) -> None:
        if a == b:
            return
        self.adj[a].setdefault(b, set()).add(relation)
        self.adj[b].setdefault(a, set()).add(relation)
        if weight is not None:
            self.weights[frozenset((a, b))] = float(weight)

    def neighbours(self, name: str) -> dict[str, set[str]]:
        return self.adj.get(name, {})

    def relations(self, a: str, b: str) -> set[str]:
        return self.adj.get(a, {}).get(b, set())

    def degree(self, name: str) -> int:
        return len(self.adj.get(name, {}))

    def name(self, name: str) -> str | None:
        """The display name; None for nodes without one (Freebase entities, other users)."""
        return self.names.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.adj

    @property
    def n_edges(self) -> int:
        return sum(len(v) for v in self.adj.values()) // 2

    def summary(self) -> dict[str, object]:
        kinds: dict[str, int] = defaultdict(int)
        for n in self.adj:
            kinds[kind_of(n)] += 1
        return {"nodes": dict(sorted(kinds.items())), "edges": self.n_edges, "sources": dict(self.sources)}


# -- building blocks --------------------------------------------------------------------------

_ARTICLE_LAST = re.compile(r"^(?P<rest>.+), (?P<article>The|A|An|L'|La|Le|Les|Il|El|Das|Der|Die)(?P<year> \(\d{4}\))?$")


def display_title(title: str) -> str:
    """MovieLens files the article last ("Graduate, The (1967)"); say it first ("The Graduate
    (1967)")."""
    m = _ARTICLE_LAST.match(title.strip())
    if not m:
        return title.strip()
    sep = "" if m.group("article").endswith("'") else " "
    return f"{m.group('article')}{sep}{m.group('rest')}{m.group('year') or ''}"




def add_movies(kg: KnowledgeGraph, titles: Mapping[str, str]) -> None:
    for item, title in titles.items():
        if title:
            kg.names[node("movie", item)] = display_title(title)


def add_users(kg: KnowledgeGraph, liked: Mapping[str, Iterable[str]],
              ratings: Mapping[tuple[str, str], float], rating_max: float = 5.0) -> None:  # fmt: skip
    """`liked` edges of the train split, weighted by the rating (rating / rating_max)."""
    for user, items in liked.items():
        for item in items:
            rating = ratings.get((user, item), rating_max)
            kg.add_edge(node("user", user), node("movie", item), LIKED, rating / rating_max)


def add_genres_years(kg: KnowledgeGraph, meta: Mapping[str, tuple[list[str], str]]) -> None:
    """meta: item id -> (genre names, release year or "")."""
    for item, (genres, year) in meta.items():
        movie = node("movie", item)
        for genre in genres:
            kg.add_edge(movie, node(GENRE, genre), GENRE)
            kg.names[node(GENRE, genre)] = genre
        if year:
            kg.add_edge(movie, node("year", year), YEAR)
            kg.names[node("year", year)] = year


def _sha256(path: Path) -> str:
    from bench.data.digests import cached_sha256

    try:
        return cached_sha256(path)
    except Exception:  # noqa: BLE001 - provenance only; fall back to hashing here
        return hashlib.sha256(path.read_bytes()).hexdigest()


def _atomic_rows(path: Path) -> Iterable[list[str]]:
    """Data rows of a RecBole atomic file (tab-separated, a `name:type` header)."""
    with open(path, encoding="utf-8") as handle:
        next(handle, None)
        for line in handle:
            line = line.rstrip("\n")
            if line:
                yield line.split("\t")


# -- ML-100K: RecBole's ml-100k.item / .link / .kg ----------------------------------------------


def read_ml100k_items(path: Path) -> dict[str, tuple[list[str], str]]:
    """item id -> (genres, year) from ml-100k.item (item_id, movie_title, release_year, class)."""
    out = {}
    for parts in _atomic_rows(path):
        if len(parts) >= 4:
            out[parts[0]] = (parts[3].split(), parts[2].strip())
    return out


def add_freebase(kg: KnowledgeGraph, link_path: Path, kg_path: Path, items: set[str] | None = None) -> None:
    """Freebase facts of the linked movies: one edge per (movie, relation, entity) fact."""
    movie_of: dict[str, str] = {}
    for parts in _atomic_rows(link_path):
        if len(parts) >= 2 and (items is None or parts[0] in items):
            movie_of[parts[1]] = parts[0]
    for parts in _atomic_rows(kg_path):
        if len(parts) < 3:
            continue
        head, relation, tail = parts[0], parts[1], parts[2]
        if head in movie_of:
            movie, other = movie_of[head], tail
        elif tail in movie_of:
            movie, other = movie_of[tail], head
            relation = INVERSE_RELATIONS.get(relation, relation)
        else:
            continue
        target = node("movie", movie_of[other]) if other in movie_of else node("entity", other)
        kg.add_edge(node("movie", movie), target, relation)


def ml100k_graph(root: Path, prefix: str = "ml-100k", items: set[str] | None = None) -> KnowledgeGraph:
    """Genres/years from <prefix>.item plus the Freebase KG of <prefix>.link / <prefix>.kg."""
    kg = KnowledgeGraph()
    item_file = root / f"{prefix}.item"
    if item_file.exists():
        meta = read_ml100k_items(item_file)
        add_genres_years(kg, {k: v for k, v in meta.items() if items is None or k in items})
        kg.sources[item_file.name] = _sha256(item_file)
    link, triples = root / f"{prefix}.link", root / f"{prefix}.kg"
    if link.exists() and triples.exists():
        add_freebase(kg, link, triples, items)
        kg.sources[link.name] = _sha256(link)
        kg.sources[triples.name] = _sha256(triples)
    return kg


# -- ML-32M: movies.csv genres, tags.csv, similar tags -------------------------------------------

_YEAR = re.compile(r"\((\d{4})\)\s*$")


@dataclass(frozen=True)
class CsvSource:
    """A GroupLens CSV: a plain file in the dataset folder or a member of <dataset>.zip."""

    path: Path  # the file, or the zip holding it (whose sha256 is recorded)
    member: str | None = None

    @property
    def label(self) -> str:
        return f"{self.path.name}!{self.member}" if self.member else self.path.name

    def rows(self) -> Iterable[dict[str, str]]:
        import io
        import zipfile

        if self.member is None:
            with open(self.path, encoding="utf-8", newline="") as handle:
                yield from csv.DictReader(handle)
            return
        with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as raw:
            yield from csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))


def find_csv(root: Path, name: str) -> CsvSource | None:
    """root/name, else <root name>/name inside root.zip or a zip beside the folder."""
    if (root / name).is_file():
        return CsvSource(root / name)
    import zipfile

    for archive in (root / f"{root.name}.zip", root.parent / f"{root.name}.zip"):
        if archive.is_file():
            with zipfile.ZipFile(archive) as z:
                if f"{root.name}/{name}" in z.namelist():
                    return CsvSource(archive, f"{root.name}/{name}")
    return None


def read_movies_csv(source: CsvSource) -> dict[str, tuple[list[str], str]]:
    out = {}
    for row in source.rows():
        genres = [] if row["genres"] in ("", "(no genres listed)") else row["genres"].split("|")
        year = _YEAR.search(row["title"].strip())
        out[row["movieId"]] = (genres, year.group(1) if year else "")
    return out


def read_tags_csv(source: CsvSource, items: set[str] | None, min_count: int) -> dict[str, dict[str, int]]:
    """movie id -> tag -> number of users who applied it (tags lower-cased, spaces collapsed)."""
    users: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in source.rows():
        movie, tag = row["movieId"], " ".join(row["tag"].lower().split())
        if tag and (items is None or movie in items):
            users[(movie, tag)].add(row["userId"])
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for (movie, tag), who in users.items():
        if len(who) >= min_count:
            out[movie][tag] = len(who)
    return out


def similar_tags(movie_tags: Mapping[str, Mapping[str, int]], threshold: float,
                 keep: int) -> list[tuple[str, str, float]]:  # fmt: skip
    """(tag a, tag b, cosine) for tag pairs whose binary movie vectors have cosine >= threshold;
    each tag keeps its `keep` most similar tags."""
    movies_of: dict[str, set[str]] = defaultdict(set)
    for movie, tags in movie_tags.items():
        for tag in tags:
            movies_of[tag].add(movie)
    shared: dict[tuple[str, str], int] = defaultdict(int)
    for tags in movie_tags.values():
        ordered = sorted(tags)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                shared[(a, b)] += 1
    best: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for (a, b), n in shared.items():
        cos = n / math.sqrt(len(movies_of[a]) * len(movies_of[b]))
        if cos >= threshold:
            best[a].append((cos, b))
            best[b].append((cos, a))
    out = set()
    for a, cands in best.items():
        for cos, b in sorted(cands, key=lambda c: (-c[0], c[1]))[:keep]:
            out.add((min(a, b), max(a, b), round(cos, 6)))
    return sorted(out)


def ml32m_graph(root: Path, items: set[str] | None = None, *, min_tag_count: int = 2,
                tag_similarity: float = 0.5, keep_similar: int = 3) -> KnowledgeGraph:  # fmt: skip
    """Genres and years (movies.csv), tags (tags.csv) and similar-tag edges of a GroupLens
    MovieLens folder (ml-32m, ml-20m); a file that is absent adds nothing."""
    kg = KnowledgeGraph()
    movies = find_csv(root, "movies.csv")
    if movies is not None:
        meta = read_movies_csv(movies)
        add_genres_years(kg, {k: v for k, v in meta.items() if items is None or k in items})
        kg.sources[movies.label] = _sha256(movies.path)
    tags = find_csv(root, "tags.csv")
    if tags is not None:
        movie_tags = read_tags_csv(tags, items, min_tag_count)
        for movie, named in movie_tags.items():
            for tag in named:
                kg.add_edge(node("movie", movie), node(TAG, tag), TAG)
                kg.names[node(TAG, tag)] = tag
        for a, b, cos in similar_tags(movie_tags, tag_similarity, keep_similar):
            kg.add_edge(node(TAG, a), node(TAG, b), SIMILAR_TAG, cos)
        kg.sources[tags.label] = _sha256(tags.path)
    links = find_csv(root, "links.csv")
    if links is not None:
        kg.sources[links.label] = _sha256(links.path)
    return kg
