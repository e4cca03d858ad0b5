"""bench.api.distributed and the runner's launched-run logic, without starting processes: a
fake world plays rank 1 of 2 and hears the main process's answers from a script, so the
test shows what a non-main process does (follows the main process at every decision,
writes nothing into the run folder, holds no lock, touches no store). Real two-process
runs: tests/integration/test_distributed_cpu.py (slow)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from bench.api import distributed
from bench.api.errors import BenchError, ConfigError
from bench.api.run_folder import RunContext
from bench.config import RunConfig, resolve
from bench.runlock import RunLocked
from tests.helpers import patch_synthetic_data


class OtherRank(distributed.SingleProcess):
    """Rank 1 of 2: each broadcast returns the main process's next scripted message."""

    rank, size = 1, 2

    def __init__(self, *messages):
        self.messages = list(messages)

    def broadcast(self, obj):
        assert obj is None, "a non-main process sends nothing"
        return self.messages.pop(0)


def test_rows_of_splits_a_batch_into_contiguous_shares():
    shares = []
    for rank in range(3):
        group = distributed.SingleProcess()
        group.rank, group.size = rank, 3
        shares.append(group.rows_of(7))
    assert shares == [(0, 3), (3, 5), (5, 7)]
    group.rank, group.size = 1, 2
    assert group.rows_of(1) == (1, 1)  # an empty share when the batch is smaller than the world
    assert distributed.SingleProcess().rows_of(5) == (0, 5)


def test_per_process_splits_the_global_batch():
    assert distributed.per_process(8, "model.dpo_batch_size") == 8
    with distributed.use_world(OtherRank()):
        assert distributed.per_process(8, "model.dpo_batch_size") == 4
        with pytest.raises(ConfigError, match="model.dpo_batch_size=3 must be a multiple of the 2"):
            distributed.per_process(3, "model.dpo_batch_size")


def test_process_device(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distributed.process_device("cpu") == "cpu"
    assert distributed.process_device("cuda:1") == "cuda:1"
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert distributed.process_device("auto") == "cpu"
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="would put all 2 launched processes on one GPU"):
        distributed.process_device("cuda:1")
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.process_device("auto") == "cuda:1"


def test_from_main_runs_in_one_process_and_passes_on_main_errors():
    assert distributed.from_main(lambda: 41 + 1) == 42
    with distributed.use_world(OtherRank(("ok", "main's value"))):
        assert distributed.from_main(lambda: pytest.fail("runs in the main process only")) == "main's value"
    with distributed.use_world(OtherRank(("error", (RunLocked, "run x is running in pid 7")))):
        with pytest.raises(RunLocked, match="pid 7"):
            distributed.from_main(lambda: None)
    with distributed.use_world(OtherRank(("error", (ValueError, "not a user error")))):
        with pytest.raises(BenchError, match="not a user error"):
            distributed.from_main(lambda: None)


def test_stages_follow_the_main_process_and_write_to_scratch(tmp_path):
    run_dir, scratch = tmp_path / "run", tmp_path / "scratch"
    (run_dir / "stages" / "first").mkdir(parents=True)
    (run_dir / "stages" / "first" / "DONE").write_text("{}")
    (scratch / "stages" / "second").mkdir(parents=True)
    (scratch / "stages" / "second" / "DONE").write_text("{}")  # this process's view is ignored
    calls = []
    ctx = RunContext(scratch, RunConfig(method="fake", dataset="fake"), quiet=True, finished_stages_in=run_dir)
    with distributed.use_world(OtherRank(("ok", True), ("ok", False))):
        ctx.stage("first", lambda d: calls.append(("train", d)), lambda d: calls.append(("load", d)))
        ctx.stage("second", lambda d: calls.append(("train", d)), lambda d: calls.append(("load", d)))
        ctx.log("second", 0, loss=1.0)
    assert calls == [("load", run_dir / "stages" / "first"), ("train", scratch / "stages" / "second")]
    assert ctx.stages_reused == ["first"] and ctx.stages_run == ["second"]
    assert sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*")) == [
        "stages", "stages/first", "stages/first/DONE"]  # fmt: skip
    assert (scratch / "train_log.jsonl").exists()


def test_a_non_main_process_trains_but_writes_nothing_of_the_run(tmp_path, monkeypatch):
    patch_synthetic_data(monkeypatch)
    from bench.runner import execute, validate

    runs = tmp_path / "runs"
    cfg = resolve("mf-bias", "ml-100k", sets=[f"runs_dir={runs}", "eval.metrics=[rmse]"])
    identity = validate(cfg)
    # the main process's messages: its validation, lock taken, folder new, stage "train" not done
    messages = [("ok", identity), ("ok", None), ("ok", False), ("ok", False)]
    before = set(Path(tempfile.gettempdir()).glob(f"erbench-rank1-{identity.run_id}-*"))
    with distributed.use_world(OtherRank(*messages)) as rank1:
        result = execute(cfg, quiet=True)
    assert rank1.messages == []  # it heard every decision
    assert result.rows == [] and result.stages_run == ["train"] and not result.reused
    assert not runs.exists()  # no run folder, no results.sqlite, no lock file
    assert set(Path(tempfile.gettempdir()).glob(f"erbench-rank1-{identity.run_id}-*")) == before


def test_a_non_main_process_reuses_what_the_main_process_found_finished(tmp_path, monkeypatch):
    patch_synthetic_data(monkeypatch)
    from bench.runner import execute, validate

    cfg = resolve("mf-bias", "ml-100k", sets=[f"runs_dir={tmp_path / 'runs'}", "eval.metrics=[rmse]"])
    first = execute(cfg, quiet=True)  # as the main process (one-process world)
    with distributed.use_world(OtherRank(("ok", validate(cfg)), ("ok", None), ("ok", True))):
        again = execute(cfg, quiet=True)
    assert again.reused and again.rows == first.rows


def test_launch_commands():
    from bench import launch

    argv = ["run", "--method", "m", "--launcher", "accelerate", "--num-processes", "2",
            "--accelerate-config=zero2", "--set", "x=1"]  # fmt: skip
    rest = launch.without_launch_options(argv)
    assert rest == ["run", "--method", "m", "--set", "x=1"]
    cpu = launch.launch_command(rest, 2, cuda=False)
    assert cpu[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    assert cpu[5:] == ["-m", "bench.cli", *rest]
    gpu = launch.launch_command(rest, 4, cuda=True, config_file=launch.accelerate_config("zero2"))
    assert gpu[1:3] == ["-m", "accelerate.commands.launch"]
    assert gpu[3:7] == ["--config_file", str(launch.ACCELERATE_CONFIGS / "zero2.yaml"), "--num_processes", "4"]
    assert launch.launch_command(rest, 2, cuda=True)[3] == "--multi_gpu"
    with pytest.raises(ConfigError, match="shipped: ddp, zero2, zero3"):
        launch.accelerate_config("zero9")
    with pytest.raises(ConfigError, match="needs CUDA"):
        launch.launch_command(rest, 2, cuda=False, config_file="zero2.yaml")
