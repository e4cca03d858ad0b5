"""Data-parallel training on CPU with two real processes (torchrun, gloo backend).

- a two-process run of TRL DPO and of erbench's PPO ends with the LoRA (and value-head)
  tensors of a one-process run with the same global batch;
- `bench run … --launcher accelerate --num-processes 2` of ExpCTR (tiny random Llama, the
  fixture data) killed after a stage and resumed with --resume ends with the predictions
  of an uninterrupted two-process run; only the main process wrote the run folder.

Each process imports torch, transformers and TRL, and the runs share 2 CPU cores: about
20 s for the first test and 60-70 s for the second; both run by default (issue #17 wants them
in CI). The main-process-only writing logic also has a unit test in tests/unit/test_distributed.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("distributed_worker.py")
FIXTURE_DATA = ROOT / "tests" / "fixtures" / "data" / "tiny"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def _one_process_worker():
    spec = importlib.util.spec_from_file_location("distributed_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_processes_train_like_one_with_the_same_global_batch(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         str(WORKER), str(tmp_path)],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    worker = _one_process_worker()
    torch.set_num_threads(1)
    one = {"dpo": worker.dpo_steps(tmp_path / "one"), "ppo": worker.ppo_steps()}
    for name, expected in one.items():
        two = torch.load(tmp_path / f"{name}.pt", weights_only=True)
        assert two.keys() == expected.keys() and len(two) > 0
        moved = sum(float(v.abs().sum()) for k, v in expected.items() if "lora_B" in k)
        assert moved > 0, f"{name}: the steps did not move the LoRA weights"
        for key, value in expected.items():
            torch.testing.assert_close(two[key], value, atol=1e-5, rtol=1e-4, msg=f"{name} {key}")


def _bench_run(runs_dir: Path, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "bench.cli", "run", "--method", "expctr", "--dataset", "amazon-baby",
        "--profile", "tiny", "--data-dir", str(FIXTURE_DATA), "--runs-dir", str(runs_dir), "--quiet",
        "--set", "model.backbone=tiny-random", "--set", "eval.metrics=[auc]", "--set", "device=cpu",
        "--launcher", "accelerate", "--num-processes", "2", *extra,
    ]  # fmt: skip
    return subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip


def _kill_tree(proc: subprocess.Popen) -> None:
    """kill -9 the launcher and every process under it (torchrun's workers run in their own
    process groups, so killing the launcher's group alone leaves them running)."""
    import psutil

    tree = [proc.pid, *(p.pid for p in psutil.Process(proc.pid).children(recursive=True))]
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    psutil.wait_procs([p for p in map(_process, tree) if p is not None], timeout=30)


def _process(pid: int):
    import psutil

    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def _finish(proc: subprocess.Popen) -> None:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]


def _only_folder(runs_dir: Path) -> Path:
    (folder,) = [p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return folder


# ~60 s on 2 cores (three two-process runs): in the default run, as issue #17 asks of CI
def test_two_process_run_killed_and_resumed_equals_an_uninterrupted_one(tmp_path):
    _finish(_bench_run(tmp_path / "whole"))
    whole = _only_folder(tmp_path / "whole")

    runs = tmp_path / "killed"
    proc = _bench_run(runs)
    deadline = time.time() + 300
    while not list(runs.glob("*/stages/lc/DONE")):  # kill the launcher and both processes
        assert proc.poll() is None and time.time() < deadline, "the run ended before stage lc finished"
        time.sleep(0.05)
    _kill_tree(proc)
    folder = _only_folder(runs)
    assert not (folder / "DONE").exists()

    _finish(_bench_run(runs, "--resume"))
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["stages"]["reused"][:2] == ["ctr_pretrain", "lc"]
    assert (folder / "DONE").exists() and folder.name == whole.name
    assert (folder / "predictions.jsonl").read_text() == (whole / "predictions.jsonl").read_text()
    # the main process wrote the folder; the other one never did (no second log, no rank files)
    log_rows = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    assert len([r for r in log_rows if r["stage"] == "ic_1"]) == len(
        [r for r in (json.loads(x) for x in (whole / "train_log.jsonl").read_text().splitlines()) if r["stage"] == "ic_1"]
    )
