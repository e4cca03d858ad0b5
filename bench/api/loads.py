"""What a method or metric will load or contact: its declaration for the preflight.

A method (`Method.loads(params)`) or metric (`Metric.loads(eval_cfg)`) lists the checkpoints it
will load and the endpoints it will call, read from its own settings; bench.preflight resolves
each one before any work starts. The preflight knows these two kinds, never a method.
"""

from __future__ import annotations

from dataclasses import dataclass

# Names that never leave this machine: built into erbench or its pinned packages.
BUILTIN_CHECKPOINTS = frozenset({"embedded", "tiny-random", "tiny", "smollm2-135m", "smollm2-135m-instruct"})


@dataclass(frozen=True)
class Checkpoint:
    """A model the run loads: an HF id, a local folder, or a built-in name ("embedded")."""

    role: str  # who loads it and why, e.g. "model.backbone" or "eval.bertscore_model"
    ref: str

    @property
    def builtin(self) -> bool:
        return self.ref in BUILTIN_CHECKPOINTS


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible /v1 endpoint the run calls (teacher, judge, served generation)."""

    role: str  # e.g. "model.teacher_base_url"
    base_url: str
    model: str
    api_key_env: str | None = "OPENAI_API_KEY"  # the variable holding its key; None: no key


Load = Checkpoint | Endpoint
