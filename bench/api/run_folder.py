"""Run folders: the one owner of every file name in them, atomic writes, stage checkpoints
with resume, the train log, DONE last.

Layout of runs/<method>__<dataset>__s<seed>__<cfghash>/ (the names are spelled here only;
every other module goes through `RunFolder`):

    config.resolved.yaml   the merged config
    provenance.json        git sha, packages, device, data digests, record counts
    splits.json            split protocol, seed and the digests of each split
    eval_sample.json       the seeded sample of test records scored (eval.max_records)
    feature_vocabulary.json  the dataset's feature vocabulary (PETER's FCR denominator)
    stages/<name>/         one folder per training stage; DONE inside once finished
    train_log.jsonl        one JSON object per logged step (stage, step, values)
    backbone.json          which backbone (and mode) an LLM method ran
    predictions.jsonl      one line per scored record
    per_example.jsonl      per-record scores of sample-level metrics
    metrics.json           versioned metric rows (read and written by bench.api.metrics_file)
    run.log                third-party warnings of the run
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.api.errors import ConfigError, DataError
from bench.api.seeding import seed_global_rngs, stage_seed

CONFIG = "config.resolved.yaml"
PROVENANCE = "provenance.json"
SPLITS = "splits.json"
EVAL_SAMPLE = "eval_sample.json"
FEATURE_VOCABULARY = "feature_vocabulary.json"
STAGES = "stages"
TRAIN_LOG = "train_log.jsonl"
BACKBONE = "backbone.json"
PREDICTIONS = "predictions.jsonl"
PER_EXAMPLE = "per_example.jsonl"
METRICS = "metrics.json"
RUN_LOG = "run.log"
DONE = "DONE"


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


def numbered_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of each non-blank line, read lazily; a line that is not JSON
    is one DataError naming the file and line."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [row for _, row in numbered_jsonl(path)]


def read_objects(path: Path) -> list[dict[str, Any]]:
    """A JSONL file whose every line is a JSON object ([] when absent); a bad line fails with
    file and line."""
    if not path.exists():
        return []
    rows = read_jsonl(path)
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise DataError(f"{path}:{number}: expected a JSON object")
    return rows


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object file ({} when absent or not an object); bad JSON fails with file and line."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    return data if isinstance(data, dict) else {}


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
        self.log_path = self.dir / TRAIN_LOG
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
        path = self.dir / STAGES / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def stage_done(self, name: str) -> bool:
        return (self.dir / STAGES / name / DONE).exists()

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

        if from_main(lambda: (self.finished_stages_in / STAGES / name / DONE).exists()):
            load(self.finished_stages_in / STAGES / name)
            self.stages_reused.append(name)
        else:
            path = self.stage_dir(name)
            started = time.time()
            self._drop_log_rows(name)
            seed_global_rngs(stage_seed(self.seed, name))
            train(path)
            atomic_write_json(path / DONE, {"stage": name, "seconds": round(time.time() - started, 3)})
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


@dataclass(frozen=True)
class RunFolder:
    """One run folder: the path of each of its files, and their typed readers and writers.

    Writers are atomic (temp file + rename); readers of JSON objects give {} for a missing file
    and fail with file and line on bad JSON; JSONL readers fail with file:line."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def run_id(self) -> str:
        return self.path.name

    # -- paths
    @property
    def config(self) -> Path:
        return self.path / CONFIG

    @property
    def provenance(self) -> Path:
        return self.path / PROVENANCE

    @property
    def splits(self) -> Path:
        return self.path / SPLITS

    @property
    def eval_sample(self) -> Path:
        return self.path / EVAL_SAMPLE

    @property
    def feature_vocabulary(self) -> Path:
        return self.path / FEATURE_VOCABULARY

    @property
    def stages(self) -> Path:
        return self.path / STAGES

    @property
    def train_log(self) -> Path:
        return self.path / TRAIN_LOG

    @property
    def backbone(self) -> Path:
        return self.path / BACKBONE

    @property
    def predictions(self) -> Path:
        return self.path / PREDICTIONS

    @property
    def per_example(self) -> Path:
        return self.path / PER_EXAMPLE

    @property
    def metrics(self) -> Path:
        return self.path / METRICS

    @property
    def run_log(self) -> Path:
        return self.path / RUN_LOG

    @property
    def done(self) -> Path:
        return self.path / DONE

    def stage(self, name: str) -> Path:
        return self.stages / name

    # -- state
    def is_done(self) -> bool:
        return self.done.exists()

    def stage_done(self, name: str) -> bool:
        return (self.stage(name) / DONE).exists()

    def finished_stages(self) -> list[str]:
        """The stages with a DONE marker, in name order."""
        return sorted(p.parent.name for p in self.stages.glob(f"*/{DONE}"))

    # -- readers
    def read_config(self) -> dict[str, Any]:
        """config.resolved.yaml as a mapping ({} when absent)."""
        if not self.config.exists():
            return {}
        try:
            data = yaml.safe_load(self.config.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{self.config}: not valid YAML: {exc}") from None
        if data is not None and not isinstance(data, dict):
            raise ConfigError(f"{self.config}: top level must be a mapping")
        return data or {}

    def read_provenance(self) -> dict[str, Any]:
        return read_json_object(self.provenance)

    def read_splits(self) -> dict[str, Any]:
        return read_json_object(self.splits)

    def read_eval_sample(self) -> dict[str, Any]:
        return read_json_object(self.eval_sample)

    def read_predictions(self) -> list[dict[str, Any]]:
        """predictions.jsonl, one object per scored record in file order ([] when absent)."""
        return read_objects(self.predictions)

    def read_per_example(self) -> list[dict[str, Any]]:
        """per_example.jsonl: {"idx": i, "<metric>": value, ...} per record ([] when absent)."""
        return read_objects(self.per_example)

    def read_train_log(self) -> list[dict[str, Any]]:
        """train_log.jsonl: {"stage", "step", "time", ...values} per logged step ([] when absent)."""
        return read_objects(self.train_log)

    def read_stage_marker(self, name: str) -> dict[str, Any]:
        """A finished stage's DONE marker: {"stage", "seconds"} ({} when absent or unreadable)."""
        try:
            return read_json_object(self.stage(name) / DONE)
        except DataError:
            return {}

    # -- writers
    def write_config(self, text: str) -> None:
        atomic_write_text(self.config, text)

    def write_provenance(self, info: dict[str, Any]) -> None:
        atomic_write_json(self.provenance, info)

    def write_splits(self, info: dict[str, Any]) -> None:
        atomic_write_json(self.splits, info)

    def write_eval_sample(self, info: dict[str, Any]) -> None:
        atomic_write_json(self.eval_sample, info)

    def write_feature_vocabulary(self, info: dict[str, Any]) -> None:
        atomic_write_json(self.feature_vocabulary, info)

    def write_backbone(self, info: dict[str, Any]) -> None:
        atomic_write_json(self.backbone, info)

    def write_predictions(self, rows: Iterable[dict[str, Any]]) -> None:
        atomic_write_jsonl(self.predictions, rows)

    def write_per_example(self, rows: Iterable[dict[str, Any]]) -> None:
        atomic_write_jsonl(self.per_example, rows)

    def mark_stage_done(self, name: str, info: dict[str, Any]) -> None:
        atomic_write_json(self.stage(name) / DONE, info)

    def mark_done(self, finished_at: str) -> None:
        """DONE, written last: the run is finished."""
        atomic_write_text(self.done, finished_at + "\n")


def finished_runs(runs_dir: str | Path) -> list[RunFolder]:
    """The finished run folders (DONE written) directly under `runs_dir`, in name order."""
    return [RunFolder(done.parent) for done in sorted(Path(runs_dir).glob(f"*/{DONE}"))]
