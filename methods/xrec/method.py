"""XRec (Ma et al., EMNLP 2024): collaborative embeddings injected into a frozen LLM.

Stages (each a checkpointed run stage, so --resume reloads it):

  lightgcn   RecBole LightGCN on the train interactions -> user / item embedding tables
             (methods.xrec.collaborative; skipped with use_embeddings=false)
  adapter    the two MoE adapters (methods.xrec.adapter) trained through the shared torch
             loop (bench.adapters.torch_loop) on the explanation loss of the frozen LLM
             (methods.xrec.explainer); validation loss on `valid_records` valid records
             picks the best epoch

Prediction: the LLM writes the explanation from XRec's prompt (methods.xrec.prompts) with
the adapted vectors at its two placeholders (greedy by default; the paper profile decodes as
XRec, with the checkpoint's own generation config: Llama-2-7b-chat samples at temperature 0.6,
top_p 0.9). XRec predicts no rating.

Ablations (XRec's own): use_profiles=false ("w/o profile": the prompt has no profiles),
injection=input ("w/o injection": the vectors only replace the placeholders' input
embeddings), use_embeddings=false (no collaborative embeddings: the adapters read a zero
vector, so each placeholder carries one learned vector, the same for every user / item).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from bench.api.errors import BenchError, ConfigError
from bench.api.loads import Checkpoint, Load
from bench.api.method import Method
from bench.api.records import Prediction, Record, Splits

STAGES = ("lightgcn", "adapter")


@dataclass
class Params:
    backbone: str = "embedded"  # "embedded" (SmolLM2-135M-Instruct), "tiny-random", an HF id or folder
    trust_remote_code: bool = False
    # collaborative encoder: RecBole LightGCN with XRec's settings (encoder/utils/parse.py)
    lightgcn_dim: int = 64
    lightgcn_layers: int = 4
    lightgcn_epochs: int = 300
    lightgcn_lr: float = 1e-3
    lightgcn_batch_size: int = 1024
    lightgcn_reg_weight: float = 1e-6
    lightgcn_stopping_step: int = 10
    # early stopping on full-sort Recall@K of the valid split; None: K = 10. XRec's encoder
    # (encoder/utils/metrics.py) uses K = 20: the paper profile sets 20
    lightgcn_valid_topk: int | None = None
    # BPR negatives: None: RecBole's, drawn anew each epoch; "once": one per train interaction
    # drawn before training and kept (XRec's encoder/utils/data_handler.py); paper profile: once
    lightgcn_negatives: Literal["once"] | None = None
    # adapter (explainer/models/explainer.py: 8 experts, dropout 0.2, noisy gating)
    experts: int = 8
    adapter_dropout: float = 0.2
    noisy_gating: bool = True
    # prompt (its noun comes from the dataset: XRec's "book" / "business" on its own, else "item")
    prompt_words: int = 50  # the word limit the instruction states (XRec: 50)
    # ablations
    use_profiles: bool = True
    injection: Literal["hidden", "hidden_add", "qkv", "qkv_grouped", "input"] = "hidden"
    use_embeddings: bool = True
    # adapter training (explainer/utils/parse.py: Adam, lr 1e-4, batch 1, one epoch)
    epochs: int = 1
    batch_size: int = 1
    lr: float = 1e-4
    max_steps: int | None = None
    patience: int = 1  # epochs without a lower validation loss before stopping
    train_records: int | None = None  # seeded sample of train records with an explanation (None: all)
    valid_records: int | None = 256  # seeded sample of valid records for the validation loss
    max_target_tokens: int = 128  # explanation tokens trained on per record
    # generation. XRec (explainer/models/explainer.py) calls generate(max_new_tokens=128) with no
    # decoding arguments, so the checkpoint's generation_config.json decides: Llama-2-7b-chat's
    # samples (temperature 0.6, top_p 0.9). decoding=checkpoint does the same (the paper
    # profile); None: do_sample/temperature/top_p below (greedy unless set)
    decoding: Literal["checkpoint"] | None = None
    max_new_tokens: int = 128
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    num_beams: int = 1
    predict_batch_size: int | Literal["auto"] = 8  # "auto": the largest batch free GPU memory holds (8 on CPU)

    def __post_init__(self) -> None:
        positive = ("lightgcn_dim", "lightgcn_layers", "lightgcn_epochs", "lightgcn_batch_size", "experts",
                    "prompt_words", "epochs", "batch_size", "max_target_tokens", "max_new_tokens", "num_beams")  # fmt: skip
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("train_records", "valid_records", "max_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"model.{name} must be >= 1 or null, got {value}")
        if self.predict_batch_size != "auto" and self.predict_batch_size < 1:
            raise ConfigError(f"model.predict_batch_size must be >= 1 or auto, got {self.predict_batch_size}")
        if not 0.0 <= self.adapter_dropout < 1.0:
            raise ConfigError(f"model.adapter_dropout must be in [0, 1), got {self.adapter_dropout}")
        if self.lr <= 0 or self.lightgcn_lr <= 0:
            raise ConfigError("model.lr and model.lightgcn_lr must be > 0")


def _sample(records: list[Record], n: int | None, seed: int) -> list[Record]:
    """A seeded sample of n records in their original order (all when n is None or larger)."""
    if n is None or n >= len(records):
        return list(records)
    keep = sorted(random.Random(seed).sample(range(len(records)), n))
    return [records[i] for i in keep]


class XRec(Method):
    """LightGCN embeddings -> MoE adapters -> a frozen LLM with the vectors at every layer."""

    produces: ClassVar[frozenset[str]] = frozenset({"explanation"})
    Params: ClassVar[type] = Params

    @classmethod
    def loads(cls, params: Any) -> list[Load]:
        return [Checkpoint("model.backbone", params.backbone)]

    def __init__(self, params: Any, run: Any):
        super().__init__(params, run)
        self.backbone = None
        self.tables = None
        self.explainer = None
        self.adapters = None

    # -- parts ---------------------------------------------------------------------------
    @property
    def prompt_spec(self):
        from methods.explanation_prompt import PromptSpec, item_noun

        p = self.params
        return PromptSpec(noun=item_noun(self.run.cfg.dataset), words=p.prompt_words, use_profiles=p.use_profiles)

    def _load_backbone(self) -> None:
        if self.backbone is None:
            from bench.backbones import load_for_run

            self.backbone = load_for_run(self.params.backbone, self.run, trust_remote_code=self.params.trust_remote_code)

    def _lightgcn(self, splits: Splits) -> None:
        from methods.xrec.collaborative import EmbeddingTables, LightGCNSettings, train_lightgcn

        p = self.params
        if not p.use_embeddings:
            self.tables = EmbeddingTables.empty(p.lightgcn_dim)
            return
        settings = LightGCNSettings(
            dim=p.lightgcn_dim, layers=p.lightgcn_layers, epochs=p.lightgcn_epochs, lr=p.lightgcn_lr,
            batch_size=p.lightgcn_batch_size, reg_weight=p.lightgcn_reg_weight,
            stopping_step=p.lightgcn_stopping_step, seed=self.run.seed, device=self.run.device,
            valid_topk=p.lightgcn_valid_topk or 10, negatives=p.lightgcn_negatives or "per_epoch",
        )  # fmt: skip

        def on_epoch(epoch: int, valid_recall: float, loss: float | None) -> None:
            values = {f"valid_recall@{settings.valid_topk}": valid_recall}
            values |= {"train_loss": loss} if loss is not None else {}
            self.run.log("lightgcn", epoch, **values)

        def train(folder: Path) -> None:
            self.tables = train_lightgcn(splits, settings, folder, on_epoch)
            self.tables.save(folder)

        def load(folder: Path) -> None:
            self.tables = EmbeddingTables.load(folder)

        self.run.stage("lightgcn", train, load)

    def _build(self) -> None:
        import torch

        from methods.xrec.adapter import CollaborativeAdapters
        from methods.xrec.explainer import Explainer

        p = self.params
        self.explainer = Explainer(
            self.backbone.model, self.backbone.tokenizer, p.injection, self.tables.users, self.tables.items
        )
        with torch.random.fork_rng():  # the adapters' initial weights depend on the run seed only
            torch.manual_seed(self.run.seed)
            self.adapters = CollaborativeAdapters(
                self.tables.dim, self.explainer.hidden_size, p.experts, p.adapter_dropout, p.noisy_gating
            ).to(self.explainer.device)

    def _examples(self, records: list[Record], with_target: bool):
        from bench.adapters.torch_loop import TensorBatches
        from methods.xrec.examples import encode

        tensors = encode(
            records, self.backbone.tokenizer, self.prompt_spec, self.tables.rows,
            with_target=with_target, max_target_tokens=self.params.max_target_tokens,
        )  # fmt: skip
        return TensorBatches(tensors)

    # -- Method API ----------------------------------------------------------------------
    def fit(self, splits: Splits) -> None:
        from bench.adapters.torch_loop import LoopSettings, evaluate, fit_loop, load_weights

        p = self.params
        explained = [r for r in splits.train if r.reference_explanation.strip()]
        if not explained:
            raise BenchError(
                f"xrec trains on train records with a reference explanation and dataset "
                f"{self.run.cfg.dataset!r} has none in its train split (XRec's own data: train.jsonl)"
            )
        self._load_backbone()
        self._lightgcn(splits)
        self._build()
        train = self._examples(_sample(explained, p.train_records, self.run.seed), with_target=True)
        held_out = [r for r in splits.valid if r.reference_explanation.strip()]
        valid = self._examples(_sample(held_out, p.valid_records, self.run.seed), with_target=True)
        valid = valid if len(valid) else None
        settings = LoopSettings.from_params(p)
        loss, device = self.explainer.loss, self.explainer.device

        def train_adapters(folder: Path) -> None:
            if valid is not None:  # the untrained adapters: the baseline the trained ones are read against
                before = evaluate(self.adapters, valid, loss, p.batch_size, device)
                self.run.log("adapter", 0, **{f"untrained_valid_{k}": v for k, v in before.items()})
            fit_loop(self.run, "adapter", folder, self.adapters, train, valid, loss, settings)

        self.run.stage("adapter", train_adapters, lambda folder: load_weights(self.adapters, folder, device))
        self.adapters.eval()

    def predict(self, records: list[Record]) -> list[Prediction]:
        from bench.backbones.generate import auto_batch_size, length_buckets
        from methods.xrec.explainer import GenerationSettings, from_generation_config

        if self.explainer is None:
            raise RuntimeError("XRec.predict before fit")
        p = self.params
        settings = GenerationSettings(p.max_new_tokens, p.do_sample, p.temperature, p.top_p, p.num_beams)
        if p.decoding == "checkpoint":
            settings = from_generation_config(self.explainer.model.generation_config, p.max_new_tokens)
            self.run.log("predict", 0, **{f"decoding_{k}": v for k, v in vars(settings).items()})
        prompts = self._examples(list(records), with_target=False).tensors
        lengths = prompts["attention_mask"].sum(dim=1).tolist()
        size = p.predict_batch_size
        if size == "auto":
            size = auto_batch_size(self.explainer.model, max(lengths, default=1), p.max_new_tokens)
        self.adapters.eval()
        texts: list[str] = [""] * len(records)
        with self.run.progress("xrec explanations", len(records)) as advance:
            for bucket in length_buckets(lengths, size):  # similar lengths: little padding
                batch = {key: value[bucket] for key, value in prompts.items()}
                for index, text in zip(bucket, self.explainer.generate(self.adapters, batch, settings), strict=True):
                    texts[index] = text
                advance(len(bucket))
        return [Prediction(explanation=text) for text in texts]
