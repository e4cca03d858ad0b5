"""docs/python-api.md runs: its code blocks, in order, on synthetic stand-in data."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import patch_synthetic_data

DOC = Path(__file__).resolve().parents[2] / "docs" / "python-api.md"


def test_the_python_api_page_runs(tmp_path, monkeypatch):
    patch_synthetic_data(monkeypatch)
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 4
    scope: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), scope)  # noqa: S102 - our own documentation
    result, report, built = scope["result"], scope["report"], scope["built"]
    assert set(result.metrics) == {"rmse", "mae", "mae_std"} and result.metrics["rmse"] > 0
    assert [v.name for v in report.values] == ["rmse"]
    assert "| MF-bias" in built.text["md"] and "rmse" in built.text["csv"].lower()


def test_config_and_run_share_their_layers_and_refuse_a_misspelt_one(tmp_path):
    import pytest

    from bench import python_api as erbench

    layer = tmp_path / "layer.yaml"
    layer.write_text("model:\n  max_epochs: 7\n  lr: 0.2\n")
    cfg = erbench.config(
        "mf-bias", "ml-100k", config_file=layer, sets=["model.lr=0.3"], seed=4,
        overrides={"model": {"max_epochs": 9}},
    )  # fmt: skip
    assert (cfg.seed, cfg.model["lr"], cfg.model["max_epochs"]) == (4, 0.3, 9)
    for call in (erbench.config, erbench.run):
        with pytest.raises(TypeError, match="sead"):
            call("mf-bias", "ml-100k", sead=1)
