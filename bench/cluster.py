"""A sweep's cells as cluster jobs through submitit: one job per cell, each a normal `bench run`.

`bench sweep --launcher slurm --partition P --gpus-per-cell G [--max-parallel K]` submits
the cells that are not finished as one Slurm job array (at most K running at once);
`--launcher local --max-parallel K` runs them through submitit's local executor on this
machine, at most K at a time, each on its own GPUs (CUDA_VISIBLE_DEVICES) when
--gpus-per-cell asks for some. Either way a job runs `bench run … --no-index` with the
cell's method, dataset, seed, profile and settings, exactly as `bench sweep` planned it
(same run id), so the cell resumes, reuses and fails like any `bench run`; with G > 1 the
cell itself trains data-parallel (`--launcher accelerate --num-processes G`).

Jobs never write the results store: SQLite over a network file system with concurrent
writers is unsafe. When the jobs are over, the sweep process indexes every finished cell
from its run folder (the folder is the truth, as `bench results rebuild` reads it). A
failed cell is reported with its job's log file.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.api.errors import BenchError
from bench.api.run_folder import RunFolder
from bench.sweep import NEW, RESUME, PlannedRun


@dataclass
class ClusterOptions:
    launcher: Literal["local", "slurm"]
    max_parallel: int = 4  # cells running at once
    gpus_per_cell: int = 0
    partition: str | None = None  # Slurm partition
    timeout_min: int = 24 * 60  # per cell
    cpus_per_cell: int | None = None
    slurm_options: dict[str, str] = field(default_factory=dict)  # any other sbatch option
    poll_s: float | None = None  # how often job states are read (default: 0.25 s local, 30 s Slurm)


@dataclass(frozen=True)
class CellCommand:
    """What every cell of one sweep shares on its command line (as `bench sweep` got it)."""

    profile: str | None = None
    sets: tuple[str, ...] = ()
    data_dir: str | None = None

    def argv(self, p: PlannedRun, gpus: int = 0) -> list[str]:
        """`bench run` arguments naming the same cell as `bench.sweep.plan` did."""
        argv = ["run", "--method", p.cfg.method, "--dataset", p.dataset, "--seed", str(p.seed),
                "--runs-dir", str(p.cfg.runs_dir), "--quiet", "--no-index"]  # fmt: skip
        if self.profile:
            argv += ["--profile", self.profile]
        if self.data_dir:
            argv += ["--data-dir", self.data_dir]
        for expr in [*self.sets, *p.row.set_args()]:  # the row's selector last, as in plan()
            argv += ["--set", expr]
        if p.status == RESUME:
            argv.append("--resume")
        if gpus > 1:
            argv += ["--launcher", "accelerate", "--num-processes", str(gpus)]
        return argv


class CellFailed(RuntimeError):
    """A cell's `bench run` ended with a non-zero status (its error line is in the job log)."""


def run_cell(argv: list[str]) -> None:
    """The job: one `bench run`, as a command (the CLI drives the sweep, so the sweep never
    imports the CLI); its output goes to the job log."""
    import subprocess
    import sys

    status = subprocess.run([sys.executable, "-m", "bench.cli", *argv], check=False).returncode
    if status:
        raise CellFailed(f"bench {' '.join(argv)} exited with status {status}")


def slurm_parameters(options: ClusterOptions, name: str) -> dict[str, Any]:
    """submitit SlurmExecutor parameters of one cell's job (the array limit included)."""
    params: dict[str, Any] = dict(
        job_name=name, time=int(options.timeout_min), nodes=1, ntasks_per_node=1,
        array_parallelism=int(options.max_parallel),
    )  # fmt: skip
    if options.partition:
        params["partition"] = options.partition
    if options.gpus_per_cell:
        params["gpus_per_node"] = int(options.gpus_per_cell)
    if options.cpus_per_cell:
        params["cpus_per_task"] = int(options.cpus_per_cell)
    if options.slurm_options:
        params["additional_parameters"] = dict(options.slurm_options)
    return params


def _submitit() -> Any:
    # submitit's import runs logging.config.dictConfig unless told not to, which closes every
    # logging handler already open in the process (run.log's file, absl's stream: under pytest
    # that closed the capture stream and killed the run); it gets its own handler below
    os.environ.setdefault("SUBMITIT_LOG_LEVEL", "NOCONFIG")
    try:
        import submitit
    except ImportError:
        raise BenchError("--launcher local|slurm needs submitit: pip install 'erbench[cluster]'") from None
    _log_to_current_stderr(logging.getLogger("submitit"))
    return submitit


def _log_to_current_stderr(log: logging.Logger) -> None:
    """submitit's warnings (a job's state, a cancel from __del__) go to sys.stderr as it is when
    they are written, not to a stream bound at import that may be closed by then."""
    from bench.warnings_log import StderrNow

    if any(isinstance(h, StderrNow) for h in log.handlers):
        return
    for handler in list(log.handlers):
        log.removeHandler(handler)
    handler = StderrNow()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s - %(message)s"))
    log.addHandler(handler)
    log.propagate = False


def _gpu_slots(options: ClusterOptions) -> list[tuple[int, ...]]:
    """One slot per cell allowed to run at once; each holds the GPUs its cell may see."""
    g = int(options.gpus_per_cell)
    return [tuple(range(k * g, (k + 1) * g)) for k in range(max(1, int(options.max_parallel)))]


@dataclass
class _Submitted:
    cell: PlannedRun
    job: Any
    slot: tuple[int, ...] = ()


def _follow(running: list[_Submitted], poll: float, finished: Callable[[_Submitted], None],
            refill: Callable[[], None] = lambda: None) -> None:
    """Wait for the jobs in `running`: `finished` for each one as it ends, `refill` (which may
    submit more into `running`) before each look; what still runs is cancelled on an error
    or Ctrl-C."""
    try:
        refill()
        while running:
            for item in [r for r in running if r.job.done()]:
                running.remove(item)
                finished(item)
            refill()
            if running:
                time.sleep(poll)
    except BaseException:
        for item in running:
            item.job.cancel(check=False)
        raise


def _local_jobs(cells: Sequence[PlannedRun], argv_of: Callable[[PlannedRun], list[str]], folder: Path,
                options: ClusterOptions, finished: Callable[[_Submitted], None]) -> None:
    """submitit's local executor has no array limit: keep at most max_parallel jobs running,
    each on the GPUs of a free slot."""
    submitit = _submitit()
    executor = submitit.LocalExecutor(folder=str(folder))
    free, waiting, running = _gpu_slots(options), list(cells), []

    def refill() -> None:
        while waiting and free:
            slot = free.pop(0)
            executor.update_parameters(timeout_min=int(options.timeout_min), gpus_per_node=len(slot),
                                       visible_gpus=slot)  # fmt: skip
            cell = waiting.pop(0)
            running.append(_Submitted(cell, executor.submit(run_cell, argv_of(cell)), slot))

    def release(item: _Submitted) -> None:
        free.append(item.slot)
        finished(item)

    _follow(running, options.poll_s if options.poll_s is not None else 0.25, release, refill)


def _slurm_jobs(cells: Sequence[PlannedRun], argv_of: Callable[[PlannedRun], list[str]], folder: Path,
                options: ClusterOptions, name: str, finished: Callable[[_Submitted], None]) -> None:
    """One Slurm job array over the cells, at most max_parallel running at once."""
    submitit = _submitit()
    try:
        executor = submitit.SlurmExecutor(folder=str(folder))
    except RuntimeError as exc:  # no sbatch/srun here
        raise BenchError(f"--launcher slurm needs a Slurm login node (sbatch on PATH): {exc}") from None
    executor.update_parameters(**slurm_parameters(options, name))
    jobs = executor.map_array(run_cell, [argv_of(c) for c in cells])
    running = [_Submitted(c, j) for c, j in zip(cells, jobs, strict=True)]
    _follow(running, options.poll_s if options.poll_s is not None else 30.0, finished)


def failure_reason(job: Any) -> str:
    """The cell's own one-line error (the `error: …` line `bench run` printed), else the last
    line of the job's exception; with the path of the job's log."""
    text = ""
    try:
        text = job.stderr() or ""
    except OSError:
        pass
    errors = [line.removeprefix("error: ") for line in text.splitlines() if line.startswith("error: ")]
    if errors:
        reason = errors[-1]
    else:
        exc = job.exception()
        lines = [line for line in str(exc).splitlines() if line.strip()] if exc is not None else []
        reason = lines[-1].strip() if lines else f"job ended in state {job.state}"
    return f"{reason} (log: {job.paths.stderr})"


def run_plan_as_jobs(planned: list[PlannedRun], console: Any, options: ClusterOptions, command: CellCommand,
                     *, name: str = "erbench-sweep") -> list[tuple[PlannedRun, str]]:
    """Run the cells that are not finished as submitit jobs; returns the failures (cell,
    message with the log path) like bench.sweep.run_plan. Finished cells (before
    or by the jobs) are then indexed into the results store by this process alone."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bench.results import ResultsStore, default_store_path

    todo = [p for p in planned if p.status in (RESUME, NEW)]
    failures: list[tuple[PlannedRun, str]] = []
    if todo:
        runs_dir = Path(todo[0].cfg.runs_dir)
        folder = runs_dir / ".sweep-logs" / name / "%j"
        gpus = int(options.gpus_per_cell)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:  # fmt: skip
            task = progress.add_task(f"{options.launcher} jobs", total=len(todo))

            def finished(item: _Submitted) -> None:
                if item.job.exception() is not None:  # failed, cancelled or timed out
                    message = failure_reason(item.job)
                elif not RunFolder(item.cell.run_dir).is_done():
                    message = f"the job ended but {item.cell.run_dir} is unfinished (no DONE marker) (log: {item.job.paths.stderr})"
                else:
                    message = ""
                if message:
                    failures.append((item.cell, message))
                    progress.console.print(f"failed {item.cell.run_id}: {message}", soft_wrap=True,
                                           highlight=False, markup=False)  # fmt: skip
                progress.advance(task)

            def argv_of(cell: PlannedRun) -> list[str]:
                return command.argv(cell, gpus)

            if options.launcher == "slurm":
                _slurm_jobs(todo, argv_of, folder, options, name, finished)
            else:
                _local_jobs(todo, argv_of, folder, options, finished)
    store = ResultsStore(default_store_path(planned[0].cfg.runs_dir)) if planned else None
    for p in planned:  # one writer: the folders of the finished cells, indexed here
        if store is not None and RunFolder(p.run_dir).is_done():
            store.add_run(p.run_dir)
    return failures
