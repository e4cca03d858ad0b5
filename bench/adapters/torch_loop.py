"""The shared training loop of the classic torch models (NRT, Att2Seq, PETER, PETER+, CER).

`train_model(run, stage, model, train, valid, loss_fn, settings)` runs one checkpointed stage:

- epochs over seeded shuffled mini-batches (`TensorBatches`), an optimizer step per batch with
  optional gradient-norm clipping, stopping at `settings.max_steps` optimizer steps if set;
- after each epoch the validation objective; the best epoch's `state_dict` is saved with
  `torch.save` as `best.pt` in the stage folder; `patience` epochs without improvement stop
  training (NLG4RS "endure_times"); each non-improving epoch multiplies the learning rate by
  `lr_decay` (PETER's StepLR(gamma=0.25) stepped on no-improvement; 1.0 = no decay);
- the best weights are loaded back at the end (`torch.load(weights_only=True)`); when the
  stage finished in an earlier attempt of the run it is not retrained, only reloaded;
- per-epoch mean losses go to the run's train log (`run.log`), each epoch has a rich
  progress bar (`run.progress`, with the epoch's running mean loss), the device is
  `run.device`, the seed `run.seed`.

On a shared or small CPU, one intra-op thread (`OMP_NUM_THREADS=1` or
`torch.set_num_threads(1)`) is several times faster than the default for these small models;
the loop leaves the thread count to the caller.

`loss_fn(model, batch)` returns `(loss, scalars)`: the loss to minimise and a dict of floats
to log. A scalar named "objective" (if present) is what validation minimises; otherwise the
loss is.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bench.api.notices import warn_once

log = logging.getLogger(__name__)
CHECKPOINT = "best.pt"
HISTORY = "history.json"


@dataclass
class LoopSettings:
    epochs: int = 100
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"  # "adam" | "sgd"
    max_steps: int | None = None  # stop after this many optimizer steps (None: no limit)
    patience: int = 5  # epochs without validation improvement before stopping
    lr_decay: float = 1.0  # lr *= lr_decay after each epoch without improvement
    clip: float | None = None  # max gradient norm
    weight_decay: float = 0.0
    # None (= fp32): every product in float32. "bf16": the training and validation forwards
    # under CPU/CUDA autocast to bfloat16 (products in bf16, losses and weights in fp32): a
    # different computation, so a method exposes it as a hashed-when-set `model.precision`
    precision: str | None = None

    @classmethod
    def from_params(cls, params: Any) -> LoopSettings:
        """Take the loop's fields from a method's Params (fields it lacks keep defaults)."""
        kwargs = {}
        for name in cls.__dataclass_fields__:
            if hasattr(params, name):
                kwargs[name] = getattr(params, name)
        return cls(**kwargs)


class TensorBatches:
    """A dict of equally long tensors, cut into mini-batches (shuffled with a seeded generator)."""

    def __init__(self, tensors: dict[str, torch.Tensor]):
        sizes = {k: len(v) for k, v in tensors.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"tensors of unequal length: {sizes}")
        self.tensors = tensors
        self.n = next(iter(sizes.values()), 0)

    def __len__(self) -> int:
        return self.n

    def num_batches(self, batch_size: int) -> int:
        return math.ceil(self.n / batch_size) if self.n else 0

    def batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None,
        device: str | torch.device = "cpu",
    ) -> Iterator[dict[str, torch.Tensor]]:
        order = torch.randperm(self.n, generator=generator) if shuffle else torch.arange(self.n)
        for start in range(0, self.n, batch_size):
            idx = order[start : start + batch_size]
            yield {k: v[idx].to(device) for k, v in self.tensors.items()}


LossFn = Callable[[torch.nn.Module, dict[str, torch.Tensor]], "tuple[torch.Tensor, dict[str, float]]"]


def make_optimizer(model: torch.nn.Module, s: LoopSettings) -> torch.optim.Optimizer:
    # foreach: one multi-tensor kernel per update op instead of a Python loop over the
    # parameters (torch's default only on GPU); the same update, element by element
    if s.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=s.lr, weight_decay=s.weight_decay, foreach=True)
    if s.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=s.lr, weight_decay=s.weight_decay, foreach=True)
    raise ValueError(f"unknown optimizer {s.optimizer!r}; use 'adam' or 'sgd'")


def autocast(model, precision: str | None):
    """The forward's precision context: a no-op for fp32 (None), bf16 autocast otherwise."""
    if precision in (None, "fp32"):
        return contextlib.nullcontext()
    if precision != "bf16":
        raise ValueError(f"unknown precision {precision!r}; use fp32 or bf16")
    device = next(model.parameters()).device.type
    if device == "cpu" and not cpu_has_native_bf16():
        warn_once(log, "model.precision=bf16 on a CPU without native bf16 (no avx512_bf16 or amx_bf16 in "
                       "/proc/cpuinfo): the products are emulated and slower than fp32")  # fmt: skip
    return torch.autocast(device_type=device, dtype=torch.bfloat16)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 dot products natively (Linux flags; elsewhere assumed)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True  # not Linux: nothing to read, no warning
    return "avx512_bf16" in flags or "amx_bf16" in flags


def train_step(
    model, batch, loss_fn: LossFn, optimizer, clip: float | None, precision: str | None = None
) -> dict[str, float]:
    """One optimizer step; returns the logged scalars (with "loss")."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    with autocast(model, precision):
        loss, scalars = loss_fn(model, batch)
    loss.backward()
    if clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return {"loss": float(loss.detach()), **scalars}


@torch.no_grad()
def evaluate(
    model, data: TensorBatches, loss_fn: LossFn, batch_size: int, device, precision: str | None = None
) -> dict[str, float]:
    """Sample-weighted means of the scalars over `data` (eval mode, no grad), in the training's
    precision (the validation objective chooses the epoch kept)."""
    model.eval()
    totals: dict[str, float] = {}
    count = 0
    for batch in data.batches(batch_size, device=device):
        with autocast(model, precision):
            loss, scalars = loss_fn(model, batch)
        n = len(next(iter(batch.values())))
        for k, v in {"loss": float(loss), **scalars}.items():
            totals[k] = totals.get(k, 0.0) + float(v) * n
        count += n
    return {k: v / max(count, 1) for k, v in totals.items()}


def _objective(scalars: dict[str, float]) -> float:
    return scalars.get("objective", scalars["loss"])


def fit_loop(
    run, stage: str, stage_dir: Path, model: torch.nn.Module, train: TensorBatches,
    valid: TensorBatches | None, loss_fn: LossFn, s: LoopSettings,
) -> list[dict[str, Any]]:
    """Train with early stopping; leaves the best weights in `model` and in stage_dir."""
    device = run.device
    model.to(device)
    torch.manual_seed(run.seed)
    generator = torch.Generator().manual_seed(run.seed)
    optimizer = make_optimizer(model, s)
    ckpt = Path(stage_dir) / CHECKPOINT
    best = math.inf
    bad_epochs = 0
    step = 0
    history: list[dict[str, Any]] = []
    for epoch in range(1, s.epochs + 1):
        started = time.time()
        sums: dict[str, float] = {}
        seen = 0
        with run.progress(f"{stage} epoch {epoch}", train.num_batches(s.batch_size)) as advance:
            for batch in train.batches(s.batch_size, shuffle=True, generator=generator, device=device):
                scalars = train_step(model, batch, loss_fn, optimizer, s.clip, s.precision)
                n = len(batch["user"]) if "user" in batch else len(next(iter(batch.values())))
                for k, v in scalars.items():
                    sums[k] = sums.get(k, 0.0) + v * n
                seen += n
                step += 1
                advance(1, loss=sums["loss"] / max(seen, 1))  # the epoch's running mean
                if s.max_steps is not None and step >= s.max_steps:
                    break
        row: dict[str, Any] = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"]}
        row.update({f"train_{k}": v / max(seen, 1) for k, v in sums.items()})
        if valid is not None and len(valid):
            val = evaluate(model, valid, loss_fn, s.batch_size, device, s.precision)
            row.update({f"valid_{k}": v for k, v in val.items()})
            current = _objective(val)
        else:
            current = _objective({k: v / max(seen, 1) for k, v in sums.items()})
        row["seconds"] = round(time.time() - started, 3)
        improved = current < best
        if improved:
            best = current
            bad_epochs = 0
            torch.save(model.state_dict(), ckpt)
        else:
            bad_epochs += 1
            for group in optimizer.param_groups:
                group["lr"] *= s.lr_decay
        row["best"] = improved
        history.append(row)
        run.log(stage, step, **row)
        if bad_epochs >= s.patience or (s.max_steps is not None and step >= s.max_steps):
            break
    if not ckpt.exists():  # no epoch ran (empty data): keep the initial weights
        torch.save(model.state_dict(), ckpt)
    load_weights(model, stage_dir, device)
    (Path(stage_dir) / HISTORY).write_text(json.dumps(history, indent=1))
    return history


def load_weights(model: torch.nn.Module, stage_dir: Path, device="cpu") -> None:
    state = torch.load(Path(stage_dir) / CHECKPOINT, map_location=device, weights_only=True)
    model.load_state_dict(state)
    model.to(device)


def train_model(
    run, stage: str, model: torch.nn.Module, train: TensorBatches, valid: TensorBatches | None,
    loss_fn: LossFn, settings: LoopSettings,
) -> None:
    """A resumable stage: train (and checkpoint) it, or reload its checkpoint if it is done."""
    run.stage(
        stage,
        lambda d: fit_loop(run, stage, d, model, train, valid, loss_fn, settings),
        lambda d: load_weights(model, d, run.device),
    )
