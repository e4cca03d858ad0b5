"""The classic baselines through the runner (`bench run` path) on synthetic data, tiny profile:
run folder, metrics rows for what each method produces, resume of a finished stage."""

from __future__ import annotations

import json

import pytest

from bench.config import resolve
from bench.runner import execute
from tests.helpers import patch_synthetic_data

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("method", ["peter", "att2seq"])
def test_runner_trains_predicts_and_scores(method, tmp_path, monkeypatch):
    patch_synthetic_data(monkeypatch)
    cfg = resolve(method, "ml-100k", profile="tiny",
                  sets=[f"runs_dir={tmp_path / 'runs'}", "eval.metrics=[rmse, bleu4_peter, usr]", "device=cpu"])
    result = execute(cfg, quiet=True)
    metrics = {r["metric"]: r["value"] for r in result.rows}
    assert "bleu4_peter" in metrics and "usr" in metrics
    assert ("rmse" in metrics) == (method == "peter")
    stage = result.run_dir / "stages" / method
    assert (stage / "DONE").exists() and (stage / "best.pt").exists()
    log = [json.loads(line) for line in (result.run_dir / "train_log.jsonl").read_text().splitlines()]
    assert log and all(row["stage"] == method for row in log)
    preds = [json.loads(line) for line in (result.run_dir / "predictions.jsonl").read_text().splitlines()]
    assert all(len(p["explanation"].split()) <= 15 for p in preds)
