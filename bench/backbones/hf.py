"""Load any causal LM (HF id / local path / embedded SmolLM2 / tiny random Llama)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EMBEDDED_ALIASES = frozenset({"embedded", "smollm2-135m", "smollm2-135m-instruct"})
TINY_ALIASES = frozenset({"tiny-random", "tiny"})


@dataclass
class Backbone:
    """A causal LM with its tokenizer (chat template included) and where it came from."""

    model: Any
    tokenizer: Any
    name: str  # what the user asked for ("embedded", an HF id, a folder)
    mode: str  # "real" (HF id / folder), "embedded" (SmolLM2 GGUF), "tiny-random"
    device: str = "cpu"
    source: str = ""  # the folder the weights were read from, "" for in-process models
    info: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        n = sum(p.numel() for p in self.model.parameters())
        return {"backbone": self.name, "mode": self.mode, "device": self.device,
                "source": self.source, "parameters": int(n), **self.info}


def resolve_device(device: str | None = "auto") -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def default_dtype(device: str):
    """bf16 on CUDA, fp32 on CPU (bf16 matmuls on CPU are slow and TRL's bf16 flag fails)."""
    import torch

    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def attention_implementation(device: str, dtype: Any) -> str | None:
    """flash_attention_2 on CUDA in bf16/fp16 when the flash-attn package is installed, else
    SDPA on CUDA; None (transformers' own default) on CPU, so CPU runs stay as they were."""
    import importlib.util

    import torch

    if not device.startswith("cuda"):
        return None
    if dtype in (torch.bfloat16, torch.float16) and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def prepare_tokenizer(tokenizer: Any) -> Any:
    """Left padding for batched generation; a pad token where the model has none."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer


def load_tokenizer(spec: str = "embedded", *, cache_dir: str | Path | None = None,
                   trust_remote_code: bool = False) -> Any:
    """The tokenizer of a backbone spec alone (a method whose generation is served elsewhere
    still counts prompt tokens), left padding as load_backbone sets it."""
    from transformers import AutoTokenizer

    if spec in TINY_ALIASES or spec in EMBEDDED_ALIASES:
        from bench.backbones.embedded import embedded_tokenizer_dir

        folder: str | Path = embedded_tokenizer_dir(cache_dir)
    else:
        folder = spec
    return prepare_tokenizer(AutoTokenizer.from_pretrained(str(folder), trust_remote_code=trust_remote_code))


def load_backbone(
    spec: str = "embedded",
    *,
    device: str | None = "auto",
    dtype: Any = None,
    cache_dir: str | Path | None = None,
    trust_remote_code: bool = False,
    tiny_config: dict[str, Any] | None = None,
    seed: int = 0,
) -> Backbone:
    """Load a causal LM and its tokenizer.

    spec: "embedded"/"smollm2-135m" (offline default), "tiny-random" (unit tests), or an
    HF id / local folder (real mode). The model is put on `device` (auto: CUDA when present)
    in bf16 on CUDA, fp32 on CPU unless `dtype` says otherwise, with flash / SDPA attention on
    CUDA (attention_implementation); "cuda:N" puts it on GPU N.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = resolve_device(device)
    dtype = dtype or default_dtype(device)
    attention = attention_implementation(device, dtype)
    speed = {"attn_implementation": attention} if attention else {}
    if spec in TINY_ALIASES:
        from bench.backbones.tiny import tiny_random_llama

        model, tok = tiny_random_llama(cache_dir=cache_dir, seed=seed, **{**speed, **(tiny_config or {})})
        model.to(device=device, dtype=dtype)
        return Backbone(model, prepare_tokenizer(tok), spec, "tiny-random", device, info=_speed_info(model))
    if spec in EMBEDDED_ALIASES:
        from bench.backbones.embedded import embedded_smollm2_dir

        folder = embedded_smollm2_dir(cache_dir)
        name, mode = spec, "embedded"
        info = {"checkpoint": "HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1, dequantized fp32)"}
    else:
        folder, name, mode, info = spec, spec, "real", {"checkpoint": spec}
    tok = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(
        str(folder), dtype=dtype, trust_remote_code=trust_remote_code, **speed
    )
    model.to(device)
    model.eval()
    if model.generation_config is not None and tok.pad_token_id is None:
        model.generation_config.pad_token_id = tok.eos_token_id
    return Backbone(model, prepare_tokenizer(tok), name, mode, device, str(folder), {**info, **_speed_info(model)})


def _speed_info(model: Any) -> dict[str, Any]:
    """dtype and attention kernel of a loaded model, for backbone.json."""
    config = model.config
    return {"dtype": str(model.dtype).removeprefix("torch."),
            "attn_implementation": getattr(config, "_attn_implementation", None)}


def load_for_run(spec: str, run: Any, *, trust_remote_code: bool = False) -> Backbone:
    """`load_backbone` on a run's device, cache folder and seed, recorded (record_backbone):
    the one way an LLM method loads its backbone."""
    backbone = load_backbone(spec, device=run.device, cache_dir=run.cache_dir,
                             trust_remote_code=trust_remote_code, seed=run.seed)  # fmt: skip
    record_backbone(run, backbone.describe())
    return backbone


def record_backbone(run: Any, info: dict[str, Any]) -> None:
    """What every LLM method's run folder says about its LLM: <run>/backbone.json (which
    backbone and mode ran, dtype, attention kernel, device) and a line in <run>/run.log."""
    import json
    import time

    from bench.api.run_folder import RunFolder

    folder = RunFolder(run.dir)
    folder.write_backbone(info)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with open(folder.run_log, "a", encoding="utf-8") as log_file:
        log_file.write(f"{stamp} INFO bench.backbones: loaded {json.dumps(info, sort_keys=True)}\n")
