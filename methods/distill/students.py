"""Step 5: the students — the base LLM with LoRA, trained by TRL's SFTTrainer or ORPOTrainer.

Albert et al. (§1) fine-tune Qwen3-0.6B (erbench's embedded default: SmolLM2-135M-Instruct) in
two ways on the teacher's data, through bench.adapters.trl (which talks to TRL):

- SFT: `train_sft` on rows {prompt, completion}: the student prompt (STUDENT_SYSTEM + the
  context) and the teacher's explanation (variant 0); the loss is on the completion only.
- ORPO (Hong, Lee & Thorne 2024): `train_orpo` on rows {prompt, chosen, rejected} from the
  judged preference pairs; L = L_SFT(chosen) + β · L_OR, L_OR = −log σ(log odds(chosen) −
  log odds(rejected)), odds(y) = P(y|x) / (1 − P(y|x)) (the ORPO objective as TRL's
  ORPOTrainer computes it, β = `orpo_beta`).

Each trains one fresh LoRA adapter (PEFT) on the frozen backbone; the adapter is the stage's
checkpoint (safetensors), merged into the weights for prediction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from methods.distill.context import RecommendationContext, render_context
from methods.distill.prompts import STUDENT_SYSTEM, messages


def student_prompt(ctx: RecommendationContext) -> list[dict[str, str]]:
    return messages(STUDENT_SYSTEM, render_context(ctx))


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def sft_rows(contexts: Sequence[RecommendationContext], texts: Sequence[str]) -> list[dict[str, Any]]:
    """SFTTrainer's conversational prompt-completion rows (empty teacher texts are skipped)."""
    return [
        {"prompt": student_prompt(c), "completion": _assistant(t)}
        for c, t in zip(contexts, texts, strict=True)
        if t.strip()
    ]


def orpo_rows(contexts: Sequence[RecommendationContext], chosen: Sequence[str],
              rejected: Sequence[str]) -> list[dict[str, Any]]:  # fmt: skip
    """ORPOTrainer's conversational preference rows."""
    return [
        {"prompt": student_prompt(c), "chosen": _assistant(a), "rejected": _assistant(b)}
        for c, a, b in zip(contexts, chosen, rejected, strict=True)
    ]


@dataclass(frozen=True)
class TrainingPlan:
    """How one student stage trains: optimizer steps and batch, LoRA shape, lengths."""

    steps: int | None  # None: `epochs` passes over the rows
    epochs: float
    batch_size: int
    gradient_accumulation_steps: int
    learning_rate: float
    lora_r: int
    lora_alpha: int
    lora_dropout: float
    lora_targets: tuple[str, ...]
    max_length: int
    orpo_beta: float = 0.1

    def optimizer_steps(self, n_rows: int) -> int:
        if self.steps:
            return int(self.steps)
        per_step = self.batch_size * self.gradient_accumulation_steps
        return max(1, math.ceil(self.epochs * n_rows / per_step))


def train_student(kind: str, model: Any, tokenizer: Any, rows: Sequence[dict[str, Any]],
                  plan: TrainingPlan, folder: Path, *, seed: int, device: str,
                  log_fn: Any = None) -> Any:  # fmt: skip
    """Add a fresh LoRA to `model`, train it with SFT or ORPO, save the adapter under
    folder/adapter and return the trained PeftModel."""
    from bench.adapters.trl import TrainSettings, train_orpo, train_sft
    from bench.backbones.lora import add_lora, lora_config

    if kind not in ("sft", "orpo"):
        raise ValueError(f"unknown student training {kind!r}")
    settings = TrainSettings(
        max_steps=plan.optimizer_steps(len(rows)), learning_rate=plan.learning_rate,
        per_device_train_batch_size=plan.batch_size,
        gradient_accumulation_steps=plan.gradient_accumulation_steps, seed=seed, device=device,
    )  # fmt: skip
    peft_model = add_lora(model, lora_config(plan.lora_r, plan.lora_alpha, plan.lora_dropout, plan.lora_targets))
    if kind == "sft":
        trained = train_sft(peft_model, tokenizer, rows, settings, folder / "trl", log_fn=log_fn,
                            max_length=plan.max_length)  # fmt: skip
    else:
        trained = train_orpo(peft_model, tokenizer, rows, settings, folder / "trl", beta=plan.orpo_beta,
                             max_length=plan.max_length, log_fn=log_fn)  # fmt: skip
    trained.save_pretrained(str(folder / "adapter"))
    return trained


def generate_explanations(model: Any, tokenizer: Any, contexts: Sequence[RecommendationContext], *,
                          max_new_tokens: int, batch_size: int, max_prompt_tokens: int,
                          advance: Any = None) -> list[str]:  # fmt: skip
    """Greedy explanations of the contexts (bench.backbones.generate)."""
    from bench.backbones.generate import generate

    texts = generate(
        model, tokenizer, [student_prompt(c) for c in contexts], max_new_tokens=max_new_tokens,
        batch_size=batch_size, max_prompt_tokens=max_prompt_tokens, advance=advance,
    )  # fmt: skip
    return [t.strip() for t in texts]
