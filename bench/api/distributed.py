"""The processes of one launched run (`accelerate launch` / torchrun): who is the main
process, and the few collectives the runner and erbench's PPO loop need.

A run started with `accelerate launch -m bench.cli run …` (or `bench run … --launcher
accelerate`) runs the same code in every process; TRL's trainers then train data-parallel
through accelerate. Only the main process (rank 0) holds the run lock and writes the run
folder, the checkpoints and the results store; the others write into a private scratch
folder. Every decision that depends on the folder (finished? unfinished without --resume?
which stages are done?) is taken by the main process and sent to the others
(`from_main`), so all processes take the same branch and agree on stage boundaries; an
error there is raised in every process, so none waits forever in a collective.

Without a launcher `world()` is a one-process world whose collectives return their input:
nothing is initialised and torch.distributed is never touched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from bench.api.errors import BenchError, ConfigError

T = TypeVar("T")


def launched_world_size() -> int:
    """Processes of this run as the launcher announced them (WORLD_SIZE; 1 without one)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


class SingleProcess:
    """A run in one process: every collective is the identity."""

    rank = 0
    local_rank = 0
    size = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def rows_of(self, n: int) -> tuple[int, int]:
        """(start, stop) of this process's contiguous share of n rows; shares differ by at
        most one row (the last ones may be empty when n < size)."""
        base, extra = divmod(n, self.size)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + int(self.rank < extra)

    def broadcast(self, obj: T) -> T:
        """The main process's `obj`, in every process."""
        return obj

    def gather(self, obj: T) -> list[T]:
        """Every process's `obj`, in rank order, in every process."""
        return [obj]

    def all_sum(self, tensor: Any) -> Any:
        """The sum of `tensor` over the processes (a new tensor; the input is left alone)."""
        return tensor

    def sync_parameters(self, params: Sequence[Any]) -> None:
        """Copy the main process's values of `params` into every process."""

    def sum_gradients(self, params: Sequence[Any]) -> None:
        """Replace each parameter's gradient by its sum over the processes (a missing one
        counts as zero), so every process takes the same optimizer step."""


class ProcessGroup(SingleProcess):
    """The torch.distributed group of a launched run (gloo on CPU, NCCL on CUDA)."""

    def __init__(self, device: str):
        import torch
        import torch.distributed as dist

        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.size = launched_world_size()
        self.cuda = device != "cpu" and torch.cuda.is_available()
        if self.cuda:
            torch.cuda.set_device(self.local_rank)
        if not dist.is_initialized():  # accelerate (TRL's trainers) reuses this group
            dist.init_process_group(backend="nccl" if self.cuda else "gloo")

    def _device(self) -> Any:
        import torch

        return torch.device("cuda", self.local_rank) if self.cuda else torch.device("cpu")

    def broadcast(self, obj: T) -> T:
        import torch.distributed as dist

        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=self._device())
        return box[0]  # type: ignore[return-value]

    def gather(self, obj: T) -> list[T]:
        import torch.distributed as dist

        out: list[Any] = [None] * self.size
        dist.all_gather_object(out, obj)
        return out

    def all_sum(self, tensor: Any) -> Any:
        import torch.distributed as dist

        out = tensor.detach().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    def sync_parameters(self, params: Sequence[Any]) -> None:
        import torch
        import torch.distributed as dist

        with torch.no_grad():
            for p in params:
                dist.broadcast(p.data, src=0)

    def sum_gradients(self, params: Sequence[Any]) -> None:
        import torch
        import torch.distributed as dist

        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)


_WORLD: SingleProcess | None = None


def world(device: str = "auto") -> SingleProcess:
    """This run's processes: a ProcessGroup under a launcher (initialised on first use),
    else a SingleProcess."""
    global _WORLD
    if _WORLD is None:
        _WORLD = ProcessGroup(device) if launched_world_size() > 1 else SingleProcess()
    return _WORLD


@contextmanager
def use_world(replacement: SingleProcess) -> Iterator[SingleProcess]:
    """Run a block under another world (tests play a non-main rank with it)."""
    global _WORLD
    saved, _WORLD = _WORLD, replacement
    try:
        yield replacement
    finally:
        _WORLD = saved


def is_main() -> bool:
    return world().is_main


def from_main(fn: Callable[[], T]) -> T:
    """Run `fn` in the main process only and hand its result to every process; a BenchError
    it raises is raised in every process (with the same message), so none is left waiting."""
    group = world()
    if group.size == 1:
        return fn()
    outcome: tuple[str, Any]
    if group.is_main:
        try:
            outcome = ("ok", fn())
        except BenchError as exc:
            group.broadcast(("error", (type(exc), str(exc))))
            raise
        except BaseException as exc:  # not a user error: still stop the others
            group.broadcast(("error", (BenchError, f"the main process failed: {type(exc).__name__}: {exc}")))
            raise
        return group.broadcast(outcome)[1]
    kind, value = group.broadcast(None)
    if kind == "error":
        cls, message = value
        raise (cls if isinstance(cls, type) and issubclass(cls, BenchError) else BenchError)(message)
    return value


def per_process(global_size: int, key: str) -> int:
    """A global batch's share of each process; the config describes the global batch, so a
    run computes the same thing on 1 or N processes (the world size is not in the hash)."""
    size = world().size
    if global_size % size:
        raise ConfigError(f"{key}={global_size} must be a multiple of the {size} launched processes")
    return global_size // size


def process_device(device: str) -> str:
    """The device this process computes on: under a launcher "auto"/"cuda" mean this
    process's GPU (cuda:LOCAL_RANK); "cuda:N" pins one process to GPU N (an error when
    several processes would share it)."""
    import torch

    size = launched_world_size()
    if device.startswith("cuda:") and size > 1:
        raise ConfigError(f"device={device} would put all {size} launched processes on one GPU; "
                          "use device=cuda (each process takes its own)")
    if device in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if size > 1 else "cuda"
    if device == "auto":
        return "cpu"
    return device


def select_device(device: str) -> None:
    """Make `device` the current CUDA device, so libraries that place models on "cuda"
    (TRL's trainers through accelerate) use GPU N of "cuda:N"."""
    if device.startswith("cuda:"):
        import torch

        torch.cuda.set_device(int(device.split(":", 1)[1]))


@contextmanager
def scratch_folder(run_id: str) -> Iterator[Path]:
    """Where a non-main process writes what the main process writes into the run folder
    (checkpoints, logs); deleted afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"erbench-rank{world().rank}-{run_id}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
