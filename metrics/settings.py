"""The eval section's settings: one typed dataclass per scorer or judge.

Each component reads its own keys, with their defaults defined here once:
`BERTScoreSettings.of(eval_cfg).bertscore_model`. The user-facing keys stay flat
(`eval.bertscore_model`, `eval.judge_timeout_s`): EvalConfig below is the union of these
dataclasses and the suite's own keys (the chat endpoint's come from bench.backbones.chat_client), so an unknown key, a wrong type or a value outside a
`Literal[...]` is a one-line ConfigError when the config is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bench.api.errors import ConfigError
from bench.api.settings import Settings
from bench.backbones.chat_client import JudgeEndpointSettings


@dataclass
class BERTScoreSettings(Settings):
    bertscore_model: str = "embedded"  # "embedded" (MiniLM, offline) or an HF id / local dir
    # None: what measured fastest on CPU with length-sorted batches, 16 in float32 and 128 under
    # bf16 autocast (larger batches spread autocast's per-call weight casts); 64 on CUDA
    bertscore_batch_size: int | None = None
    # "bfloat16": encoder under CPU/GPU autocast, ~2x faster on CPUs with bf16 units; scores move
    # by ~1e-3, so they are reported under their own name, bertscore_*[<checkpoint>,bf16]
    bertscore_dtype: Literal["float32", "bfloat16"] = "float32"
    # the hidden layer whose embeddings are matched; None: bert_score's default for the model
    # named by the id or folder name (roberta-large: 17), 6 for "embedded". Set, any local
    # folder works whatever its name; a layer other than the model's default is in the name,
    # bertscore_f1[<checkpoint>,L<n>]
    bertscore_num_layers: int | None = None


@dataclass
class BLEURTSettings(Settings):
    # converted BLEURT dir or HF id (papers' columns: bleurt-base-128); unset: BLEURT unavailable
    bleurt_checkpoint: str | None = None


@dataclass
class BARTScoreSettings(Settings):
    bartscore_checkpoint: str | None = None  # facebook/bart-large-cnn dir or id
    bartscore_weights: str | None = None  # ParaBank fine-tuned weights file (bartscore[...+parabank])


@dataclass
class RougeSettings(Settings):
    rouge_use_stemmer: bool = False  # rouge-score option, recorded in the metric version


@dataclass
class RatingSettings(Settings):
    rating_clip: bool = True  # clip predicted ratings to [rating_min, rating_max] (as PETER)
    rating_min: float = 1.0
    rating_max: float = 5.0


@dataclass
class CoherenceSettings(Settings):
    coherence_sources: list[Literal["classifier", "judge", "human"]] = field(
        default_factory=lambda: ["classifier"]
    )
    sentiment_classifier: str = "embedded"  # "embedded" (trained on train reviews) or HF id
    human_ratings_csv: str | None = None  # columns idx (or user_id,item_id), annotator, rating




@dataclass
class GPTScoreSettings(Settings):
    # GPTScore system prompt file; unset: metrics/prompts/gptscore.txt. Its sha256 is in the
    # metric version, and in the name unless it is XRec's prompt (metrics.gptscore)
    judge_prompt_file: str | None = None


# every component's settings, in the order EvalConfig lists their keys
COMPONENTS: tuple[type[Settings], ...] = (
    BERTScoreSettings, BLEURTSettings, BARTScoreSettings, JudgeEndpointSettings,
    GPTScoreSettings, RougeSettings, RatingSettings, CoherenceSettings,
)  # fmt: skip


@dataclass
class EvalConfig(
    CoherenceSettings, RatingSettings, RougeSettings, GPTScoreSettings, JudgeEndpointSettings,
    BARTScoreSettings, BLEURTSettings, BERTScoreSettings,
):
    """The eval section: the suite's own keys below, and each scorer's and judge's keys from its
    own dataclass (this module), so the keys stay flat: eval.bertscore_model, ..."""

    split: str = "test"
    max_records: int | None = None  # score a seeded random sample of N test records (eval_sample.json)
    metrics: list[str] = field(default_factory=list)  # empty: every applicable metric
    mask_ratio: float = 0.0  # robustness: fraction of input entities masked at test time

    def __post_init__(self) -> None:
        if not 0.0 <= self.mask_ratio <= 1.0:
            raise ConfigError(f"config key 'eval.mask_ratio' expects a fraction in [0, 1], got {self.mask_ratio!r}")
