"""`bench run … --launcher accelerate --num-processes N`: the same command started in N
processes by the launcher researchers use, waited for, its exit status passed on.

On CUDA: `accelerate launch --multi_gpu --num_processes N -m bench.cli run …`, or with
`--accelerate-config FILE` (e.g. bench/configs/accelerate/zero2.yaml, zero3.yaml for 7B
models) `accelerate launch --config_file FILE --num_processes N -m bench.cli run …`.
On CPU `accelerate launch` starts a single process unless MPI is set up, so torch's own
launcher starts the processes (`python -m torch.distributed.run`, i.e. torchrun, gloo
backend). Either way every process gets RANK / WORLD_SIZE / LOCAL_RANK and
bench.api.distributed takes it from there.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.api.errors import ConfigError

ACCELERATE_CONFIGS = Path(__file__).parent / "configs" / "accelerate"
LAUNCH_OPTIONS = ("--launcher", "--num-processes", "--accelerate-config")  # each takes a value


def without_launch_options(argv: Sequence[str]) -> list[str]:
    """`argv` less the launch options (`--opt value` and `--opt=value`), for the processes."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in LAUNCH_OPTIONS:
            skip = True
        elif not arg.startswith(tuple(f"{o}=" for o in LAUNCH_OPTIONS)):
            out.append(arg)
    return out


def accelerate_config(name: str | None) -> str | None:
    """A config file path, or the name of one shipped in bench/configs/accelerate."""
    if not name:
        return None
    for candidate in (Path(name), ACCELERATE_CONFIGS / name, ACCELERATE_CONFIGS / f"{name}.yaml"):
        if candidate.is_file():
            return str(candidate)
    shipped = ", ".join(sorted(p.stem for p in ACCELERATE_CONFIGS.glob("*.yaml")))
    raise ConfigError(f"--accelerate-config {name}: no such file (shipped: {shipped})")


def launch_command(bench_args: Sequence[str], num_processes: int, *, cuda: bool,
                   config_file: str | None = None) -> list[str]:
    """The launcher's command line running `bench <bench_args>` in `num_processes` processes."""
    if num_processes < 1:
        raise ConfigError(f"--num-processes expects a positive integer, got {num_processes}")
    target = ["-m", "bench.cli", *bench_args]
    if not cuda:
        if config_file:
            raise ConfigError("--accelerate-config needs CUDA (DeepSpeed / mixed precision); on CPU "
                              "the processes are started by torchrun with the gloo backend")
        return [sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc-per-node={num_processes}", *target]
    launcher = [sys.executable, "-m", "accelerate.commands.launch"]
    placement = ["--config_file", config_file] if config_file else ["--multi_gpu"] if num_processes > 1 else []
    return [*launcher, *placement, "--num_processes", str(num_processes), *target]


def relaunch(bench_args: Sequence[str], num_processes: int, *, cuda: bool, config_file: str | None = None) -> int:
    """Run `bench <bench_args>` under the launcher; its exit status (2 for a user mistake
    reported by the main process)."""
    return subprocess.run(launch_command(bench_args, num_processes, cuda=cuda, config_file=config_file)).returncode
