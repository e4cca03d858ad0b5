"""A baseline added by registration only: an installed distribution's entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.config import resolve
from bench.registry import METHODS
from bench.runner import execute
from tests.helpers import patch_synthetic_data

PLUGIN_SRC = Path(__file__).resolve().parents[1] / "fixtures" / "plugin"


def install_plugin(site: Path) -> None:
    """What pip leaves behind for a distribution: its module and a .dist-info with entry points."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "erbench_toy_plugin.py").write_text((PLUGIN_SRC / "erbench_toy_plugin.py").read_text())
    info = site / "erbench_toy_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: erbench-toy-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[bench.methods]\nitem-mean = erbench_toy_plugin:ItemMean\n")


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    install_plugin(site)
    monkeypatch.syspath_prepend(str(site))
    METHODS._plugins_loaded = False
    yield site
    METHODS.unregister("item-mean")
    METHODS._plugins_loaded = False


def test_plugin_method_is_registered_and_runs(plugin_site, tmp_path, monkeypatch):
    assert METHODS.entry("item-mean").origin == "erbench-toy-plugin"
    patch_synthetic_data(monkeypatch)
    cfg = resolve("item-mean", "ml-100k", sets=[f"runs_dir={tmp_path / 'runs'}", "eval.metrics=[rmse]", "model.shrink=1.0"])
    result = execute(cfg, quiet=True)
    rmse = {r["metric"]: r["value"] for r in result.rows}["rmse"]
    assert 0 < rmse < 1.0  # item means capture the synthetic item effect


def test_bench_ls_lists_plugin(plugin_site):
    env = {"PYTHONPATH": f"{plugin_site}{__import__('os').pathsep}{Path(__file__).resolve().parents[2]}"}
    out = subprocess.run(
        [sys.executable, "-m", "bench.cli", "ls", "methods"], capture_output=True, text=True,
        env={**__import__("os").environ, **env}, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert any(line.startswith("item-mean") and "erbench-toy-plugin" in line for line in out.stdout.splitlines())
