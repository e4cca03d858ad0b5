"""End to end: `bench run --method currrl --profile tiny` on a few dozen amazon-instruments
records with the embedded SmolLM2 backbone (slow: minutes on 2 CPU cores)."""

import json
import os
from pathlib import Path

import pytest

DATA = Path(os.environ.get("ERBENCH_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))


@pytest.mark.slow
def test_currrl_tiny_pipeline(tmp_path, monkeypatch):
    if not (DATA / "amazon2014" / "reviews_Musical_Instruments_5.json.gz").exists():
        pytest.skip(f"amazon-instruments raw file not under {DATA}")
    monkeypatch.setenv("ERBENCH_DATA_DIR", str(DATA))
    from bench.config import resolve
    from bench.runner import execute

    cfg = resolve(
        "currrl", "amazon-instruments", profile="tiny",
        sets=[f"runs_dir={tmp_path / 'runs'}", "data.max_records=120", "model.stage_records=16",
              "model.stage1_steps=6", "eval.max_records=6"],
    )  # fmt: skip
    result = execute(cfg, quiet=True)
    run = result.run_dir
    assert (run / "DONE").exists()
    assert result.stages_run == ["1_judgment", "2_choose", "3a_dpo", "3b_explain"]
    preds = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 6
    assert all(1 <= p["rating"] <= 5 and isinstance(p["explanation"], str) for p in preds)
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    s1 = [r["reward_accuracy"] for r in log if r["stage"] == "1_judgment" and "reward_accuracy" in r]
    assert len(s1) == 6
    s3 = [r for r in log if r["stage"] == "3b_explain" and "reward_coherence" in r]
    assert s3 and {"reward_format", "reward_length", "reward_accuracy"} <= set(s3[0])
    names = {r["metric"] for r in result.rows}
    assert {"rmse", "mae"} <= names
    # --resume of a finished run reuses it; of a run missing DONE reloads every stage
    (run / "DONE").unlink()
    again = execute(cfg, resume=True, quiet=True)
    assert again.stages_reused == ["1_judgment", "2_choose", "3a_dpo", "3b_explain"]
    assert again.stages_run == []
