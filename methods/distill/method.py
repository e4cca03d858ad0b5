"""The four rows of Albert et al.'s comparison (§1–§2), each a registered method:

    distill-base     the base student, untrained (paper: Qwen3-0.6B; embedded: SmolLM2-135M)
    distill-teacher  the teacher's own explanations (paper: Gemini 2.5 Flash; offline: the
                     template teacher, reported as `template-teacher`)
    sft-distill      the student + LoRA trained by TRL's SFTTrainer on the teacher set
    orpo-distill     the student + LoRA trained by TRL's ORPOTrainer on the judged pairs

Stages (methods.distill.pipeline): 1_recommend, 2_contexts, 3_teacher, 4_judge (ORPO only),
then 5_sft or 5_orpo (the LoRA adapter). Every row explains the same test records with the
same context (same ItemKNN, KG and SEP settings), so their predictions.jsonl line up record by
record for the arena (leaderboards.arena) and the alignment table. Each prediction's extras
carry the context (`context`, `context_facts`), the recommender's view (`knn_rank`,
`knn_score`), the title and the nearest liked movies (`history_liked`, which the annotation
app shows) and who wrote the explanation (`explainer`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from bench.api.loads import Checkpoint, Endpoint, Load
from bench.api.method import Method
from bench.api.records import Prediction, Record, Splits
from methods.distill.context import RecommendationContext, render_context
from methods.distill.params import (
    BaseStudentParams,
    ORPOStudentParams,
    TeacherParams,
    TrainedStudentParams,
)
from methods.distill.pipeline import DistillPipeline


def _prediction(ctx: RecommendationContext, text: str, explainer: str) -> Prediction:
    return Prediction(
        explanation=text,
        extras={
            "explainer": explainer, "title": ctx.title, "knn_rank": ctx.knn_rank,
            "knn_score": ctx.knn_score, "history_liked": [n.title for n in ctx.neighbours],
            "context": render_context(ctx), "context_facts": ctx.facts,
        },
    )  # fmt: skip


class _DistillRow(Method):
    produces: ClassVar[frozenset[str]] = frozenset({"explanation"})

    def __init__(self, params: Any, run: Any):
        super().__init__(params, run)
        self.pipeline: DistillPipeline | None = None

    @classmethod
    def loads(cls, params: Any) -> list[Load]:
        """The student backbone, the teacher endpoint and the AI judge, as each row's Params has them."""
        out: list[Load] = []
        if getattr(params, "backbone", None):
            out.append(Checkpoint("model.backbone", params.backbone))
        for role in ("teacher", "judge"):
            if getattr(params, role, None) == "endpoint":
                out.append(Endpoint(f"model.{role}_base_url", getattr(params, f"{role}_base_url"),
                                    getattr(params, f"{role}_model"), getattr(params, f"{role}_api_key_env")))  # fmt: skip
        return out

    def _pipeline(self, splits: Splits) -> DistillPipeline:
        if self.pipeline is None:
            self.pipeline = DistillPipeline(self.params, self.run, splits)
        return self.pipeline

    def contexts(self, records: list[Record]) -> list[RecommendationContext]:
        assert self.pipeline is not None, "fit() first"
        return self.pipeline.contexts_for(records, "test contexts")


class DistillTeacher(_DistillRow):
    """The teacher's own explanation (variant 0) of each test recommendation."""

    Params: ClassVar[type] = TeacherParams

    def fit(self, splits: Splits) -> None:
        self._pipeline(splits).recommender()

    def predict(self, records: list[Record]) -> list[Prediction]:
        assert self.pipeline is not None
        teacher = self.pipeline.teacher()
        contexts = self.contexts(records)
        texts = teacher.explain(contexts, 0)
        self.pipeline.info["teacher"] = teacher.describe()
        self.pipeline.write_info()
        out = [_prediction(c, t, teacher.name) for c, t in zip(contexts, texts, strict=True)]
        variant = self.params.alternative_reference
        if variant:  # the second reference of the alignment table (leaderboards.arena)
            for pred, alt in zip(out, teacher.explain(contexts, variant), strict=True):
                pred.extras |= {"teacher_alternative": alt, "teacher_alternative_variant": variant}
        return out


class DistillBase(_DistillRow):
    """The base student prompted with the context, no training."""

    Params: ClassVar[type] = BaseStudentParams

    def __init__(self, params: Any, run: Any):
        super().__init__(params, run)
        self.backbone = None
        self.model = None
        self.tokenizer = None

    def _load_backbone(self) -> None:
        if self.backbone is not None:
            return
        from bench.backbones import load_for_run

        self.backbone = load_for_run(self.params.backbone, self.run, trust_remote_code=self.params.trust_remote_code)
        self.model, self.tokenizer = self.backbone.model, self.backbone.tokenizer

    @property
    def explainer(self) -> str:
        return f"student:{self.params.backbone}"

    def fit(self, splits: Splits) -> None:
        self._pipeline(splits).recommender()
        self._load_backbone()

    def predict(self, records: list[Record]) -> list[Prediction]:
        from methods.distill.students import generate_explanations

        self._load_backbone()
        contexts = self.contexts(records)
        p = self.params
        with self.run.progress("explanations", len(contexts)) as advance:
            texts = generate_explanations(
                self.model, self.tokenizer, contexts, max_new_tokens=p.max_new_tokens,
                batch_size=p.predict_batch_size, max_prompt_tokens=p.max_prompt_tokens, advance=advance,
            )  # fmt: skip
        return [_prediction(c, t, self.explainer) for c, t in zip(contexts, texts, strict=True)]


class _TrainedStudent(DistillBase):
    kind: ClassVar[str] = ""

    def training_plan(self):
        """How the student stage trains (not Method.plan, the preflight's planned work)."""
        from methods.distill.students import TrainingPlan

        p = self.params
        return TrainingPlan(
            steps=p.steps, epochs=p.epochs, batch_size=p.batch_size,
            gradient_accumulation_steps=p.gradient_accumulation_steps, learning_rate=p.learning_rate,
            lora_r=p.lora_r, lora_alpha=p.lora_alpha, lora_dropout=p.lora_dropout,
            lora_targets=tuple(p.lora_targets), max_length=p.max_length,
            orpo_beta=getattr(p, "orpo_beta", 0.1),
        )  # fmt: skip

    @property
    def explainer(self) -> str:
        return f"student:{self.params.backbone}+{self.kind}"

    def training_rows(self, pipeline: DistillPipeline) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _log_fn(self, stage: str):
        def forward(step: int, scalars: dict[str, float]) -> None:
            self.run.log(stage, step, **scalars)

        return forward

    def fit(self, splits: Splits) -> None:
        from bench.backbones.lora import apply_lora_dir, merge_lora
        from methods.distill.students import train_student

        pipeline = self._pipeline(splits)
        pipeline.recommender()
        rows = self.training_rows(pipeline)
        self._load_backbone()
        stage = f"5_{self.kind}"

        def train(folder: Path) -> None:
            if not rows:
                raise RuntimeError(f"{stage}: no training rows (the teacher set is empty)")
            trained = train_student(self.kind, self.model, self.tokenizer, rows, self.training_plan(), folder,
                                    seed=self.run.seed, device=self.run.device, log_fn=self._log_fn(stage))  # fmt: skip
            self.model = merge_lora(trained)

        def load(folder: Path) -> None:
            self.model = apply_lora_dir(self.model, folder / "adapter")

        self.run.stage(stage, train, load)
        self.model.eval()
        pipeline.info["training_rows"] = len(rows)
        pipeline.write_info()


class SFTDistill(_TrainedStudent):
    """LoRA SFT of the student on the teacher's explanations (TRL SFTTrainer)."""

    Params: ClassVar[type] = TrainedStudentParams
    kind = "sft"

    def training_rows(self, pipeline: DistillPipeline) -> list[dict[str, Any]]:
        from methods.distill.students import sft_rows

        contexts = pipeline.train_contexts()
        texts = pipeline.teacher_texts(contexts, (0,))[0]
        return sft_rows(contexts, texts)


class ORPODistill(_TrainedStudent):
    """LoRA ORPO of the student on the AI judge's preference pairs (TRL ORPOTrainer)."""

    Params: ClassVar[type] = ORPOStudentParams
    kind = "orpo"

    def training_rows(self, pipeline: DistillPipeline) -> list[dict[str, Any]]:
        from methods.distill.students import orpo_rows

        contexts = pipeline.train_contexts()
        texts = pipeline.teacher_texts(contexts, (1, 2))
        pairs = pipeline.preference_pairs(contexts, texts[1], texts[2])
        return orpo_rows([c for c, _, _ in pairs], [a for _, a, _ in pairs], [b for _, _, b in pairs])
