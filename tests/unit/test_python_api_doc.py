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
