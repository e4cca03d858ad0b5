"""Randomized kill campaign (issue 25): a three-stage run of the deterministic test method
(tests/staged_toy.py, a small real biased-MF model) is killed with SIGKILL at 20 points drawn
from a seeded RNG — inside a stage, between stages, in predict, in scoring, before each atomic
rename of the run's files, inside the results-store transaction, or at a random time — then
continued with `--resume`. Every file of the finished folder must equal an uninterrupted run's
byte for byte (timing fields aside), the train log must hold each (stage, step) once, no
temporary or partial file may remain, and the store must hold the run's rows once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.staged_toy import DATASET, KILL_ENV, STAGES, write_reviews

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 40
POINTS = 20
SEED = 2025
TIMING_KEYS = {"time", "seconds", "created_at", "finished_at"}


def bench(base: Path, *extra: str, env_extra: dict[str, str] | None = None,
          kill_after_s: float | None = None) -> int:  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ERBENCH_CACHE_DIR": str(base.parent / "cache"),
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env_extra or {})}  # fmt: skip
    env.pop(KILL_ENV, None) if not env_extra or KILL_ENV not in env_extra else None
    argv = [sys.executable, "-m", "tests.staged_toy", "run", "--method", "staged-toy", "--dataset", DATASET,
            "--data-dir", str(base.parent / "data"), "--runs-dir", str(base / "runs"), "--quiet",
            "--set", "device=cpu", "--set", f"model.epochs={EPOCHS}", "--set", "eval.metrics=[rmse,mae]", *extra]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    if kill_after_s is not None:
        try:
            proc.wait(timeout=kill_after_s)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=600)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"bench run failed ({proc.returncode}): {err.decode()[-2000:]}")
    return proc.returncode


def run_folder(base: Path) -> Path:
    (folder,) = [p for p in (base / "runs").iterdir() if p.name.startswith("staged-toy__")]
    return folder


def _strip(value):  # noqa: ANN001, ANN202
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def normalized(path: Path, folder: Path, base: Path):  # noqa: ANN201
    """A file's content with its timing fields aside: DONE's timestamp, "time"/"seconds"/
    "created_at"/"finished_at" keys, and provenance's list of stages run vs reused; the
    attempt's own folder (runs_dir) is written <base>."""
    rel = path.relative_to(folder).as_posix()
    raw = path.read_bytes().replace(str(base).encode(), b"<base>")
    if rel == "DONE":
        return "<finished-at>"
    if path.suffix == ".json" or path.name == "DONE":  # a stage's DONE is JSON
        data = _strip(json.loads(raw))
        if rel == "provenance.json":
            data.pop("stages", None)
        return data
    if path.suffix == ".jsonl":
        return [_strip(json.loads(line)) for line in raw.decode().splitlines()]
    if rel == "run.log":  # one line per notice, after its timestamp
        return [line[24:] for line in raw.decode().splitlines()]
    return raw


def snapshot(base: Path) -> dict:
    folder = run_folder(base)
    return {p.relative_to(folder).as_posix(): normalized(p, folder, base)
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def store_rows(base: Path) -> list[tuple]:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(base / "runs" / "results.sqlite")) as con:
        return sorted(con.execute("SELECT run_id, metric, value, n FROM metrics").fetchall())


def kill_points() -> list[tuple[str, str]]:
    """20 (kind, where) pairs from a seeded RNG: an event of the run or a time (a fraction of an
    uninterrupted run's wall time)."""
    rng = random.Random(SEED)
    events = [f"{s}:{step}" for s in STAGES for step in range(EPOCHS)]
    events += [f"after:{s}" for s in STAGES] + ["predict", "score", "store"]
    events += [f"replace:{name}" for name in ("config.resolved.yaml", "splits.json", "DONE", "predictions.jsonl",
                                              "per_example.jsonl", "provenance.json", "metrics.json")]  # fmt: skip
    points: list[tuple[str, str]] = []
    fixed = ["predict", "score", "store", "after:s1_warmup", "replace:metrics.json", "replace:DONE"]
    points += [("event", e) for e in fixed]  # each phase at least once
    while len(points) < POINTS:
        if rng.random() < 0.3:
            points.append(("time", f"{rng.uniform(0.05, 1.0):.3f}"))
        else:
            e = rng.choice(events)
            if ("event", e) not in points:
                points.append(("event", e))
    return points


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    top = tmp_path_factory.mktemp("kill")
    write_reviews(top / "data")
    base = top / "whole"
    started = time.monotonic()
    assert bench(base) == 0
    wall = time.monotonic() - started
    return top, base, wall


@pytest.mark.parametrize("point", kill_points(), ids=lambda p: f"{p[0]}-{p[1]}")
def test_killed_and_resumed_equals_uninterrupted(uninterrupted, point):
    top, whole, wall = uninterrupted
    kind, where = point
    base = top / f"{kind}-{where.replace(':', '-')}"
    if kind == "event":
        code = bench(base, env_extra={KILL_ENV: where})
        assert code == -signal.SIGKILL, f"the run was not killed at {where}"
    else:
        code = bench(base, kill_after_s=float(where) * wall)
    # -s shows it: a time past the run's end finishes uninterrupted (still checked)
    print(f"kill point {kind} {where}: {'killed' if code == -signal.SIGKILL else 'finished first'}")
    if code == -signal.SIGKILL:
        assert bench(base, "--resume") == 0
    assert run_folder(base).name == run_folder(whole).name
    got, expected = snapshot(base), snapshot(whole)
    assert sorted(got) == sorted(expected), "files differ (a partial or temporary file left?)"
    for name in expected:
        assert got[name] == expected[name], f"{name} differs after a kill at {where}"
    rows = [(r["stage"], r["step"]) for r in got["train_log.jsonl"]]
    assert len(rows) == len(set(rows)) == len(STAGES) * EPOCHS
    leftovers = [p.name for p in (base / "runs").iterdir() if p.name.endswith(".tmp") or p.name.startswith(".")]
    assert set(leftovers) <= {".locks"}
    assert store_rows(base) == store_rows(whole)
