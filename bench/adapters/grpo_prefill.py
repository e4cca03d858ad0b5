"""TRL's GRPOTrainer with each prompt's prefill shared by its G completions (issue #26).

TRL repeats each prompt G times in the batch and calls `generate` on it; this trainer's plain
transformers generation (no vLLM, no continuous batching, no images) goes through
bench.backbones.shared_prefill, which prefills each distinct prompt once. The per-token
log-probs of the loss (policy, reference, old policy) forward each distinct prompt once too
(bench.adapters.grpo_shared_logps) where that gives TRL's numbers; the loss is TRL's.
"""

from __future__ import annotations

from typing import Any


def shared_prefill_grpo_trainer() -> type:
    from trl import GRPOTrainer

    from bench.adapters.grpo_shared_logps import can_share, shared_prompt_logps
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

        def _get_per_token_logps_and_entropies(
            self,
            model: Any,
            input_ids: Any,
            attention_mask: Any,
            logits_to_keep: int,
            batch_size: int | None = None,
            compute_entropy: bool = False,
            **extra: Any,
        ) -> Any:
            own = super()._get_per_token_logps_and_entropies
            if not can_share(model, input_ids, logits_to_keep, self.use_vllm, **extra):
                return own(model, input_ids, attention_mask, logits_to_keep, batch_size=batch_size,
                           compute_entropy=compute_entropy, **extra)  # fmt: skip
            return shared_prompt_logps(model, input_ids, attention_mask, logits_to_keep, batch_size=batch_size,
                                       compute_entropy=compute_entropy, plain=own,
                                       autocast=self.accelerator.autocast)  # fmt: skip

    SharedPrefillGRPOTrainer.__name__ = "GRPOTrainer"  # the progress bar's "GRPO steps"
    return SharedPrefillGRPOTrainer
