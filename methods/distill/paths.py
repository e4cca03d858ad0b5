"""Step 2b: Sorted Explanation Paths (SEP; Yang, Liu, Wang & Hu, ICDM 2018) on the KG.

SEP explains a recommendation (u, i) post hoc: search the simple paths between u and i in a
heterogeneous graph built from the data and the recommender's representations, score every
path by three heuristics — credibility, readability, diversity — sort them comprehensively and
keep the top ones. erbench's operationalisation (the ICDM paper's exact formulas are not
reproduced; these are our reading of its three criteria, each unit-tested on hand values):

  paths      every simple path u -> ... -> i of at most `max_edges` edges; the first hop is
             one of u's liked movies (the anchor a), the path never revisits a node
  edge weight w(x, y) ∈ (0, 1]: the edge's explicit weight (user -> liked movie: rating /
             rating_max; similar tags: their cosine; else 1) times a structural weight: 1
             between two movies and on the explained user's own edge, else the specificity of
             the non-movie end z, 1 / log2(1 + deg(z)) (a director of two films says more than
             the genre Drama; a co-viewer who liked 20 movies more than one who liked 500)
  credibility  c(p) = ½ (ŝ(a, i) + g(p)),  ŝ(a, i) = W[a, i] / max_{j liked} W[j, i], the
             recommender's own similarity of the anchor to i normalised over u's liked items
             (0 when ItemKNN does not use a), and g(p) = (∏ w(e))^(1/|p|), the geometric mean
             of the path's edge weights
  readability  ρ(p) = ν(p) / (|p| − 1), ν(p) = share of the intermediate nodes (u and i
             excluded) that have a name (titles, genres, years, tags; Freebase entities and
             other users have none): short paths through named nodes read best
  diversity  δ(p | S) = ½ (share of p's intermediate nodes not on any already chosen path
             + [p's relation pattern differs from every chosen path's]); 1 when S is empty
  sort       greedily: S ← S ∪ {argmax_p λc·c(p) + λr·ρ(p) + λd·δ(p | S)} until `keep` paths
             are chosen (ties: the smaller path key), i.e. a maximal-marginal-relevance sort

`verbalise` turns a path into one sentence; nodes without a name are said through their
relation ("shares a director with ...").
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from methods.distill.kg import LIKED, KnowledgeGraph, kind_of

# (credibility, readability, diversity) weights of the comprehensive sort
DEFAULT_WEIGHTS = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Path:
    nodes: tuple[str, ...]  # user, anchor movie, ..., recommended movie
    relations: tuple[str, ...]  # one per edge (the edge's first relation in sorted order)

    @property
    def edges(self) -> int:
        return len(self.nodes) - 1

    @property
    def anchor(self) -> str:
        return self.nodes[1]

    @property
    def intermediates(self) -> tuple[str, ...]:
        return self.nodes[1:-1]

    @property
    def key(self) -> str:
        return " ".join(self.nodes)


@dataclass(frozen=True)
class ScoredPath:
    path: Path
    credibility: float
    readability: float
    diversity: float
    score: float


# -- enumeration ------------------------------------------------------------------------------


def _distances(kg: KnowledgeGraph, target: str, depth: int) -> dict[str, int]:
    """Hops from `target` to every node within `depth` (breadth-first)."""
    dist = {target: 0}
    queue = deque([target])
    while queue:
        here = queue.popleft()
        if dist[here] == depth:
            continue
        for nxt in kg.neighbours(here):
            if nxt not in dist:
                dist[nxt] = dist[here] + 1
                queue.append(nxt)
    return dist


def enumerate_paths(kg: KnowledgeGraph, user: str, target: str, max_edges: int = 3,
                    limit: int = 20000, allow: Callable[[str], bool] | None = None) -> list[Path]:  # fmt: skip
    """Every simple path user -> liked movie -> ... -> target of at most `max_edges` edges, in a
    deterministic order (neighbours sorted), at most `limit` of them. The first hop follows a
    `liked` edge; `allow(node)` may exclude intermediate nodes (e.g. other users)."""
    if user not in kg or target not in kg or max_edges < 2:
        return []
    dist = _distances(kg, target, max_edges - 1)
    out: list[Path] = []
    nodes = [user]
    on_path = {user}

    def relation(a: str, b: str) -> str:
        return sorted(kg.relations(a, b))[0]

    def walk(here: str, left: int) -> None:
        for nxt in sorted(kg.neighbours(here)):
            if len(out) >= limit:
                return
            if nxt in on_path or dist.get(nxt, max_edges + 1) > left - 1:
                continue
            if here == user and LIKED not in kg.relations(here, nxt):
                continue
            if nxt == target:
                if here != user:  # a direct user-target edge is not an explanation
                    path_nodes = (*nodes, nxt)
                    rels = tuple(relation(a, b) for a, b in zip(path_nodes, path_nodes[1:], strict=False))
                    out.append(Path(path_nodes, rels))
                continue
            if allow is not None and not allow(nxt):
                continue
            nodes.append(nxt)
            on_path.add(nxt)
            walk(nxt, left - 1)
            nodes.pop()
            on_path.discard(nxt)

    walk(user, max_edges)
    return out


# -- the three heuristics ---------------------------------------------------------------------


def specificity(kg: KnowledgeGraph, name: str) -> float:
    """1 / log2(1 + deg): 1 for a node of degree 1, 0.63 for 2, 0.5 for 3."""
    return min(1.0, 1.0 / math.log2(1 + max(1, kg.degree(name))))


def edge_weight(kg: KnowledgeGraph, a: str, b: str, source: str | None = None) -> float:
    """w(a, b) (module docstring): the edge's explicit weight (default 1) times its structural
    weight — 1 between two movies and on the path's own user's edge, else the specificity of
    the non-movie end (the smaller of the two when neither end is a movie)."""
    explicit = kg.weights.get(frozenset((a, b)), 1.0)
    ka, kb = kind_of(a), kind_of(b)
    if source in (a, b) or (ka == "movie" and kb == "movie"):
        structural = 1.0
    elif ka == "movie":
        structural = specificity(kg, b)
    elif kb == "movie":
        structural = specificity(kg, a)
    else:
        structural = min(specificity(kg, a), specificity(kg, b))
    return explicit * structural


def credibility(kg: KnowledgeGraph, path: Path, anchor_similarity: float) -> float:
    """c(p) = ½ (ŝ(a, i) + g(p)); `anchor_similarity` is ŝ(a, i) ∈ [0, 1]."""
    user = path.nodes[0]
    weights = [edge_weight(kg, a, b, user) for a, b in zip(path.nodes, path.nodes[1:], strict=False)]
    geometric = math.exp(sum(math.log(max(w, 1e-12)) for w in weights) / len(weights))
    return 0.5 * (anchor_similarity + geometric)


def readability(kg: KnowledgeGraph, path: Path) -> float:
    """ρ(p) = ν(p) / (|p| − 1), ν = share of named intermediate nodes."""
    middle = path.intermediates
    named = sum(1 for n in middle if kg.name(n)) / len(middle)
    return named / (path.edges - 1)


def diversity(path: Path, chosen: Sequence[Path]) -> float:
    """δ(p | S) = ½ (new-node share + [new relation pattern]); 1 for the first path."""
    if not chosen:
        return 1.0
    covered = {n for p in chosen for n in p.intermediates}
    middle = path.intermediates
    new_nodes = sum(1 for n in middle if n not in covered) / len(middle)
    new_pattern = float(all(p.relations != path.relations for p in chosen))
    return 0.5 * (new_nodes + new_pattern)


def sort_paths(kg: KnowledgeGraph, paths: Sequence[Path], anchor_similarity: Callable[[str], float],
               keep: int = 3, weights: Sequence[float] = DEFAULT_WEIGHTS) -> list[ScoredPath]:  # fmt: skip
    """SEP's comprehensive sort: greedy max of λc·c + λr·ρ + λd·δ(· | chosen), `keep` paths."""
    wc, wr, wd = weights
    fixed = {p.key: (credibility(kg, p, anchor_similarity(p.anchor)), readability(kg, p)) for p in paths}
    remaining = sorted(paths, key=lambda p: p.key)
    chosen: list[ScoredPath] = []
    while remaining and len(chosen) < keep:
        best, best_score, best_div = None, -math.inf, 0.0
        picked = [c.path for c in chosen]
        for p in remaining:
            c, r = fixed[p.key]
            d = diversity(p, picked)
            score = wc * c + wr * r + wd * d
            if score > best_score + 1e-12:
                best, best_score, best_div = p, score, d
        assert best is not None
        c, r = fixed[best.key]
        chosen.append(ScoredPath(best, c, r, best_div, best_score))
        remaining.remove(best)
    return chosen


# -- words ----------------------------------------------------------------------------------------

SHARED = {
    "film.film.directed_by": "shares a director with",
    "film.film.actor": "shares an actor with",
    "film.film.written_by": "shares a screenwriter with",
    "film.film.produced_by": "shares a producer with",
    "film.film.cinematography": "shares a cinematographer with",
    "film.film.production_companies": "comes from the same production company as",
    "film.film.genre": "shares a genre with",
    "film.film.language": "is in the same language as",
    "film.film.country": "comes from the same country as",
    "film.film.rating": "has the same content rating as",
    "film.film.subjects": "deals with the same subject as",
    "film.film.award_nomination": "shares an award nomination with",
    "film.film.award_won": "shares an award win with",
}
ROLE = {
    "film.film.directed_by": "director",
    "film.film.actor": "actor",
    "film.film.written_by": "screenwriter",
    "film.film.produced_by": "producer",
    "film.film.cinematography": "cinematographer",
}
MOVIE_TO_MOVIE = {
    "film.film.sequel": "is the sequel of",
    "film.film.prequel": "is the prequel of",
}


def _title(kg: KnowledgeGraph, name: str) -> str:
    return kg.name(name) or f"movie {name.split(':', 1)[1]}"


def _link(kg: KnowledgeGraph, a: str, via: str | None, b: str) -> str:
    """One clause saying how movie `b` relates to movie `a` (through `via`, or directly)."""
    ta, tb = _title(kg, a), _title(kg, b)
    if via is None:
        rel = sorted(kg.relations(a, b))[0]
        # the KG stores (movie, film.film.sequel, other): `other` is the sequel of `movie`
        phrase = MOVIE_TO_MOVIE.get(rel, "is linked to")
        return f"{tb} {phrase} {ta}" if rel in MOVIE_TO_MOVIE else f"{tb} is linked to {ta}"
    kind = kind_of(via)
    rel_a, rel_b = sorted(kg.relations(a, via))[0], sorted(kg.relations(b, via))[0]
    if kind == "user":
        return f"{tb} was also liked by another viewer who liked {ta}"
    if kind == "genre":
        genre = kg.name(via) or ""
        article = "an" if genre[:1].lower() in "aeiou" else "a"
        return f"{tb} is {article} {genre} film, like {ta}"
    if kind == "year":
        return f"{tb} came out in {kg.name(via)}, like {ta}"
    if kind == "tag":
        return f'{tb} is tagged "{kg.name(via)}", like {ta}'
    if rel_a == rel_b and rel_a in SHARED:
        return f"{tb} {SHARED[rel_a]} {ta}"
    if rel_a in ROLE and rel_b in ROLE:
        return f"the {ROLE[rel_a]} of {ta} is also the {ROLE[rel_b]} of {tb}"
    return f"{tb} and {ta} share a {rel_a.rsplit('.', 1)[-1].replace('_', ' ')}"


def verbalise(kg: KnowledgeGraph, path: Path) -> str:
    """One sentence for a path, e.g. "the user liked Casino (1995): Heat (1995) shares a director
    with Casino (1995)". Movie-to-movie hops are chained; tag-to-tag hops are said as similar
    tags."""
    nodes = path.nodes
    clauses: list[str] = []
    i = 1  # nodes[1] is the anchor movie
    while i < len(nodes) - 1:
        a = nodes[i]
        j = i + 1
        middle: list[str] = []
        while kind_of(nodes[j]) != "movie":
            middle.append(nodes[j])
            j += 1
        b = nodes[j]
        if len(middle) <= 1:
            clauses.append(_link(kg, a, middle[0] if middle else None, b))
        else:  # e.g. movie -> tag -> similar tag -> movie
            names = [kg.name(m) or kind_of(m) for m in middle]
            clauses.append(
                f'{_title(kg, b)} is tagged "{names[-1]}", a tag similar to "{names[0]}" of {_title(kg, a)}'
            )
        i = j
    return f"the user liked {_title(kg, nodes[1])}: " + "; ".join(clauses)
