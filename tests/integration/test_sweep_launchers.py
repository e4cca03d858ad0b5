"""`bench sweep --launcher local|slurm`: cells as submitit jobs, each a normal `bench run`.

End to end with submitit's local executor on the fixture data (MF-bias, two seeds, and a
cell that fails at run time): two jobs at a time, the failure reported with its log, the
store indexed by the sweep alone, finished cells skipped on the next sweep. Slurm cannot
run here: its job parameters are checked through submitit's own sbatch writer.
Each job is a fresh Python process (torch import): ~11-20 s for the end-to-end test on 2
cores; the others take well under a second.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench import cluster
from bench.cli import main

FIXTURE_DATA = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "tiny"

SPEC = """\
name: launcher-check
title: MF-bias on the fixture data, and a cell that fails when it runs
kind: table
datasets: [amazon-baby]
seeds: 2
columns:
  - {id: rmse, metric: rmse, label: RMSE, decimals: 4, higher_is_better: false}
rows:
  - {id: mf-bias, method: mf-bias, label: MF-bias}
  - {id: broken, method: mf-bias, label: broken, set: {data.split: bogus}}  # resolved when the data loads, after the preflight
"""


def _sweep(spec: Path, runs: Path, *extra: str) -> int:
    return main(["sweep", "--spec", str(spec), "--runs-dir", str(runs), "--data-dir", str(FIXTURE_DATA),
                 "--set", "eval.metrics=[rmse]", "--set", "model.max_epochs=5", "--seeds", "1", *extra])  # fmt: skip


def test_local_launcher_runs_cells_as_jobs_and_reports_failures(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    runs = tmp_path / "runs"
    assert _sweep(spec, runs, "--launcher", "local", "--max-parallel", "2") == 1
    err = capsys.readouterr().err.strip().splitlines()
    last = err[-1]
    assert last.startswith("sweep: 1 run, 0 already done, 0 skipped (unavailable), 1 failed — mf-bias__amazon-baby__s0__")
    log = Path(last.rsplit("(log: ", 1)[1].rstrip(")"))
    assert log.exists() and log.is_relative_to(runs / ".sweep-logs")
    assert "error: " in log.read_text() or "Error" in log.read_text()  # the cell's own error is in its log
    done = sorted(p.parent.name for p in runs.glob("*/DONE"))
    assert len(done) == 1
    with sqlite3.connect(runs / "results.sqlite") as db:  # indexed by the sweep from the folder
        assert [r[0] for r in db.execute("SELECT run_id FROM runs")] == done
    # again without the broken row: the finished cell is skipped, no job is submitted
    spec.write_text(SPEC.split("  - {id: broken")[0])
    assert _sweep(spec, runs, "--launcher", "local", "--max-parallel", "2") == 0
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "sweep: 0 run, 1 already done, 0 skipped (unavailable), 0 failed")
    assert len(list((runs / ".sweep-logs" / "erbench-launcher-check").glob("*/*_log.err"))) == 2


def test_every_cell_is_checked_before_any_job_starts(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("datasets: [amazon-baby]", "datasets: [amazon-baby, amazon-sports]"))
    runs = tmp_path / "runs"
    assert _sweep(spec, runs, "--launcher", "local") == 2
    assert "sweep not started: 2 cell(s)" in capsys.readouterr().err
    assert not (runs / ".sweep-logs").exists()


def test_cell_command_names_the_planned_cell(tmp_path, capsys):
    from bench.sweep import plan
    from leaderboards.commands import get_spec

    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    sets = ("eval.metrics=[rmse]",)
    planned = plan(get_spec(str(spec)), seeds=1, sets=sets, runs_dir=tmp_path, data_dir=str(FIXTURE_DATA))
    command = cluster.CellCommand(profile=None, sets=sets, data_dir=str(FIXTURE_DATA))
    for cell in planned:
        argv = command.argv(cell)
        assert argv[-2:] == ["--set", *cell.row.set_args()] or not cell.row.sets
        assert main([*argv, "--dry-run"]) == 0
        assert capsys.readouterr().out.splitlines()[0].startswith(f"# run {cell.run_id}: new")
    assert command.argv(planned[0], gpus=4)[-4:] == ["--launcher", "accelerate", "--num-processes", "4"]


def test_slurm_parameters_are_valid_sbatch():
    from submitit.slurm.slurm import _make_sbatch_string

    options = cluster.ClusterOptions(launcher="slurm", max_parallel=3, gpus_per_cell=2, partition="gpu",
                                     timeout_min=90, cpus_per_cell=16, slurm_options={"account": "lab"})  # fmt: skip
    text = _make_sbatch_string(command="bench", folder="/tmp/x/%j", **cluster.slurm_parameters(options, "erbench-t"))
    for line in ("#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=2", "#SBATCH --time=90",
                 "#SBATCH --cpus-per-task=16", "#SBATCH --account=lab", "#SBATCH --job-name=erbench-t"):  # fmt: skip
        assert line in text
    assert cluster.slurm_parameters(options, "n")["array_parallelism"] == 3


def test_launcher_flags_are_checked(tmp_path, capsys):
    assert main(["sweep", "--spec", "reference-rows", "--partition", "gpu", "--runs-dir", str(tmp_path)]) == 2
    assert "need --launcher local or slurm" in capsys.readouterr().err
    assert main(["sweep", "--spec", "reference-rows", "--launcher", "local", "--max-parallel", "0",
                 "--runs-dir", str(tmp_path)]) == 2  # fmt: skip


@pytest.mark.parametrize("slots,gpus,expected", [(2, 0, [(), ()]), (2, 2, [(0, 1), (2, 3)])])
def test_each_running_local_cell_gets_its_own_gpus(slots, gpus, expected):
    options = cluster.ClusterOptions(launcher="local", max_parallel=slots, gpus_per_cell=gpus)
    assert cluster._gpu_slots(options) == expected


def test_submitit_logs_to_the_stderr_of_the_moment(monkeypatch):
    """submitit binds sys.stderr at import; a stream closed since (pytest's capture) crashed
    the interpreter when a job's __del__ logged. Its log follows the current sys.stderr."""
    import io

    first, now = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    cluster._submitit()
    first.close()
    monkeypatch.setattr("sys.stderr", now)
    import logging

    logging.getLogger("submitit").warning("job 7 cancelled")
    assert now.getvalue().strip().endswith("job 7 cancelled")


def test_importing_submitit_leaves_open_log_handlers_open():
    """submitit's import-time dictConfig closed every open handler (run.log's, absl's: under
    pytest that was the capture stream, and the run died). A fresh process, as the import
    happens once."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SUBMITIT_LOG_LEVEL"}  # set by _submitit here
    code = (
        "import logging\nclosed = []\nclass H(logging.Handler):\n    def close(self): closed.append(1)\n"
        "logging.getLogger().addHandler(H())\nfrom bench.cluster import _submitit\n_submitit()\n"
        "print(bool(closed))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2], env=env)  # fmt: skip
    assert done.stdout.strip() == "False", done.stderr
