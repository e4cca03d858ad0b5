"""--report-to: tracker names, missing packages, hash, and what MLflow / TensorBoard receive."""

from __future__ import annotations

import pytest

from bench.api.config_keys import flatten
from bench.api.errors import BenchError, ConfigError
from bench.cli import build_parser, main
from bench.config import config_hash, resolve
from bench.trackers import TRACKERS, check_trackers, parse_report_to, report_run, tracker_key

RUN_ID = "peter__ml-100k__s0__abcd1234"
CONFIG = flatten({"method": "peter", "seed": 0, "model": {"lr": 0.001}, "eval": {"metrics": ["rmse", "usr"]}})
TRAIN_LOG = [
    {"stage": "peter", "step": 1, "time": 1_700_000_000.0, "train_loss": 2.5, "best": True},
    {"stage": "peter", "step": 2, "time": 1_700_000_001.0, "train_loss": 2.0, "best": False},
    {"stage": "dpo", "step": 1, "time": 1_700_000_002.0, "loss": 0.7},
]
METRIC_ROWS = [
    {"metric": "rmse", "value": 0.93, "split": "test"},
    {"metric": "bertscore_f1[all-MiniLM-L6-v2]", "value": 0.31, "split": "test"},
    {"metric": "gptscore", "value": None, "split": "test"},
]


def test_report_to_takes_comma_lists_and_rejects_unknown_names():
    assert parse_report_to(["mlflow,tensorboard", "none", " MLflow"]) == ["mlflow", "tensorboard"]
    with pytest.raises(ConfigError, match="unknown tracker 'mlfow' in report_to; choose from mlflow, tensorboard, wandb"):
        parse_report_to(["mlfow"])


def test_cli_report_to_reaches_the_config_but_not_the_run_hash(capsys):
    args = build_parser().parse_args(
        ["run", "--method", "peter", "--dataset", "ml-100k", "--report-to", "mlflow,tensorboard", "--report-to", "wandb"]
    )
    cfg = resolve("peter", "ml-100k", overrides={"report_to": args.report_to})
    assert cfg.report_to == ["mlflow", "tensorboard", "wandb"]
    assert config_hash(cfg) == config_hash(resolve("peter", "ml-100k"))
    assert main(["run", "--method", "peter", "--dataset", "ml-100k", "--report-to", "comet"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: unknown tracker 'comet' in report_to; choose from mlflow, tensorboard, wandb"
    )


def test_missing_tracker_package_is_one_line_naming_the_pip_package(monkeypatch):
    monkeypatch.setitem(TRACKERS, "wandb", ("no_such_tracker_module", "wandb"))
    with pytest.raises(BenchError, match=r"^--report-to wandb needs the Python package wandb: pip install wandb$"):
        check_trackers(["wandb"])


def test_metric_names_become_keys_every_tracker_accepts():
    assert tracker_key("bertscore_f1[all-MiniLM-L6-v2,bf16]") == "bertscore_f1/all-MiniLM-L6-v2/bf16"
    assert tracker_key("coh_accuracy[judge:gpt-4o]") == "coh_accuracy/judge_gpt-4o"


def test_mlflow_file_store_receives_config_train_log_and_metrics(tmp_path, monkeypatch):
    pytest.importorskip("mlflow", reason="mlflow-skinny not installed (pip install 'erbench[trackers]')")
    store = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps the file store opt-in
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    run_dir = tmp_path / "runs" / RUN_ID
    run_dir.mkdir(parents=True)

    report_run(["mlflow"], run_dir, CONFIG, TRAIN_LOG, METRIC_ROWS)

    import mlflow

    client = mlflow.MlflowClient(store)
    [run] = client.search_runs([client.get_experiment_by_name("erbench").experiment_id])
    assert run.info.run_name == RUN_ID
    assert run.data.params["model.lr"] == "0.001" and run.data.params["eval.metrics"] == "rmse,usr"
    assert run.data.metrics["test/rmse"] == pytest.approx(0.93)
    assert run.data.metrics["test/bertscore_f1/all-MiniLM-L6-v2"] == pytest.approx(0.31)
    assert "test/gptscore" not in run.data.metrics and "train/peter/best" not in run.data.metrics
    history = client.get_metric_history(run.info.run_id, "train/peter/train_loss")
    assert sorted((m.step, m.value) for m in history) == [(1, 2.5), (2, 2.0)]
    [dpo] = client.get_metric_history(run.info.run_id, "train/dpo/loss")
    assert (dpo.step, dpo.value, dpo.timestamp) == (1, 0.7, 1_700_000_002_000)


def test_tensorboard_event_file_holds_the_train_log_and_metrics(tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard not installed (pip install 'erbench[trackers]')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / RUN_ID
    report_run(["tensorboard"], run_dir, CONFIG, TRAIN_LOG, METRIC_ROWS)
    events = EventAccumulator(str(run_dir / "tensorboard")).Reload()
    assert [(e.step, e.value) for e in events.Scalars("train/peter/train_loss")] == [(1, 2.5), (2, 2.0)]
    assert events.Scalars("test/rmse")[0].value == pytest.approx(0.93)
