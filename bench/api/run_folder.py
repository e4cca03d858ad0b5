"""Run folders: atomic writes, stage checkpoints with resume, the train log, DONE last.

Layout of runs/<method>__<dataset>__s<seed>__<cfghash>/:

    config.resolved.yaml   the merged config
    provenance.json        git sha, packages, device, data digests, record counts
    splits.json            split protocol, seed and the digests of each split
    stages/<name>/         one folder per training stage; DONE inside once finished
    train_log.jsonl        one JSON object per logged step (stage, step, values)
    predictions.jsonl      one line per scored record
    per_example.jsonl      per-record scores of sample-level metrics
    metrics.json           versioned metric rows
    DONE                   written last; a run without it is unfinished
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.api.seeding import seed_global_rngs, stage_seed


@functools.cache
def _umask() -> int:
    """The process umask, read once: from /proc where it is shown (reading changes nothing),
    else by setting and restoring it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temp file in the same folder, fsync, then rename over the target. The file
    gets the mode of any other new file (0644 under umask 022), not mkstemp's private 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


BACKBONE_FILE = "backbone.json"  # which LLM an LLM method ran (bench.backbones.hf.record_backbone)
RUN_LOG = "run.log"  # third-party warnings (bench.warnings_log) and the loaded backbone


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def atomic_write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    atomic_write_text(
        path, "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)
    )


@contextmanager
def written_atomically(path: Path) -> Iterator[Path]:
    """A temp path for a writer that needs a file name (np.savez, torch.save, shutil.copy2):
    `with written_atomically(target) as tmp: np.savez(tmp, ...)`. The temp file lies in a
    private folder beside `path`, so concurrent writers of one cache never share a temp name;
    when the block succeeds it is fsynced and renamed over `path`, readers see the old file
    or the new one, never a torn one. On error `path` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        tmp = folder / path.name
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# the temp names atomic_write_text (a file) and written_atomically (a folder) use beside a target
_TEMP_NAME = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp")


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temp files and folders that atomic writes killed before their rename left
    under `folder` (kill -9 runs no cleanup); call it only while holding the folder's lock, so
    no live writer owns them. Returns what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.rglob(".*.tmp") if _TEMP_NAME.fullmatch(p.name)]
    for path in sorted(stale, key=lambda p: len(p.parts), reverse=True):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


def _log_row_stage(line: str) -> str | None:
    """The stage of one train-log line; None for a line that is not a complete JSON row."""
    try:
        row = json.loads(line)
    except ValueError:
        return None
    return row.get("stage") if isinstance(row, dict) else None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                from bench.api.errors import DataError

                raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    return rows


class RunContext:
    """What a method sees of its run: folder, seed, device, stages, log, progress.

    `dir` is where this process writes: the run folder, or, in the other processes of a
    launched run, a scratch folder (bench.api.distributed); `finished_stages_in` is the run folder
    whose finished stages are reloaded (default: `dir`). `cfg` is the run's RunConfig
    (bench.config, on the app floor above this one)."""

    def __init__(self, run_dir: Path, cfg: Any, *, resume: bool = False, quiet: bool = False,
                 finished_stages_in: Path | None = None):
        self.dir = Path(run_dir)
        self.finished_stages_in = Path(finished_stages_in or run_dir)
        self.cfg = cfg
        self.seed = cfg.seed
        self.resume = resume
        self.quiet = quiet
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "train_log.jsonl"
        self.stages_run: list[str] = []
        self.stages_reused: list[str] = []

    @property
    def device(self) -> str:
        """This process's device: auto is cuda when present, and under a launcher each
        process's own GPU (bench.api.distributed.process_device)."""
        if self.cfg.device == "cpu":
            return "cpu"
        try:
            from bench.api.distributed import process_device

            return process_device(self.cfg.device)
        except ImportError:  # torch-free install
            return "cpu"

    @property
    def cache_dir(self) -> Path:
        from bench.api.paths import cache_dir

        return cache_dir()

    def stage_dir(self, name: str) -> Path:
        path = self.dir / "stages" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def stage_done(self, name: str) -> bool:
        return (self.dir / "stages" / name / "DONE").exists()

    def stage(
        self,
        name: str,
        train: Callable[[Path], None],
        load: Callable[[Path], None],
    ) -> None:
        """Run `train(stage_dir)` and mark the stage done, or, if it finished in an earlier
        attempt of this run, call `load(stage_dir)` to restore its checkpoint instead.

        Before training, python `random`, numpy and torch (every CUDA device too) are seeded
        from (run seed, stage name) (bench.api.seeding), and train_log.jsonl rows a killed attempt
        left for this stage are dropped; after the stage, trained or reloaded, they are seeded
        again from (run seed, stage name + "/done"). So a resumed run draws the same numbers
        as an uninterrupted one, in every stage and in what follows the last one (predict).

        In a launched run the main process says whether the stage finished, so every process
        trains it (data-parallel) or reloads it from the run folder alike.
        """
        from bench.api.distributed import from_main

        if from_main(lambda: (self.finished_stages_in / "stages" / name / "DONE").exists()):
            load(self.finished_stages_in / "stages" / name)
            self.stages_reused.append(name)
        else:
            path = self.stage_dir(name)
            started = time.time()
            self._drop_log_rows(name)
            seed_global_rngs(stage_seed(self.seed, name))
            train(path)
            atomic_write_json(path / "DONE", {"stage": name, "seconds": round(time.time() - started, 3)})
            self.stages_run.append(name)
        seed_global_rngs(stage_seed(self.seed, f"{name}/done"))

    def _drop_log_rows(self, stage: str) -> None:
        """Rewrite train_log.jsonl without the rows of `stage` (and any line torn by a kill)."""
        if not self.log_path.exists():
            return
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if _log_row_stage(line) not in (stage, None)]
        if len(kept) != len(lines):
            atomic_write_text(self.log_path, "".join(line + "\n" for line in kept))

    def log(self, stage: str, step: int, **values: Any) -> None:
        """Append one step's scalars (losses, reward components) to train_log.jsonl."""
        row = {"stage": stage, "step": step, "time": round(time.time(), 3), **values}
        with open(self.log_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row, default=float) + "\n")

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Callable[[int], None]]:
        """A rich progress bar; yields advance(n, **status) (bench.api.progress). Silent when quiet."""
        if self.quiet:
            yield lambda n=1, **status: None
            return
        from bench.api.progress import progress_bar

        with progress_bar(description, total) as advance:
            yield advance
