"""Metrics scored by a model checkpoint that may be absent on this machine.

A checkpoint is a local folder or a Hugging Face id. `load_hf_checkpoint` turns every way a load
can fail into `CheckpointUnavailable` with a readable reason, and `CheckpointMetric` loads its
scorer once, on first use, so a missing checkpoint makes the metric unavailable (with that
reason) instead of failing the run. BARTScore and BLEURT are built on it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from bench.api.errors import MetricUnavailable
from bench.api.loads import Checkpoint, Load
from bench.api.settings import Settings
from metrics.base import Metric


class CheckpointUnavailable(MetricUnavailable):
    """A scorer checkpoint could not be loaded here; the message says why."""


def hub_offline() -> bool:
    return any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def looks_like_path(ref: str) -> bool:
    return ref.startswith(("/", "./", "../", "~")) or os.sep + os.sep in ref or Path(ref).exists()


def load_hf_checkpoint(ref: str, load: Callable[..., Any], what: str) -> Any:
    """Call load(ref, **kw) for a local folder or an HF id, turning failures into reasons.

    A hub id is first looked up in the local HF cache only; the network is tried afterwards
    unless HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is set (offline retries take ~45 s).
    """
    if looks_like_path(ref):
        path = Path(ref).expanduser()
        if not path.is_dir():
            raise CheckpointUnavailable(f"{what} checkpoint folder {str(path)!r} does not exist")
        if not (path / "config.json").exists():
            raise CheckpointUnavailable(f"{what} checkpoint folder {str(path)!r} has no config.json")
        try:
            return load(str(path))
        except CheckpointUnavailable:
            raise
        except Exception as exc:  # corrupt or incompatible files
            raise CheckpointUnavailable(
                f"{what} checkpoint {str(path)!r} failed to load: {type(exc).__name__}: {exc}"
            ) from exc
    try:
        return load(ref, local_files_only=True)
    except CheckpointUnavailable:
        raise
    except Exception as exc:
        cached_error = exc
    if hub_offline():
        raise CheckpointUnavailable(
            f"{what} checkpoint {ref!r} is not in the local Hugging Face cache and the hub is "
            f"offline (HF_HUB_OFFLINE set): {type(cached_error).__name__}"
        )
    try:
        return load(ref)
    except Exception as exc:
        raise CheckpointUnavailable(
            f"{what} checkpoint {ref!r} is neither cached locally nor downloadable: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc


def resolve_device(device: str) -> str:
    """"auto" -> "cuda" when a CUDA device is present, else "cpu"; anything else unchanged."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class CheckpointMetric(Metric):
    """A metric whose scorer is loaded from `checkpoint_ref` on first use.

    Subclasses name the eval config field (`checkpoint_key`), say what to set it to
    (`checkpoint_hint`) and implement `load_scorer()`. A load failure is remembered, so an absent
    checkpoint is looked for once per metric, not once per batch or per available() call.
    """

    settings: ClassVar[type[Settings]]  # the metric's eval settings (metrics.settings)
    checkpoint_key: ClassVar[str] = ""  # its field holding the folder or HF id
    checkpoint_hint: ClassVar[str] = ""  # completes "set eval.<key> to ..." when it is unset

    def __init__(self, eval_cfg: Any = None, *, checkpoint: str | None = None,
                 device: str = "auto", scorer: Any = None, **context: Any):
        super().__init__(eval_cfg, **context)
        self.checkpoint_ref = checkpoint or getattr(self.settings.of(eval_cfg), self.checkpoint_key)
        self.device = resolve_device(device)
        self._scorer = scorer  # tests pass a ready scorer; otherwise loaded by scorer()
        self._error: str | None = None

    @classmethod
    def loads(cls, eval_cfg: Any) -> list[Load]:
        ref = getattr(cls.settings.of(eval_cfg), cls.checkpoint_key)
        return [Checkpoint(f"eval.{cls.checkpoint_key}", ref)] if ref else []

    def load_scorer(self) -> Any:
        """Load the scorer from self.checkpoint_ref; raise CheckpointUnavailable when it cannot."""
        raise NotImplementedError

    @property
    def checkpoint(self) -> str | None:
        # the folder or model name, e.g. /models/BLEURT-20/ or lucadiliello/BLEURT-20 -> BLEURT-20
        return Path(str(self.checkpoint_ref).rstrip("/")).name if self.checkpoint_ref else None

    def version(self) -> dict[str, Any]:
        return {**super().version(), "checkpoint": self.checkpoint_ref}

    def scorer(self) -> Any:
        if self._scorer is None:
            if self._error:
                raise CheckpointUnavailable(self._error)
            if not self.checkpoint_ref:
                raise CheckpointUnavailable(
                    f"{self.checkpoint_key} is unset; set eval.{self.checkpoint_key} to "
                    f"{self.checkpoint_hint}"
                )
            try:
                self._scorer = self.load_scorer()
            except CheckpointUnavailable as exc:
                self._error = str(exc)
                raise
        return self._scorer

    def available(self) -> tuple[bool, str]:
        try:
            self.scorer()
        except CheckpointUnavailable as exc:
            return False, str(exc)
        return True, ""
