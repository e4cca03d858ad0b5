"""bench score RUN: rescoring keeps the rows it did not rescore and records what it did."""

from __future__ import annotations

import json

import pytest
import yaml

from bench.api.metrics_file import SCHEMA_VERSION, MetricsFile
from bench.cli import main
from bench.rescore import rescore_run
from bench.results import ResultsStore, default_store_path


@pytest.fixture
def run(tmp_path):
    run = tmp_path / "m__d__s0__abc"
    run.mkdir()
    rows = [
        {"idx": i, "user_id": "u", "item_id": f"i{i}", "rating_true": 5.0, "label": 1, "reference": "r",
         "feature_true": None, "rating": r, "ctr_score": None, "explanation": e, "extras": {}}
        for i, (r, e) in enumerate([(4.0, "good tone"), (5.0, "good tone")])
    ]  # fmt: skip
    (run / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "config.resolved.yaml").write_text("method: m\ndataset: d\nseed: 0\n")
    info = {"run_id": run.name, "method": "m", "dataset": "d", "seed": 0, "cfg_hash": "abc"}
    MetricsFile(info).write(run)
    (run / "provenance.json").write_text('{"seed": 0}')
    (run / "DONE").write_text("")
    return run


def test_rescoring_one_metric_keeps_the_others_and_records_it(run):
    first = rescore_run(run, {"metrics": ["rmse", "mae"]})
    assert first.as_dict()["mae"] == pytest.approx(0.5)
    rescore_run(run, {"metrics": ["usr", "rouge1_f_peter"]})
    data = json.loads((run / "metrics.json").read_text())
    assert data["schema_version"] == SCHEMA_VERSION and data["run"]["method"] == "m"
    by = {r["metric"]: r for r in data["rows"]}
    assert by["mae"]["value"] == pytest.approx(0.5) and by["usr"]["value"] == pytest.approx(0.5)
    per_example = [json.loads(x) for x in (run / "per_example.jsonl").read_text().splitlines()]
    assert [set(r) for r in per_example] == [{"idx", "mae", "rouge1_f_peter"}] * 2
    assert yaml.safe_load((run / "config.resolved.yaml").read_text())["eval"]["metrics"] == ["usr", "rouge1_f_peter"]
    history = json.loads((run / "provenance.json").read_text())["rescored"]
    assert [h["eval_overrides"] for h in history] == [{"metrics": ["rmse", "mae"]}, {"metrics": ["usr", "rouge1_f_peter"]}]
    assert sorted(history[1]["metrics"]) == ["rouge1_f_peter", "rouge1_f_peter_std", "usr"] and "at" in history[1]
    stored = {r.metric for r in ResultsStore(default_store_path(run.parent)).rows()}
    assert {"rmse", "mae", "usr", "rouge1_f_peter"} <= stored


def test_bench_score_rejects_a_bad_eval_key_before_loading_data(run, capsys):
    assert main(["score", str(run), "--set", "eval.rouge_stemmer=true"]) == 2
    assert "eval.rouge_stemmer" in capsys.readouterr().err
    assert "rescored" not in json.loads((run / "provenance.json").read_text())


def test_rescoring_keeps_the_record_of_changed_settings_true(run):
    from bench.config import to_dict
    from metrics.settings import EvalConfig

    saved = {"method": "m", "dataset": "d", "seed": 0, "eval": to_dict(EvalConfig(metrics=["usr"]))}
    (run / "config.resolved.yaml").write_text(yaml.safe_dump(saved))
    (run / "provenance.json").write_text('{"changed_from_defaults": {"model.lr": 0.1}}')
    rescore_run(run, {"metrics": ["mae"]})
    changed = json.loads((run / "provenance.json").read_text())["changed_from_defaults"]
    assert changed == {"model.lr": 0.1, "eval.metrics": ["usr"]}
    rescore_run(run, {"metrics": ["usr"]})  # back at the default: no longer a change
    assert json.loads((run / "provenance.json").read_text())["changed_from_defaults"] == {"model.lr": 0.1}
    stored = ResultsStore(default_store_path(run.parent)).runs()[0]
    assert stored["changed_from_defaults"] == {"model.lr": 0.1} and stored["config"]["eval.metrics"] == ["usr"]


def test_bench_score_refuses_a_live_run(run, capsys):
    # issue 25.8: `bench score RUN` took no run lock, so it could rewrite metrics.json while a
    # --resume of the same run was writing it
    from bench.runlock import run_lock

    before = (run / "metrics.json").read_bytes()
    with run_lock(run):
        assert main(["score", str(run), "--set", "eval.metrics=[mae]"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"run {run.name} is running in pid" in err[0]
    assert (run / "metrics.json").read_bytes() == before
