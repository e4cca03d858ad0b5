"""Run folders end to end on a synthetic dataset: files, atomicity, kill + resume, store."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from bench.api.errors import BenchError
from bench.api.run_folder import atomic_write_text
from bench.config import resolve
from bench.results import ResultsStore, default_store_path
from bench.runner import execute
from tests.helpers import patch_synthetic_data


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    patch_synthetic_data(monkeypatch)
    return resolve("mf-bias", "ml-100k", sets=[f"runs_dir={tmp_path / 'runs'}", "eval.metrics=[rmse, mae]"])


def test_run_writes_the_documented_folder(cfg):
    result = execute(cfg, quiet=True)
    names = {p.name for p in result.run_dir.iterdir()}
    assert {"config.resolved.yaml", "provenance.json", "splits.json", "predictions.jsonl",
            "per_example.jsonl", "metrics.json", "train_log.jsonl", "DONE", "stages"} <= names  # fmt: skip
    assert result.run_dir.name.startswith("mf-bias__ml-100k__s0__")
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["schema_version"] == 1
    row = {r["metric"]: r for r in metrics["rows"]}["rmse"]
    assert set(row) == {"run_id", "method", "dataset", "split", "seed", "metric", "value", "n",
                        "higher_is_better", "metric_version"}  # fmt: skip
    assert row["higher_is_better"] is False and row["n"] == len(
        (result.run_dir / "predictions.jsonl").read_text().splitlines()
    )
    prov = json.loads((result.run_dir / "provenance.json").read_text())
    assert {"git", "packages", "device", "seed", "data"} <= set(prov)
    assert prov["records"]["test"] == row["n"]
    assert {"fit", "predict", "score"} <= set(prov["seconds"]) and "rating" in prov["seconds"]["score_by_metric"]


def test_mf_bias_beats_the_global_mean(cfg):
    result = execute(cfg, quiet=True)
    preds = [json.loads(line) for line in (result.run_dir / "predictions.jsonl").read_text().splitlines()]
    truth = np.array([p["rating_true"] for p in preds])
    rmse = {r["metric"]: r["value"] for r in result.rows}["rmse"]
    # the global mean of the test truth itself is a generous reference
    assert rmse < float(np.sqrt(np.mean((truth - truth.mean()) ** 2)))
    assert rmse == pytest.approx(float(np.sqrt(np.mean((np.array([p["rating"] for p in preds]) - truth) ** 2))))


def test_finished_run_is_reused_not_recomputed(cfg):
    first = execute(cfg, quiet=True)
    second = execute(cfg, quiet=True)
    assert second.reused and second.rows == first.rows


def test_killed_run_leaves_no_metrics_and_resumes_from_last_stage(cfg, monkeypatch):
    from baselines.mf_bias import MFBias

    def killed(self, records):
        raise KeyboardInterrupt  # the process dies after training, before predictions

    monkeypatch.setattr(MFBias, "predict", killed)
    with pytest.raises(KeyboardInterrupt):
        execute(cfg, quiet=True)
    run_dir = next((cfg_runs := __import__("pathlib").Path(cfg.runs_dir)).glob("mf-bias__*"))
    assert (run_dir / "stages" / "train" / "DONE").exists()
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "DONE").exists()
    assert ResultsStore(default_store_path(cfg_runs)).rows() == []
    with pytest.raises(BenchError, match="--resume"):
        execute(cfg, quiet=True)

    monkeypatch.undo()
    patch_synthetic_data(monkeypatch)
    result = execute(cfg, resume=True, quiet=True)
    assert result.stages_reused == ["train"] and result.stages_run == []
    assert (run_dir / "DONE").exists()
    assert {r.metric for r in ResultsStore(default_store_path(cfg_runs)).rows()} >= {"rmse", "mae"}


def test_atomic_write_keeps_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    atomic_write_text(target, "old")

    def boom(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new" * 1000)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp file left


def test_results_store_rebuilds_from_run_folders(cfg, tmp_path):
    execute(cfg, quiet=True)
    other = resolve("mf-bias", "ml-100k", seed=1, sets=[f"runs_dir={cfg.runs_dir}", "eval.metrics=[rmse, mae]"])
    execute(other, quiet=True)
    path = default_store_path(cfg.runs_dir)
    before = [(r.run_id, r.metric, r.value) for r in ResultsStore(path).rows()]
    path.unlink()
    runs, rows = ResultsStore(path).rebuild(cfg.runs_dir)
    after = [(r.run_id, r.metric, r.value) for r in ResultsStore(path).rows()]
    assert runs == 2 and rows == len(before) and sorted(after) == sorted(before)
    assert {r.seed for r in ResultsStore(path).rows()} == {0, 1}


def test_unknown_model_param_is_rejected(cfg):
    cfg.model = {"factorz": 3}
    with pytest.raises(BenchError, match="model.factorz"):
        execute(cfg, quiet=True)


def test_threads_apply_to_the_run_only_and_leave_the_hash_alone(cfg):
    import dataclasses

    import torch

    from bench.config import config_hash

    before = torch.get_num_threads()
    one = dataclasses.replace(cfg, threads=1)
    assert config_hash(one) == config_hash(cfg)  # same results, same run folder
    result = execute(one, quiet=True)
    assert torch.get_num_threads() == before  # restored for the caller
    prov = json.loads((result.run_dir / "provenance.json").read_text())
    assert prov["device"]["torch_threads"] == 1


def test_a_reused_run_is_recorded_as_the_default_once_its_settings_become_the_defaults(cfg, tmp_path, monkeypatch):
    import dataclasses

    from bench import identity

    ablation = dataclasses.replace(cfg, model={**cfg.model, "factors": 4})
    first = execute(ablation, quiet=True)
    prov = first.run_dir / "provenance.json"
    assert json.loads(prov.read_text())["changed_from_defaults"]["model.factors"] == 8
    today = identity.default_config

    def factors_4_is_the_default(method, dataset, profile):  # as if the yaml's profile moved to it
        return {**today(method, dataset, profile), "model.factors": 4}

    rescored = json.loads(prov.read_text())  # as `bench score --set eval.x=...` records it
    rescored["changed_from_defaults"]["eval.rescored_key"] = "its default"
    prov.write_text(json.dumps(rescored))
    monkeypatch.setattr(identity, "default_config", factors_4_is_the_default)
    again = execute(ablation, quiet=True)
    recorded = json.loads(prov.read_text())
    assert again.reused and again.run_dir == first.run_dir
    assert "model.factors" not in recorded["changed_from_defaults"]
    assert {"eval.metrics", "eval.rescored_key"} <= set(recorded["changed_from_defaults"])  # kept as recorded
    assert recorded["defaults_rerecorded"][0]["changed_from_defaults_before"]["model.factors"] == 8
    stored = ResultsStore(default_store_path(cfg.runs_dir)).runs()
    assert [r["changed_from_defaults"] for r in stored] == [recorded["changed_from_defaults"]]
