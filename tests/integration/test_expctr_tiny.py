"""`bench run --method expctr|tallrec|icl --dataset ml-100k --profile tiny` end to end (slow:
SmolLM2-135M on CPU; minutes each)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def _run(method: str, tmp_path, *sets: str):
    from bench.config import resolve
    from bench.runner import execute

    cfg = resolve(method, "ml-100k", profile="tiny", sets=[f"runs_dir={tmp_path}", *sets])
    return execute(cfg, quiet=True)


def _metric(result, name):
    return {r["metric"]: r["value"] for r in result.rows}.get(name)


def test_expctr_tiny_end_to_end(tmp_path):
    result = _run("expctr", tmp_path)
    assert result.stages_run == ["ctr_pretrain", "lc", "ctr_1", "ic_1", "ctr_final"]
    preds = [
        json.loads(line) for line in (result.run_dir / "predictions.jsonl").read_text().splitlines()
    ]
    assert len(preds) == 16
    for p in preds:
        assert 0 <= p["extras"]["ctr_llm"] <= 1 and 0 <= p["extras"]["ctr_aug"] <= 1
        assert p["ctr_score"] == p["extras"]["ctr_llm"] and p["explanation"] is not None
    assert _metric(result, "logloss") is not None
    log = [
        json.loads(line) for line in (result.run_dir / "train_log.jsonl").read_text().splitlines()
    ]
    assert {r["stage"] for r in log} >= {"lc", "ic_1"}
    assert all("lc_reward" in r for r in log if r["stage"] == "lc")
    assert all("ic_reward" in r for r in log if r["stage"] == "ic_1")


@pytest.mark.parametrize("method", ["tallrec", "icl"])
def test_llm_baselines_tiny(method, tmp_path):
    result = _run(method, tmp_path)
    assert _metric(result, "logloss") is not None
    preds = [
        json.loads(line) for line in (result.run_dir / "predictions.jsonl").read_text().splitlines()
    ]
    assert len(preds) == 48 and all(0 <= p["ctr_score"] <= 1 for p in preds)
