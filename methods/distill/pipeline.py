"""Steps 1–4 of the RLAIF pipeline as checkpointed run stages (RunContext.stage).

    1_recommend   ItemKNN on the train split (methods.distill.knn); W saved as npz
    2_contexts    the teacher set: ItemKNN's top `recommendations_per_user` items of users drawn
                  with the run seed, until `train_recommendations` (paper: 1,250); each with its
                  intrinsic explanation and sorted KG paths (contexts.jsonl)
    3_teacher     the teacher's explanations of those contexts, per variant (teacher.jsonl)
    4_judge       each pair of alternatives (variants 1, 2) judged in both orders; every
                  verdict with its raw reply (judgements.jsonl), the kept pairs (pairs.jsonl)

The knowledge graph is rebuilt from its files whenever needed (deterministic, seconds); its
node/edge counts and the sha256 of every KG file read go to <run>/pipeline.json.

Test-time recommendations. The method contract predicts per test record; a test record
(u, i) is read as the recommendation of i to u: ItemKNN scores it from u's train likes, its
intrinsic explanation is i's nearest neighbours among them and its post-hoc explanation the
sorted paths from u to i. The record's ItemKNN rank is kept in the prediction's extras
(`knn_rank`), so an evaluation can be limited to the recommender's own top-k. Training
recommendations never include a (user, item) of the valid or test split.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.api.records import Record, Splits
from bench.api.run_folder import atomic_write_json, atomic_write_jsonl, read_jsonl
from methods.distill.context import ContextBuilder, RecommendationContext, render_context
from methods.distill.kg import KnowledgeGraph, add_movies, add_users, ml32m_graph, ml100k_graph
from methods.distill.knn import ItemKNNRecommender
from methods.distill.params import ContextParams, ORPOStudentParams, TeacherParams


def build_kg(dataset: str, data_cfg: Any, recommender: ItemKNNRecommender, titles: dict[str, str],
             params: ContextParams, rating_max: float = 5.0) -> KnowledgeGraph:  # fmt: skip
    """The dataset's KG (kg=auto) plus the train split's users and the movie titles."""
    kg = KnowledgeGraph()
    if params.kg == "auto":
        from bench.data.api import data_root, get_spec

        spec = get_spec(dataset)
        root = spec.root(data_root(data_cfg))
        items = set(titles) | set(recommender.items)
        if spec.loader == "movielens-atomic":
            kg = ml100k_graph(root, spec.options.get("prefix", dataset), items)
        elif spec.loader == "movielens-csv":
            kg = ml32m_graph(root, items, min_tag_count=params.min_tag_count,
                             tag_similarity=params.tag_similarity, keep_similar=params.similar_tags)  # fmt: skip
    add_movies(kg, titles)
    # every user's liked movies; with kg_users=false paths still start at the explained user
    # but never pass through another one (ContextBuilder.through_users)
    add_users(kg, recommender.liked, recommender.ratings, rating_max)
    return kg


class DistillPipeline:
    """The shared stages of the four rows, run through one method's RunContext."""

    def __init__(self, params: ContextParams, run: Any, splits: Splits):
        self.params = params
        self.run = run
        self.splits = splits
        self.titles = {r.item_id: r.title for r in (*splits.train, *splits.valid, *splits.test) if r.title}
        self._recommender: ItemKNNRecommender | None = None
        self._builder: ContextBuilder | None = None
        self.info: dict[str, Any] = {}

    # -- 1 ----------------------------------------------------------------------------------
    def recommender(self) -> ItemKNNRecommender:
        if self._recommender is None:
            p = self.params

            def train(folder: Path) -> None:
                self._recommender = ItemKNNRecommender.fit(
                    self.splits.train, k=p.knn_k, shrink=p.knn_shrink, interactions=p.knn_interactions
                )
                self._recommender.save(folder)

            def load(folder: Path) -> None:
                self._recommender = ItemKNNRecommender.load(folder, self.splits.train, p.knn_interactions)

            self.run.stage("1_recommend", train, load)
        assert self._recommender is not None
        return self._recommender

    def builder(self) -> ContextBuilder:
        if self._builder is None:
            p = self.params
            rec = self.recommender()
            cfg = self.run.cfg
            kg = build_kg(cfg.dataset, cfg.data, rec, self.titles, p, self._rating_max())
            self.info["kg"] = kg.summary()
            self.write_info()
            self._builder = ContextBuilder(
                rec, kg, self.titles, n_neighbours=p.neighbours, max_edges=p.path_max_edges,
                keep_paths=p.paths_kept, max_paths=p.path_limit, weights=p.sep_weights,
                through_users=p.kg_users,
            )  # fmt: skip
        return self._builder

    def _rating_max(self) -> float:
        ratings = [r.rating for r in self.splits.train if r.rating is not None]
        return max(ratings) if ratings else 5.0

    def write_info(self) -> None:
        atomic_write_json(self.run.dir / "pipeline.json", self.info)

    def contexts_for(self, records: Sequence[Record], description: str = "contexts") -> list[RecommendationContext]:
        builder = self.builder()
        out = []
        with self.run.progress(description, len(records)) as advance:
            for r in records:
                out.append(builder.build(r.user_id, r.item_id))
                advance(1)
        return out

    # -- 2 ----------------------------------------------------------------------------------
    def train_pairs(self) -> list[tuple[str, str]]:
        """(user, item) of the teacher set: ItemKNN top-k of users in a seeded order."""
        p: TeacherParams = self.params  # type: ignore[assignment]
        rec = self.recommender()
        held_out: dict[str, set[str]] = {}
        for r in (*self.splits.valid, *self.splits.test):
            held_out.setdefault(r.user_id, set()).add(r.item_id)
        users = sorted({r.user_id for r in self.splits.train})
        random.Random(f"distill-teacher-set:{self.run.seed}").shuffle(users)
        out: list[tuple[str, str]] = []
        for user in users:
            for item, _score in rec.top_k(user, p.recommendations_per_user, exclude=held_out.get(user, ())):
                out.append((user, item))
                if len(out) >= p.train_recommendations:
                    return out
        return out

    def train_contexts(self) -> list[RecommendationContext]:
        holder: dict[str, list[RecommendationContext]] = {}

        def train(folder: Path) -> None:
            pairs = self.train_pairs()
            records = [Record(user_id=u, item_id=i) for u, i in pairs]
            contexts = self.contexts_for(records, "teacher-set contexts")
            atomic_write_jsonl(folder / "contexts.jsonl", [c.to_dict() for c in contexts])
            holder["contexts"] = contexts

        def load(folder: Path) -> None:
            holder["contexts"] = [RecommendationContext.from_dict(d) for d in read_jsonl(folder / "contexts.jsonl")]

        self.run.stage("2_contexts", train, load)
        self.info["train_recommendations"] = len(holder["contexts"])
        return holder["contexts"]

    # -- 3 ----------------------------------------------------------------------------------
    def teacher(self):
        from methods.distill.teacher import TemplateTeacher, endpoint_teacher

        p: TeacherParams = self.params  # type: ignore[assignment]
        if p.teacher == "template":
            return TemplateTeacher(seed=self.run.seed)
        import os

        key_env = p.teacher_api_key_env if os.environ.get(p.teacher_api_key_env) else None
        return endpoint_teacher(p.teacher_base_url, p.teacher_model, api_key_env=key_env,  # type: ignore[arg-type]
                                max_tokens=p.teacher_max_tokens, temperature=p.teacher_temperature,
                                cache_path=p.teacher_cache_path)  # fmt: skip

    def teacher_texts(self, contexts: Sequence[RecommendationContext], variants: Sequence[int]) -> dict[int, list[str]]:
        holder: dict[int, list[str]] = {}

        def train(folder: Path) -> None:
            teacher = self.teacher()
            rows = []
            for variant in variants:
                texts = teacher.explain(contexts, variant)
                holder[variant] = texts
                rows += [{"user_id": c.user_id, "item_id": c.item_id, "variant": variant, "text": t}
                         for c, t in zip(contexts, texts, strict=True)]  # fmt: skip
            atomic_write_jsonl(folder / "teacher.jsonl", rows)
            atomic_write_json(folder / "teacher.json", teacher.describe())

        def load(folder: Path) -> None:
            for row in read_jsonl(folder / "teacher.jsonl"):
                holder.setdefault(int(row["variant"]), []).append(row["text"])

        self.run.stage("3_teacher", train, load)
        self.info["teacher"] = self._json(self.run.stage_dir("3_teacher") / "teacher.json")
        return holder

    # -- 4 ----------------------------------------------------------------------------------
    def judge(self):
        from metrics.pairwise_judge import RuleJudge, endpoint_judge

        p: ORPOStudentParams = self.params  # type: ignore[assignment]
        if p.judge == "rule":
            return RuleJudge(margin=p.judge_margin)
        import os

        key_env = p.judge_api_key_env if os.environ.get(p.judge_api_key_env) else None
        return endpoint_judge(p.judge_base_url, p.judge_model, key_env, p.judge_cache_path)  # type: ignore[arg-type]

    def preference_pairs(self, contexts: Sequence[RecommendationContext], first: Sequence[str],
                         second: Sequence[str]) -> list[tuple[RecommendationContext, str, str]]:  # fmt: skip
        """(context, chosen, rejected) of the pairs the judge kept (both orders agree)."""

        def train(folder: Path) -> None:
            from metrics.pairwise_judge import judge_swapped

            judge = self.judge()
            items = [(render_context(c), c.facts, x, y) for c, x, y in zip(contexts, first, second, strict=True)]
            judged = judge_swapped(judge, items)
            rows, kept, outcomes = [], [], {}
            for k, (c, j) in enumerate(zip(contexts, judged, strict=True)):
                outcomes[j.outcome] = outcomes.get(j.outcome, 0) + 1
                rows.append({
                    "user_id": c.user_id, "item_id": c.item_id, "judge": judge.name,
                    "x_first": {"answer": j.x_first.answer, "reply": j.x_first.reply},
                    "y_first": {"answer": j.y_first.answer, "reply": j.y_first.reply},
                    "outcome": j.outcome, "preferred": j.preferred,
                })  # fmt: skip
                if j.preferred is not None:
                    kept.append(k if j.preferred == "x" else -k - 1)
            atomic_write_jsonl(folder / "judgements.jsonl", rows)
            atomic_write_json(folder / "pairs.json", {"order": kept, "judge": judge.describe(),
                                                      "outcomes": outcomes, "pairs": len(contexts)})  # fmt: skip
            self.run.log("4_judge", 0, pairs=len(contexts), kept=len(kept), **{f"n_{k}": v for k, v in outcomes.items()})

        def load(folder: Path) -> None:
            pass

        self.run.stage("4_judge", train, load)
        summary = self._json(self.run.stage_dir("4_judge") / "pairs.json")
        self.info["judge"] = {k: summary[k] for k in ("judge", "outcomes", "pairs")} | {"kept": len(summary["order"])}
        out = []
        for code in summary["order"]:
            k = code if code >= 0 else -code - 1
            chosen, rejected = (first[k], second[k]) if code >= 0 else (second[k], first[k])
            out.append((contexts[k], chosen, rejected))
        return out

    @staticmethod
    def _json(path: Path) -> Any:
        import json

        return json.loads(path.read_text(encoding="utf-8"))
