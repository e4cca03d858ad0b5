"""A tiny random Llama with the real SmolLM2 tokenizer, built in-process (unit tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TINY_DEFAULTS = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=1024,
    tie_word_embeddings=True,
)


def tiny_random_llama(cache_dir: str | Path | None = None, seed: int = 0, **overrides: Any):
    """(model, tokenizer): a ~3.3M-parameter random LlamaForCausalLM + SmolLM2 tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from bench.backbones.embedded import embedded_tokenizer_dir

    tok = AutoTokenizer.from_pretrained(str(embedded_tokenizer_dir(cache_dir)))
    cfg = LlamaConfig(
        vocab_size=len(tok),
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
        **{**TINY_DEFAULTS, **overrides},
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LlamaForCausalLM(cfg)
    model.generation_config.pad_token_id = cfg.pad_token_id
    model.generation_config.eos_token_id = cfg.eos_token_id
    model.eval()
    return model, tok
