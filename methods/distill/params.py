"""The `model:` sections of the four distillation rows (bench/configs/methods/*-distill.yaml,
distill-base.yaml, distill-teacher.yaml).

The context settings (recommender, KG, SEP) are one dataclass that every row inherits with the
same defaults, so the four rows explain the same recommendations with the same context; the
rows add what they use: the teacher, the student backbone, LoRA/TRL training, the judge.
Choices are Literal types (a wrong value is a one-line ConfigError naming the key); settings
that need each other are checked in __post_init__, before any data is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bench.api.errors import ConfigError


def _positive(name: str, value: float | int | None, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or value <= 0:
        raise ConfigError(f"config key 'model.{name}' must be positive, got {value!r}")


@dataclass
class ContextParams:
    # 1. recommender: RecBole's ItemKNN (methods.distill.knn)
    knn_k: int = 100  # neighbours kept per item in W (RecBole's `k`)
    knn_shrink: float = 0.0
    knn_interactions: Literal["all", "liked"] = "all"
    neighbours: int = 10  # intrinsic explanation: the ten nearest liked movies (paper §1)
    # 2. knowledge graph + Sorted Explanation Paths (methods.distill.kg, methods.distill.paths)
    kg: Literal["auto", "none"] = "auto"  # auto: the dataset's KG (ml-100k Freebase, ml-32m tags)
    kg_users: bool = True  # user nodes (co-viewer paths u -> m -> u' -> i)
    path_max_edges: int = 3
    paths_kept: int = 3
    path_limit: int = 20000  # paths enumerated per recommendation before sorting
    sep_weights: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])  # credibility, readability, diversity
    min_tag_count: int = 2  # ML-32M: users who applied a tag to a movie before it is an edge
    tag_similarity: float = 0.5  # ML-32M: cosine of two tags' movie sets for a similar_tag edge
    similar_tags: int = 3

    def __post_init__(self) -> None:
        for name in ("knn_k", "neighbours", "paths_kept", "path_limit", "min_tag_count", "similar_tags"):
            _positive(name, getattr(self, name))
        if self.path_max_edges < 2:
            raise ConfigError(f"config key 'model.path_max_edges' must be at least 2, got {self.path_max_edges}")
        if len(self.sep_weights) != 3:
            raise ConfigError("config key 'model.sep_weights' needs 3 numbers: credibility, readability, diversity")


@dataclass
class TeacherParams(ContextParams):
    teacher: Literal["template", "endpoint"] = "template"  # template: offline stand-in
    teacher_base_url: str | None = None  # OpenAI-compatible /v1 (Gemini, OpenAI, vLLM)
    teacher_model: str | None = None  # paper: gemini-2.5-flash
    teacher_api_key_env: str = "OPENAI_API_KEY"
    # Gemini 2.5 Flash counts its thinking against max_tokens: the paper profiles give it 1024
    # (160 could come back empty or cut); empty / cut replies are counted in teacher.json
    teacher_max_tokens: int = 160
    teacher_temperature: float = 0.7
    teacher_cache_path: str | None = None  # None: the shared judge reply cache
    # distill-teacher also writes the teacher's variant-k alternative (prompts.TEACHER_VARIANTS)
    # of each test recommendation into extras["teacher_alternative"]: a second ROUGE-L
    # reference beside its variant-0 explanation, which is also SFT's training target
    alternative_reference: Literal[1, 2] | None = None
    # the teacher set (paper §1: 1,250 recommendations)
    train_recommendations: int = 1250
    recommendations_per_user: int = 3  # ItemKNN top-k of each sampled user

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive("train_recommendations", self.train_recommendations)
        _positive("recommendations_per_user", self.recommendations_per_user)
        if self.teacher == "endpoint" and not (self.teacher_base_url and self.teacher_model):
            raise ConfigError("model.teacher=endpoint needs model.teacher_base_url and model.teacher_model")


@dataclass
class GenerationParams:
    backbone: str = "embedded"  # embedded (SmolLM2-135M-Instruct), tiny-random, HF id or folder
    trust_remote_code: bool = False
    max_new_tokens: int = 96
    predict_batch_size: int = 8
    max_prompt_tokens: int = 768


@dataclass
class BaseStudentParams(GenerationParams, ContextParams):
    """distill-base: the untrained student."""

    def __post_init__(self) -> None:
        ContextParams.__post_init__(self)
        _positive("max_new_tokens", self.max_new_tokens)


@dataclass
class TrainedStudentParams(GenerationParams, TeacherParams):
    """sft-distill (and the base of orpo-distill): LoRA + TRL training of the student."""

    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    learning_rate: float = 2e-4
    epochs: float = 1.0
    steps: int | None = None  # None: `epochs` passes over the training rows
    batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_length: int = 1024  # prompt + explanation tokens per training row

    def __post_init__(self) -> None:
        TeacherParams.__post_init__(self)
        for name in ("lora_r", "learning_rate", "epochs", "batch_size", "gradient_accumulation_steps", "max_length"):
            _positive(name, getattr(self, name))
        _positive("steps", self.steps, allow_none=True)


@dataclass
class ORPOStudentParams(TrainedStudentParams):
    orpo_beta: float = 0.1  # λ of the odds-ratio term (TRL's ORPOConfig.beta)
    judge: Literal["rule", "endpoint"] = "rule"  # rule: offline stand-in (metrics.pairwise_judge)
    judge_base_url: str | None = None
    judge_model: str | None = None  # paper: gpt-4.1-mini
    judge_api_key_env: str = "OPENAI_API_KEY"
    judge_cache_path: str | None = None
    judge_margin: float = 1.0  # rule judge: score difference needed to prefer one side

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive("orpo_beta", self.orpo_beta)
        if self.judge == "endpoint" and not (self.judge_base_url and self.judge_model):
            raise ConfigError("model.judge=endpoint needs model.judge_base_url and model.judge_model")
