"""A rough time estimate of a run's planned work on this device, from documented costs (no model
is loaded, so `--dry-run` stays fast):

    seconds ≈ (decode steps × s/step + trained sequences × s/sequence) × (backbone size / reference size)

A decode step is one new token for a whole batch (generation is one step per token, whatever the
batch, until the batch's longest answer ends). CPU costs are measured on the Curr-RLCER `cpu`
profile, 2 shared cores, SmolLM2-135M (README "LLM methods on CPU"): predicting 200 records in
batches of 8 with 16 + 48 new tokens (1,600 decode steps) took 5.4 min, ≈ 0.2 s a step; the rest
of its 33-min fit, 704 trained sequences of ~200 tokens (GRPO rollouts, DPO pairs), ≈ 2 s each;
the formula gives 32 min for that fit. CUDA costs are NOT measured (no GPU has run erbench's LLM
methods yet): an order of magnitude for one H100-class GPU in bf16 at 3B parameters, ≈ 25 ms a
decode step (Hugging Face generate at small batches is bound by per-step overhead and memory
bandwidth) and ≈ 0.1 s for a LoRA forward + backward of a ~700-token sequence. Both scale
linearly with the parameter count. docs/paper-mode.md compares them with the papers' own hours.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from bench.api.work_plan import PlannedStage

EMBEDDED_PARAMETERS = 135e6  # SmolLM2-135M-Instruct, the embedded backbone and the CPU reference
# device -> (seconds per decode step, seconds per trained sequence, at this many parameters)
COSTS = {"cpu": (0.2, 2.0, 135e6), "cuda": (0.025, 0.1, 3e9)}
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
    per_step, per_sequence, reference = COSTS["cuda" if device.startswith("cuda") else "cpu"]
    scale = parameters / reference
    steps = sum(s.decode_steps for s in stages)
    sequences = sum(s.trained_sequences for s in stages)
    if not steps and not sequences:
        return None
    return (steps * per_step + sequences * per_sequence) * scale


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
