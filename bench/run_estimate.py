"""A rough time estimate of a run's planned work on this device, from documented per-token and
per-sequence costs (no model is loaded, so `--dry-run` stays fast).

    seconds ≈ generated tokens × s/token + trained sequences × s/sequence, both × (backbone size / 135M)

CPU costs are measured: the Curr-RLCER `cpu` profile on 2 shared cores with SmolLM2-135M
(README "LLM methods on CPU"): predicting 200 records × 64 new tokens took 5.4 min (≈ 0.025 s a
generated token, batches of 8), and its fit's 704 trained sequences (~200 tokens each, GRPO
rollouts and DPO pairs) about 24 of its 33 minutes once its ~21,500 generated tokens are taken out
(≈ 2 s a sequence). CUDA costs are NOT measured here (no GPU ran erbench's LLM methods): they are
an order of magnitude for one H100-class GPU in bf16 at 3B parameters — batched generation
≈ 0.5 ms a token, a LoRA forward + backward of a ~700-token sequence ≈ 0.1 s. Both scale linearly
with the parameter count. docs/paper-mode.md says the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from bench.work_plan import PlannedStage

EMBEDDED_PARAMETERS = 135e6  # SmolLM2-135M-Instruct, the embedded backbone and the CPU reference
# device -> (seconds per generated token, seconds per trained sequence) at its reference size
COSTS = {"cpu": (0.025, 2.0, 135e6), "cuda": (0.0005, 0.1, 3e9)}
BUILTIN_PARAMETERS = {"embedded": 135e6, "smollm2-135m": 135e6, "smollm2-135m-instruct": 135e6,
                      "tiny-random": 1e6, "tiny": 1e6}  # fmt: skip


def parameters_of(ref: str, config_file: Path | None = None) -> float | None:
    """Parameter count of a causal LM: built-in names, a config.json (12·L·h² + V·h), or the
    size in its name ("Qwen2.5-3B" -> 3e9); None when none of these says."""
    if ref in BUILTIN_PARAMETERS:
        return BUILTIN_PARAMETERS[ref]
    if config_file is not None and config_file.is_file():
        try:
            c = json.loads(config_file.read_text(encoding="utf-8"))
            h, layers, vocab = c["hidden_size"], c["num_hidden_layers"], c.get("vocab_size", 32000)
            return float(12 * layers * h * h + vocab * h)
        except (KeyError, TypeError, ValueError, OSError):
            pass
    match = re.search(r"(\d+(?:\.\d+)?)\s*([bBmM])(?![a-zA-Z])", Path(ref).name)
    if match:
        return float(match.group(1)) * (1e9 if match.group(2) in "bB" else 1e6)
    return None


def estimate_seconds(stages: Sequence[PlannedStage], device: str, parameters: float | None) -> float | None:
    """Rough seconds for the planned stages on `device` ("cpu" or "cuda…"); None when the plan
    has no counted work or the backbone's size is unknown."""
    if parameters is None:
        return None
    per_token, per_sequence, reference = COSTS["cuda" if device.startswith("cuda") else "cpu"]
    scale = parameters / reference
    tokens = sum(s.generated_tokens for s in stages)
    sequences = sum(s.trained_sequences for s in stages)
    if not tokens and not sequences:
        return None
    return (tokens * per_token + sequences * per_sequence) * scale


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
