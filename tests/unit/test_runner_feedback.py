"""The runner's wiring of run.log (third-party warnings) and --report-to (trackers)."""

from __future__ import annotations

import dataclasses
import warnings

import pytest

from bench.config import resolve
from bench.runner import execute
from tests.helpers import patch_synthetic_data


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    patch_synthetic_data(monkeypatch)
    return resolve("mf-bias", "ml-100k", sets=["eval.metrics=[rmse]", "model.max_epochs=5"],
                   overrides={"runs_dir": str(tmp_path / "runs")})  # fmt: skip


def test_a_library_warning_during_a_run_goes_to_run_log_not_the_terminal(cfg, monkeypatch, capsys):
    from baselines.mf_bias import MFBias

    fit = MFBias.fit

    def noisy_fit(self, splits):
        # attributed to a third-party module, as transformers' FutureWarnings are
        exec(compile("import warnings\nwarnings.warn('old API', FutureWarning)", "transformers/x.py", "exec"),
             {"__name__": "transformers.modeling_utils"})  # fmt: skip
        return fit(self, splits)

    monkeypatch.setattr(MFBias, "fit", noisy_fit)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        result = execute(cfg, quiet=True)
    assert "old API" not in capsys.readouterr().err
    assert "old API" in (result.run_dir / "run.log").read_text()


def test_report_to_sends_the_finished_run_to_the_tracker(cfg, tmp_path, monkeypatch):
    pytest.importorskip("mlflow", reason="mlflow-skinny not installed (pip install 'erbench[trackers]')")
    store = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    result = execute(dataclasses.replace(cfg, report_to=["mlflow"]), quiet=True)

    import mlflow

    client = mlflow.MlflowClient(store)
    [run] = client.search_runs([client.get_experiment_by_name("erbench").experiment_id])
    rmse = {r["metric"]: r["value"] for r in result.rows}["rmse"]
    assert run.info.run_name == result.run_id and run.data.metrics["test/rmse"] == pytest.approx(rmse)
    assert run.data.params["model.max_epochs"] == "5"
