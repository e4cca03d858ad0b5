"""PEFT LoRA helpers; training stages chain by merging each stage's adapter.

A stage trains a fresh LoRA adapter on top of the (merged) weights of the previous stages and
saves only that adapter. Rebuilding the policy after stage k = base weights + merge(adapter_1)
+ ... + merge(adapter_k). So the reference policy of a stage (DPO's pi_0, GRPO's KL anchor)
is the previous stage's model, as in Curr-RLCER.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def lora_config(
    r: int = 16,
    alpha: int = 32,
    dropout: float = 0.05,
    target_modules: Sequence[str] = ("q_proj", "v_proj"),
) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout,
        target_modules=list(target_modules), task_type="CAUSAL_LM", bias="none",
    )  # fmt: skip


def add_lora(model: Any, config: Any) -> Any:
    from peft import get_peft_model

    return get_peft_model(model, config)


def lora_state(model: Any) -> dict[str, Any]:
    """A detached copy of the trainable LoRA tensors (to check they moved after a step)."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}


def merge_lora(model: Any) -> Any:
    """Fold a PeftModel's adapter into its base weights; returns the plain model."""
    if hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model


def apply_lora_dir(model: Any, folder: str | Path) -> Any:
    """Load a saved adapter onto `model` and merge it (reloading a finished stage)."""
    from peft import PeftModel

    peft_model = PeftModel.from_pretrained(model, str(folder), is_trainable=False)
    return peft_model.merge_and_unload()
