"""TRL's GRPOTrainer with each prompt's prefill shared by its G completions (issue #26).

TRL repeats each prompt G times in the batch and calls `generate` on it; this trainer's plain
transformers generation (no vLLM, no continuous batching, no images) goes through
bench.backbones.shared_prefill, which prefills each distinct prompt once. Log-probs and the
loss are TRL's, unchanged.
"""

from __future__ import annotations

from typing import Any


def shared_prefill_grpo_trainer() -> type:
    from trl import GRPOTrainer

    from bench.backbones.shared_prefill import shared_prefill_on

    class SharedPrefillGRPOTrainer(GRPOTrainer):
        def _generate_single_turn(
            self,
            prompt_ids: Any,
            images: Any,
            multimodal_fields: Any,
            num_generations: int,
            has_tool_images: bool = False,
        ) -> Any:
            args = (prompt_ids, images, multimodal_fields, num_generations, has_tool_images)
            plain = not (
                self.use_vllm
                or self.use_transformers_continuous_batching
                or images
                or multimodal_fields
                or has_tool_images
            )
            if not plain:
                return super()._generate_single_turn(*args)
            with shared_prefill_on(self.accelerator.unwrap_model(self.model_wrapped)):
                return super()._generate_single_turn(*args)

    SharedPrefillGRPOTrainer.__name__ = "GRPOTrainer"  # the progress bar's "GRPO steps"
    return SharedPrefillGRPOTrainer
