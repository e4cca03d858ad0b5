"""What every explainer of the pipeline reads: one recommendation with its two explanations.

A `RecommendationContext` holds the recommended movie, the recommender's intrinsic explanation
(the user's liked movies nearest to it under ItemKNN, with similarities; methods.distill.knn)
and the post-hoc one (the sorted KG explanation paths, verbalised, with their SEP scores;
methods.distill.paths). `render_context` writes it as the text the teacher, the judge and the
students are given, in the input format the paper describes (§1: "this intrinsic explanation
and post-explanation are provided to an LLM"): numbers and method names stay in it, which is
what the style analysis counts as residual technical terms when they reach an explanation.

`ContextBuilder` makes contexts from a fitted ItemKNN, the KG and the SEP settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from methods.distill.kg import KnowledgeGraph, display_title, kind_of, node
from methods.distill.knn import ItemKNNRecommender
from methods.distill.paths import DEFAULT_WEIGHTS, enumerate_paths, sort_paths, verbalise


@dataclass(frozen=True)
class NeighbourFact:
    item_id: str
    title: str
    similarity: float


@dataclass(frozen=True)
class PathFact:
    text: str  # the verbalised path
    nodes: tuple[str, ...]
    relations: tuple[str, ...]
    credibility: float
    readability: float
    diversity: float
    score: float
    names: tuple[str, ...] = ()  # the path's named intermediate nodes (titles, genres, tags)


@dataclass(frozen=True)
class RecommendationContext:
    user_id: str
    item_id: str
    title: str
    genres: tuple[str, ...] = ()
    knn_score: float = 0.0
    knn_rank: int | None = None  # position in the user's ItemKNN ranking (None: not scored)
    neighbours: tuple[NeighbourFact, ...] = ()
    paths: tuple[PathFact, ...] = ()
    paths_found: int = 0  # explanation paths enumerated before sorting
    extras: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecommendationContext:
        return cls(
            user_id=str(data["user_id"]), item_id=str(data["item_id"]), title=str(data["title"]),
            genres=tuple(data.get("genres") or ()), knn_score=float(data.get("knn_score") or 0.0),
            knn_rank=data.get("knn_rank"),
            neighbours=tuple(NeighbourFact(**n) for n in data.get("neighbours") or ()),
            paths=tuple(
                PathFact(**{**p, "nodes": tuple(p["nodes"]), "relations": tuple(p["relations"]),
                            "names": tuple(p.get("names") or ())})
                for p in data.get("paths") or ()
            ),
            paths_found=int(data.get("paths_found") or 0), extras=dict(data.get("extras") or {}),
        )  # fmt: skip

    @property
    def facts(self) -> list[str]:
        """Names an explanation can be grounded in: neighbour titles, genres, named path nodes."""
        out = [n.title for n in self.neighbours] + list(self.genres)
        for p in self.paths:
            out.extend(p.names)
        return [f for f in dict.fromkeys(out) if f]


def render_context(ctx: RecommendationContext) -> str:
    """The context text (the user message of every prompt in the pipeline)."""
    lines = [f"Recommended movie: {ctx.title}"]
    if ctx.genres:
        lines.append(f"Genres: {', '.join(ctx.genres)}")
    lines.append("Intrinsic explanation (item-based KNN: movies the user liked that are most similar to it):")
    if ctx.neighbours:
        lines += [f"{k}. {n.title} (similarity {n.similarity:.3f})" for k, n in enumerate(ctx.neighbours, 1)]
    else:
        lines.append("none (no liked movie is among its nearest neighbours)")
    lines.append("Post-hoc explanation (sorted knowledge-graph paths from the user's liked movies):")
    if ctx.paths:
        lines += [
            f"{k}. {p.text} (credibility {p.credibility:.2f}, readability {p.readability:.2f})"
            for k, p in enumerate(ctx.paths, 1)
        ]
    else:
        lines.append("none found")
    return "\n".join(lines)


class ContextBuilder:
    """Builds RecommendationContexts: ItemKNN neighbours + SEP paths + titles and genres."""

    def __init__(self, recommender: ItemKNNRecommender, kg: KnowledgeGraph, titles: Mapping[str, str],
                 *, n_neighbours: int = 10, max_edges: int = 3, keep_paths: int = 3,
                 max_paths: int = 20000, weights: Sequence[float] = DEFAULT_WEIGHTS,
                 through_users: bool = True):  # fmt: skip
        self.recommender = recommender
        self.kg = kg
        self.titles = titles
        self.n_neighbours = n_neighbours
        self.max_edges = max_edges
        self.keep_paths = keep_paths
        self.max_paths = max_paths
        self.weights = tuple(weights)
        self.through_users = through_users

    def title(self, item: str) -> str:
        return display_title(self.titles.get(item) or self.kg.name(node("movie", item)) or f"movie {item}")

    def genres(self, item: str) -> tuple[str, ...]:
        movie = node("movie", item)
        return tuple(sorted(self.kg.name(n) or "" for n in self.kg.neighbours(movie) if kind_of(n) == "genre"))

    def anchor_similarity(self, user: str, item: str):
        """ŝ(a, i) = W[a, i] / max over the user's liked j of W[j, i] (0 without neighbours)."""
        sims = {nb.item_id: nb.similarity for nb in self.recommender.neighbours(user, item, n=10**9)}
        top = max(sims.values(), default=0.0)

        def normalised(anchor: str) -> float:
            return sims.get(anchor.split(":", 1)[1], 0.0) / top if top > 0 else 0.0

        return normalised

    def build(self, user: str, item: str) -> RecommendationContext:
        rec = self.recommender
        neighbours = tuple(
            NeighbourFact(nb.item_id, self.title(nb.item_id), round(nb.similarity, 6))
            for nb in rec.neighbours(user, item, self.n_neighbours)
        )
        target = node("movie", item)
        source = node("user", user)
        allow = None if self.through_users else (lambda n: kind_of(n) != "user")
        found = enumerate_paths(self.kg, source, target, self.max_edges, self.max_paths, allow)
        ranked = sort_paths(self.kg, found, self.anchor_similarity(user, item), self.keep_paths, self.weights)
        paths = tuple(
            PathFact(verbalise(self.kg, s.path), s.path.nodes, s.path.relations,
                     round(s.credibility, 6), round(s.readability, 6), round(s.diversity, 6),
                     round(s.score, 6), tuple(n for n in map(self.kg.name, s.path.intermediates) if n))  # fmt: skip
            for s in ranked
        )
        return RecommendationContext(
            user_id=user, item_id=item, title=self.title(item), genres=self.genres(item),
            knn_score=round(rec.score(user, item), 6), knn_rank=rec.rank(user, item),
            neighbours=neighbours, paths=paths, paths_found=len(found),
        )  # fmt: skip
