"""Curr-RLCER: three-stage curriculum RL for explanation-coherent recommendation.

Pipeline (paper §3, Fig. 1), each stage a LoRA adapter trained on top of the merged weights of
the stages before it (bench.backbones.lora), checkpointed in runs/.../stages/<name>/adapter:

  1_judgment   GRPO, rewards: format + eq. 3 (yes/no == label)
  2_choose     GRPO, rewards: format + eq. 4 (1 - |r_ans - r_gt| / 4)
  3a_dpo       DPO (beta 0.1): chosen = teacher/reference explanation, rejected = the stage-2
               model's answer on a masked input with MiniLM similarity < threshold (pairs.py)
  3b_explain   GRPO, rewards: format + length eq. 5 + accuracy eq. 6 (text-encoder cosine)
               + coherence eq. 7 (sentiment-classifier rating vs ground truth)

Prediction: the final model answers the stage-2 prompt (rating) and the stage-3 prompt
(explanation). `LLMZeroShot` does the same with the untrained backbone; with
`model.prompt=xrec` its explanation prompt is XRec's (profiles, no review, no embeddings):
the untrained comparison row of `xrec` (methods/xrec/prompts.py).
Ablations: use_dpo=false (w/o DPO), use_coherence_reward=false (w/o coherence reward).
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from bench.api.errors import ConfigError
from bench.api.loads import Checkpoint, Endpoint, Load
from bench.api.method import Method
from bench.api.records import Prediction, Record, Splits
from bench.api.work_plan import PlannedStage
from methods.currrl import rewards as R
from methods.currrl.prompts import build_prompt

log = logging.getLogger(__name__)

STAGES = ("1_judgment", "2_choose", "3a_dpo", "3b_explain")


@dataclass
class ZeroShotParams:
    backbone: str = "embedded"  # "embedded" (SmolLM2-135M-Instruct), "tiny-random", HF id, folder
    trust_remote_code: bool = False
    max_prompt_length: int = 512  # tokens (paper §4.1)
    system_prompt: str = "short"  # format instruction as system message: "short", "r1", "none"
    rating_max_new_tokens: int = 128
    explanation_max_new_tokens: int = 128
    predict_batch_size: int | Literal["auto"] = 8  # "auto": largest batch free GPU memory holds (8 on CPU)
    fallback_rating: float | None = None  # unparsable rating answer -> this (None: train mean)
    # the record's own review in every prompt, as the paper (true); false: the leakage-free
    # variant (its review holds the rating's sentiment and the reference sentence, so eq. 6
    # rewards copying it: methods.currrl.prompts). A model.* key: only the prompt changes
    review_in_prompt: bool = True


@dataclass
class LLMZeroShotParams(ZeroShotParams):
    # explanation prompt: "currrl" (Curr-RLCER stage 3: the profiles and the record's review) or
    # "xrec" (XRec's prompt without its two embedding placeholders: item title, user and item
    # profiles, no review), so the untrained backbone is read against `xrec` on the same input
    prompt: Literal["currrl", "xrec"] = "currrl"
    prompt_words: int = 50  # "xrec": the word limit the instruction states (as xrec's model.prompt_words)
    # "openai": answers come from an OpenAI-compatible server serving `backbone` (vllm serve,
    # SGLang, TGI, llama.cpp; bench.backbones.served), greedy, prompts sent concurrently;
    # "hf": generated in-process (bench.backbones.generate)
    generation: Literal["hf", "openai"] = "hf"
    generation_base_url: str | None = None  # e.g. http://127.0.0.1:8000/v1
    generation_model: str | None = None  # the name the server serves the backbone under
    generation_api_key_env: str = "OPENAI_API_KEY"  # unset or empty: no Authorization header
    generation_max_concurrency: int = 16

    def __post_init__(self) -> None:  # checked when the config is built, before any work
        if self.generation == "openai":
            from bench.backbones.served import ServedGeneration

            ServedGeneration.from_params(self)


@dataclass
class Params(ZeroShotParams):
    # LoRA (one fresh adapter per stage, merged before the next stage)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])
    # data per stage (paper: 3000 train samples per stage, different samples per stage)
    stage_records: int | None = 3000
    disjoint_stage_records: bool = True
    # GRPO (eq. 2)
    num_generations: int = 4  # group size (paper §4.1)
    prompts_per_step: int = 2  # per-device batch = prompts_per_step x num_generations
    gradient_accumulation_steps: int = 1
    learning_rate: float = 1e-5
    explain_learning_rate: float | None = None  # stage 3's GRPO (eq. 5-7); None: learning_rate
    grpo_beta: float = 0.04  # KL coefficient toward the previous stage's model (not in the paper)
    temperature: float = 1.0
    max_completion_length: int = 256  # stages 1 and 2
    explain_max_completion_length: int = 256  # stage 3
    stage1_steps: int | None = None  # None: one pass over the stage's records
    stage2_steps: int | None = None
    stage3_steps: int | None = None
    # "strict": no <answer> tag -> reward 0; "lenient": untagged text
    answer_parsing: Literal["strict", "lenient"] = "strict"
    # GRPO rollouts through vLLM: TRL's own options, passed through as given (untested here,
    # needs GPUs), e.g. {use_vllm: true, vllm_mode: server, vllm_server_base_url: http://host:8000}
    grpo_vllm: dict[str, Any] = field(default_factory=dict)
    # stage 3 phase 1: DPO (eq. 1)
    use_dpo: bool = True
    dpo_beta: float = 0.1
    dpo_learning_rate: float = 5e-6
    dpo_batch_size: int = 4
    dpo_steps: int | None = None  # None: one pass over the pairs
    dpo_max_length: int = 768
    dpo_mask_ratio: float = 0.3  # fraction of input content words masked for the rejected side
    dpo_similarity_threshold: float = 0.5  # rejected kept when cosine(rejected, chosen) < this
    dpo_max_tries: int = 2  # fresh masks per record before giving up on it
    dpo_generation_max_new_tokens: int = 128
    teacher: Literal["reference", "endpoint"] = "reference"  # record.reference_explanation, or an LLM
    teacher_base_url: str | None = None
    teacher_model: str | None = None
    teacher_api_key_env: str = "OPENAI_API_KEY"
    # max_tokens of each teacher request (None: 128); a thinking model (Gemini 2.5 Flash) spends
    # it on hidden reasoning too: give one 1024 or more (methods/currrl/teacher.py)
    teacher_max_tokens: int | None = None
    teacher_max_concurrency: int = 8  # teacher requests in flight at once
    # stage 3 phase 2 rewards
    length_unit: Literal["words", "chars"] = "words"  # eq. 5 len() (see rewards.length_reward)
    use_coherence_reward: bool = True
    text_encoder: str = "embedded"  # eq. 6 T: "embedded" (MiniLM) or "moka-ai/m3e-base"
    sentiment_classifier: str = "embedded"  # eq. 7 C: "embedded" (harness classifier) or HF id

    def __post_init__(self) -> None:  # checked when the config is built, before any work
        if self.teacher == "endpoint" and not (self.teacher_base_url and self.teacher_model):
            raise ConfigError("model.teacher=endpoint needs model.teacher_base_url and model.teacher_model")


def _batch(params: Any) -> int:
    """Generation batch size for the plan ("auto": 8, its CPU value; a GPU takes more)."""
    size = params.predict_batch_size
    return size if isinstance(size, int) and size > 0 else 8


def _rating_label(rec: Record, threshold: float = 4.0) -> int | None:
    if rec.label is not None:
        return int(rec.label)
    if rec.rating is None:
        return None
    return int(rec.rating >= threshold)


class LLMZeroShot(Method):
    """The untrained backbone answering the Curr-RLCER stage-2 (rating) and stage-3
    (explanation) prompts."""

    produces: ClassVar[frozenset[str]] = frozenset({"rating", "explanation"})
    Params: ClassVar[type] = LLMZeroShotParams

    def __init__(self, params: Any, run: Any):
        super().__init__(params, run)
        self.backbone = None
        self.model = None
        self.tokenizer = None
        self.fallback = params.fallback_rating

    @classmethod
    def loads(cls, params: Any) -> list[Load]:
        out: list[Load] = [Checkpoint("model.backbone", params.backbone)]
        if getattr(params, "generation", "hf") == "openai":
            out.append(Endpoint("model.generation_base_url", params.generation_base_url,
                                params.generation_model, params.generation_api_key_env))  # fmt: skip
        return out

    @classmethod
    def planned_work(cls, params: Any, cfg: Any) -> list[PlannedStage]:
        n = cfg.eval.max_records or None
        per_record = params.rating_max_new_tokens + params.explanation_max_new_tokens
        batches = math.ceil(n / _batch(params)) if n else 0
        return [PlannedStage("predict (rating + explanation)", n, None, n * per_record if n else 0, batches * per_record)]

    # -- backbone ------------------------------------------------------------------------
    @property
    def served(self) -> Any:
        """Where answers come from when model.generation=openai (None: in-process)."""
        if getattr(self.params, "generation", "hf") != "openai":
            return None
        from bench.backbones.served import ServedGeneration

        return ServedGeneration.from_params(self.params)

    def _load_backbone(self) -> None:
        if self.backbone is not None or (self.served is not None and self.tokenizer is not None):
            return
        if self.served is not None:  # the server holds the model; prompts only need its tokenizer
            from bench.backbones.hf import load_tokenizer, record_backbone

            self.tokenizer = load_tokenizer(self.params.backbone, cache_dir=self.run.cache_dir,
                                            trust_remote_code=self.params.trust_remote_code)  # fmt: skip
            record_backbone(self.run, {
                "backbone": self.params.backbone, "mode": "served", "generation": "openai",
                "base_url": self.served.base_url, "served_model": self.served.model})  # fmt: skip
            return
        from bench.backbones import load_for_run

        self.backbone = load_for_run(self.params.backbone, self.run, trust_remote_code=self.params.trust_remote_code)
        self.model, self.tokenizer = self.backbone.model, self.backbone.tokenizer

    def prompt(self, task: str, rec: Record) -> list[dict[str, str]]:
        if task == "explain" and getattr(self.params, "prompt", "currrl") == "xrec":
            from methods.explanation_prompt import PromptSpec, item_noun, messages

            spec = PromptSpec(noun=item_noun(self.run.cfg.dataset), words=self.params.prompt_words)
            return messages(rec, spec, slots=False, tokenizer=self.tokenizer)
        return build_prompt(task, rec, self.tokenizer, self.params.max_prompt_length, self.params.system_prompt,
                            review=self.params.review_in_prompt)

    def _generate(self, prompts, max_new_tokens: int, description: str, **kw) -> list[str]:
        from bench.backbones.generate import generate

        with self.run.progress(description, len(prompts)) as advance:
            if self.served is not None:
                from bench.backbones.served import generate_served

                return generate_served(prompts, self.served, max_new_tokens=max_new_tokens, advance=advance)
            return generate(
                self.model, self.tokenizer, prompts, max_new_tokens=max_new_tokens,
                batch_size=self.params.predict_batch_size, advance=advance,
                max_prompt_tokens=self.params.max_prompt_length + 64, **kw,
            )  # fmt: skip

    # -- Method API ----------------------------------------------------------------------
    def fit(self, splits: Splits) -> None:
        self._set_fallback(splits.train)
        self._load_backbone()

    def _set_fallback(self, train: list[Record]) -> None:
        if self.fallback is None:
            ratings = [r.rating for r in train if r.rating is not None]
            self.fallback = (sum(ratings) / len(ratings)) if ratings else 3.0

    def predict(self, records: list[Record]) -> list[Prediction]:
        self._load_backbone()
        if self.fallback is None:
            self.fallback = 3.0
        p = self.params
        rating_out = self._generate([self.prompt("choose", r) for r in records], p.rating_max_new_tokens, "rating")
        expl_out = self._generate(
            [self.prompt("explain", r) for r in records], p.explanation_max_new_tokens, "explanation"
        )
        preds = []
        for rating_text, expl_text in zip(rating_out, expl_out, strict=True):
            rating = R.parse_rating(R.extract_answer(rating_text, lenient=True))
            explanation = R.extract_answer(expl_text, lenient=True) or ""
            preds.append(
                Prediction(
                    rating=float(rating) if rating is not None else float(self.fallback),
                    explanation=explanation,
                    extras={
                        "rating_parsed": rating is not None,
                        "rating_format_ok": bool(R.FORMAT_PATTERN.match(rating_text.strip())),
                        "explanation_format_ok": bool(R.FORMAT_PATTERN.match(expl_text.strip())),
                        "raw_rating": rating_text,
                        "raw_explanation": expl_text,
                    },
                )
            )
        return preds


class CurrRLCER(LLMZeroShot):
    """Curriculum GRPO (judgment -> choose) then DPO + GRPO (explain)."""

    Params: ClassVar[type] = Params

    def __init__(self, params: Any, run: Any):
        super().__init__(params, run)
        unknown = sorted(k for k in params.grpo_vllm if k != "use_vllm" and not k.startswith("vllm_"))
        if unknown:
            raise ConfigError(f"model.grpo_vllm takes TRL's use_vllm and vllm_* options, not {', '.join(unknown)}")
        self._encoder = None
        self._classifier = None
        self.pair_stats: dict[str, Any] | None = None

    @classmethod
    def loads(cls, params: Any) -> list[Load]:
        out = [*super().loads(params), Checkpoint("model.text_encoder", params.text_encoder)]
        if params.use_coherence_reward:
            out.append(Checkpoint("model.sentiment_classifier", params.sentiment_classifier))
        if params.use_dpo and params.teacher == "endpoint":
            out.append(Endpoint("model.teacher_base_url", params.teacher_base_url, params.teacher_model,
                                params.teacher_api_key_env))  # fmt: skip
        return out

    @classmethod
    def planned_work(cls, params: Any, cfg: Any) -> list[PlannedStage]:
        p, n = params, params.stage_records
        per_step = p.prompts_per_step * p.gradient_accumulation_steps

        def grpo(name: str, steps: int | None, completion: int) -> PlannedStage:
            steps = steps or (max(1, math.ceil(n / per_step)) if n else None)
            rollouts = steps * per_step * p.num_generations if steps else 0
            return PlannedStage(f"{name} (GRPO)", n, steps, rollouts * completion, (steps or 0) * completion, rollouts)

        stages = [grpo("1_judgment", p.stage1_steps, p.max_completion_length),
                  grpo("2_choose", p.stage2_steps, p.max_completion_length)]  # fmt: skip
        if p.use_dpo:
            steps = p.dpo_steps or (max(1, math.ceil(n / p.dpo_batch_size)) if n else None)
            teacher = f"{n or 'one'} teacher request(s){'' if n else ' per record'}" if p.teacher == "endpoint" else ""
            drafts = (n or 0) * max(1, p.dpo_max_tries)  # rejected sides, at most this many
            stages.append(PlannedStage(
                "3a_dpo (DPO)", n, steps, drafts * p.dpo_generation_max_new_tokens,
                math.ceil(drafts / _batch(p)) * p.dpo_generation_max_new_tokens, 2 * (steps or 0) * p.dpo_batch_size, teacher,
            ))  # fmt: skip
        stages.append(grpo("3b_explain", p.stage3_steps, p.explain_max_completion_length))
        return [*stages, *super().planned_work(params, cfg)]

    @property
    def lenient(self) -> bool:
        return self.params.answer_parsing == "lenient"

    # -- data per stage ------------------------------------------------------------------
    def stage_records(self, train: list[Record]) -> dict[str, list[Record]]:
        """Records for each stage: a seeded shuffle, disjoint slices when there are enough
        records (the paper draws different samples per stage), wrapping around otherwise."""
        p = self.params
        pool = list(train)
        random.Random(self.run.seed).shuffle(pool)
        n = p.stage_records or len(pool)
        needs = {
            "1_judgment": lambda r: _rating_label(r) is not None,
            "2_choose": lambda r: r.rating is not None,
            "3_explain": lambda r: bool(r.reference_explanation) and r.rating is not None,
        }
        out = {}
        for k, name in enumerate(needs):
            usable = [r for r in pool if needs[name](r)]
            if not usable:
                out[name] = []
                continue
            start = (k * n) % len(usable) if p.disjoint_stage_records else 0
            rotated = usable[start:] + usable[:start]
            out[name] = rotated[: min(n, len(usable))]
        return out

    # -- encoders ------------------------------------------------------------------------
    def encoder(self):
        if self._encoder is None:
            from methods.currrl.encoders import TextEncoder

            self._encoder = TextEncoder(self.params.text_encoder, device=self.run.device)
        return self._encoder

    def classifier(self, train: list[Record]):
        if self._classifier is None:
            from methods.currrl.encoders import sentiment_classifier

            texts = [r.review for r in train if r.review and r.rating is not None]
            ratings = [r.rating for r in train if r.review and r.rating is not None]
            self._classifier = sentiment_classifier(
                self.params.sentiment_classifier, texts, ratings, cache_dir=self.run.cache_dir,
                device=self.run.device,
            )
            clf = getattr(self._classifier, "classifier", None)
            if getattr(clf, "heldout_accuracy", None) is not None:
                self.run.log("3b_explain", 0, classifier_heldout_accuracy=clf.heldout_accuracy)
        return self._classifier

    # -- training ------------------------------------------------------------------------
    def _lora(self):
        from bench.backbones.lora import lora_config

        p = self.params
        return lora_config(p.lora_r, p.lora_alpha, p.lora_dropout, p.lora_targets)

    def _log_fn(self, stage: str):
        def forward(step: int, scalars: dict[str, float]) -> None:
            row = {}
            for key, value in scalars.items():
                if key.startswith("rewards.") and key.endswith(".mean"):
                    key = "reward_" + key[len("rewards.") : -len(".mean")]
                elif key.startswith("rewards.") and key.endswith(".std"):
                    key = "reward_" + key[len("rewards.") : -len(".std")] + "_std"
                row[key] = value
            self.run.log(stage, step, **row)

        return forward

    def _steps(self, steps: int | None, n_rows: int, per_step: int) -> int:
        return steps if steps else max(1, math.ceil(n_rows / max(1, per_step)))

    def _grpo_settings(self, task: str, steps: int | None, n_prompts: int, completion_len: int):
        from bench.adapters.trl import GRPOSettings
        from bench.api.distributed import per_process

        p = self.params
        explain_lr = p.explain_learning_rate if p.explain_learning_rate is not None else p.learning_rate
        return GRPOSettings(
            max_steps=self._steps(steps, n_prompts, p.prompts_per_step * p.gradient_accumulation_steps),
            learning_rate=explain_lr if task == "explain" else p.learning_rate,
            # the config's batch is the global one; a launched run splits it over its processes
            per_device_train_batch_size=per_process(
                p.prompts_per_step * p.num_generations, "model.prompts_per_step x model.num_generations"),
            gradient_accumulation_steps=p.gradient_accumulation_steps,
            num_generations=p.num_generations,
            max_completion_length=completion_len,
            beta=p.grpo_beta,
            temperature=p.temperature,
            seed=self.run.seed,
            device=self.run.device,
            extra=dict(p.grpo_vllm),
        )

    def _run_stage(self, name: str, train_fn) -> None:
        """Train a fresh LoRA on the current weights, save it, merge it; or reload it."""
        from bench.backbones.lora import add_lora, apply_lora_dir, merge_lora

        def train(folder: Path) -> None:
            peft_model = add_lora(self.model, self._lora())
            trained = train_fn(peft_model, folder)
            trained.save_pretrained(str(folder / "adapter"))
            self.model = merge_lora(trained)
            self._after_training()

        def load(folder: Path) -> None:
            self.model = apply_lora_dir(self.model, folder / "adapter")
            self._after_training()

        self.run.stage(name, train, load)

    def _after_training(self) -> None:
        self.model.eval()
        if getattr(self.model, "config", None) is not None:
            self.model.config.use_cache = True

    def _grpo_rows(self, task: str, records: list[Record]) -> list[dict[str, Any]]:
        return [
            {
                "prompt": self.prompt(task, r),
                "label": _rating_label(r) if _rating_label(r) is not None else -1,
                "rating": float(r.rating) if r.rating is not None else float("nan"),
                "reference": r.reference_explanation or "",
            }
            for r in records
        ]

    def _grpo(self, stage: str, task: str, records, rewards, steps, completion_len):
        from bench.adapters.trl import train_grpo

        rows = self._grpo_rows(task, records)
        if not rows:
            raise RuntimeError(f"Curr-RLCER stage {stage}: no usable training records")
        settings = self._grpo_settings(task, steps, len(rows), completion_len)

        def fn(model, folder: Path):
            return train_grpo(model, self.tokenizer, rows, rewards, settings, folder / "trl", log_fn=self._log_fn(stage))

        self._run_stage(stage, fn)

    def reward_functions(self, task: str, train: list[Record] | None = None) -> dict[str, Any]:
        """The GRPO reward components of one task (name -> fn(completions, **columns))."""
        from bench.adapters.trl import completion_text

        lenient, p = self.lenient, self.params

        def texts(completions):
            return [completion_text(c) for c in completions]

        def fmt(completions, **_):
            return R.format_reward(texts(completions))

        if task == "judgment":
            return {"format": fmt, "accuracy": lambda completions, label, **_: R.judgment_reward(texts(completions), label, lenient)}
        if task == "choose":
            return {"format": fmt, "accuracy": lambda completions, rating, **_: R.choose_reward(texts(completions), rating, lenient)}
        if task == "explain":
            out = {
                "format": fmt,
                "length": lambda completions, **_: R.length_reward(texts(completions), unit=p.length_unit),
                "accuracy": lambda completions, reference, **_: R.accuracy_reward(
                    texts(completions), reference, self.encoder(), lenient
                ),
            }
            if p.use_coherence_reward:  # C is trained (or loaded from cache) on first use
                out["coherence"] = lambda completions, rating, **_: R.coherence_reward(
                    texts(completions), rating, self.classifier(train or []), lenient
                )
            return out
        raise KeyError(task)

    def _dpo(self, records: list[Record]) -> None:
        from bench.adapters.trl import DPOSettings, train_dpo
        from bench.api.distributed import from_main, per_process
        from bench.api.run_folder import atomic_write_json
        from bench.backbones.generate import generate
        from methods.currrl.pairs import build_dpo_pairs
        from methods.currrl.teacher import teacher_client, teacher_explanations

        p = self.params

        def fn(model, folder: Path):
            # the rejected side comes from the stage-2 model = model with the new adapter off
            chosen_fn, teacher_stats = None, None
            if p.teacher == "endpoint":  # through the shared chat client: retries, cache, concurrency
                texts, teacher_stats = from_main(lambda: teacher_explanations(
                    records, lambda r: self.prompt("explain", r), teacher_client(p),
                ))  # fmt: skip
                table = {id(r): t for r, t in zip(records, texts, strict=True)}
                chosen_fn = lambda r: table.get(id(r), "")  # noqa: E731

            def gen(prompts):
                with model.disable_adapter(), self.run.progress("dpo rejected", len(prompts)) as advance:
                    return generate(
                        model, self.tokenizer, prompts, max_new_tokens=p.dpo_generation_max_new_tokens,
                        batch_size=p.predict_batch_size, do_sample=True, temperature=p.temperature,
                        seed=self.run.seed, advance=advance,
                    )  # fmt: skip

            # built once, by the main process of a launched run: every process trains on the same pairs
            rows, stats = from_main(lambda: build_dpo_pairs(
                records, prompt_fn=lambda r: self.prompt("explain", r), generate_fn=gen,
                similarity_fn=self.encoder().similarity, chosen_fn=chosen_fn,
                mask_ratio=p.dpo_mask_ratio, threshold=p.dpo_similarity_threshold,
                max_tries=p.dpo_max_tries, seed=self.run.seed,
            ))  # fmt: skip
            self.pair_stats = stats.to_dict() if teacher_stats is None else {**stats.to_dict(), "teacher": teacher_stats}
            atomic_write_json(folder / "pairs_stats.json", self.pair_stats)
            from bench.api.run_folder import atomic_write_jsonl

            atomic_write_jsonl(folder / "pairs.jsonl", rows)
            self.run.log("3a_dpo", 0, **{f"pairs_{k}": v for k, v in self.pair_stats.items()
                                         if v is not None and k != "teacher"})
            if not rows:
                log.warning("DPO: no preference pairs (all rejected candidates too similar); skipping")
                return model
            settings = DPOSettings(
                max_steps=self._steps(p.dpo_steps, len(rows), p.dpo_batch_size),
                learning_rate=p.dpo_learning_rate,
                per_device_train_batch_size=per_process(p.dpo_batch_size, "model.dpo_batch_size"),
                beta=p.dpo_beta, max_length=p.dpo_max_length, seed=self.run.seed, device=self.run.device,
            )  # fmt: skip
            clean = [{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows]
            return train_dpo(model, self.tokenizer, clean, settings, folder / "trl", log_fn=self._log_fn("3a_dpo"))

        self._run_stage("3a_dpo", fn)

    def fit(self, splits: Splits) -> None:
        p = self.params
        self._set_fallback(splits.train)
        self._load_backbone()
        data = self.stage_records(splits.train)
        self._grpo("1_judgment", "judgment", data["1_judgment"], self.reward_functions("judgment"),
                   p.stage1_steps, p.max_completion_length)  # fmt: skip
        self._grpo("2_choose", "choose", data["2_choose"], self.reward_functions("choose"),
                   p.stage2_steps, p.max_completion_length)  # fmt: skip
        if p.use_dpo:
            self._dpo(data["3_explain"])
        self._grpo("3b_explain", "explain", data["3_explain"], self.reward_functions("explain", splits.train),
                   p.stage3_steps, p.explain_max_completion_length)  # fmt: skip
