"""The plugin guide (docs/extending.md), exercised: docs/examples/erbench-example installed as pip would
(its modules and a .dist-info with the entry points of its pyproject.toml) adds a method with
its own yaml and profiles, a metric and a dataset with its own loader, editing nothing in erbench."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bench.api.registry import DATASETS, LOADERS, METHODS, METRICS
from bench.config import resolve
from tests.plugins import install_distribution, plugins_from

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "erbench-example"
RUN_IDS = json.loads((ROOT / "tests" / "fixtures" / "run_ids.json").read_text(encoding="utf-8"))


def install_example(site: Path) -> None:
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    shutil.copytree(EXAMPLE / "erbench_example", site / "erbench_example")
    install_distribution(site, project["name"], {}, project["entry-points"])


@pytest.fixture
def example(tmp_path, monkeypatch):
    site = tmp_path / "site"
    install_example(site)
    with plugins_from(site, monkeypatch):
        yield site


def write_toy_ratings(data_dir: Path) -> None:
    """20 users x 10 items; item k is rated about 1 + 4k/9."""
    rng = random.Random(0)
    lines = [
        f"u{u}\ti{k}\t{min(5, max(1, round(1 + 4 * k / 9 + rng.gauss(0, 0.4))))}\n"
        for u in range(20) for k in rng.sample(range(10), 6)
    ]  # fmt: skip
    (data_dir / "toy-ratings").mkdir(parents=True)
    (data_dir / "toy-ratings" / "ratings.tsv").write_text("".join(lines), encoding="utf-8")


def test_the_example_registers_a_method_metric_dataset_and_loader(example):
    assert METHODS.entry("item-mean").origin == "erbench-example"
    assert METHODS.declared("item-mean")["produces"] == ["explanation", "rating"]
    assert METRICS.declared("explanation_length")["needs"] == ["explanation"]
    assert DATASETS.declared("toy-ratings")["aliases"] == ("toy",)
    assert LOADERS.get("tsv-ratings").__module__ == "erbench_example.toy_ratings"


def test_the_example_runs_with_its_own_profile_and_dataset(example, tmp_path):
    from bench.runner import execute

    write_toy_ratings(tmp_path / "data")
    cfg = resolve("item-mean", "toy", profile="tiny", overrides={
        "runs_dir": str(tmp_path / "runs"), "data": {"data_dir": str(tmp_path / "data")}})  # fmt: skip
    assert cfg.dataset == "toy-ratings" and cfg.model == {"shrink": 0.0}  # the plugin's tiny profile
    assert cfg.eval.metrics == ["rmse", "explanation_length"]
    values = {r["metric"]: r["value"] for r in execute(cfg, quiet=True).rows}
    assert 0 < values["rmse"] < 1.0  # item means capture the item effect
    assert values["explanation_length"] == 5.0  # "others rated it 4.2 stars"


def test_the_example_metric_brings_its_own_setting(example):
    from bench.config import config_hash
    from bench.identity import effective_config
    from metrics.settings import EvalConfig

    cfg = resolve("mf-bias", "ml-100k", sets=["eval.explanation_length.unit=characters"])
    assert cfg.eval.explanation_length_unit == "characters"  # stored flat, as every eval key
    assert resolve("mf-bias", "ml-100k", sets=["eval.explanation_length_unit=characters"]).eval == cfg.eval
    metric = METRICS.get("explanation_length")(EvalConfig(explanation_length_unit="characters"))
    assert metric.settings_classes[0].of(metric.eval_cfg).explanation_length_unit == "characters"
    # installing the plugin renames no run: its key enters the hash only when set
    default = resolve("mf-bias", "ml-100k")
    assert config_hash(effective_config(default)[0]) != config_hash(effective_config(cfg)[0])
    golden = [c for c in RUN_IDS if c["method"] == "mf-bias" and c["profile"] is None][0]
    plain = resolve("mf-bias", golden["dataset"])
    assert config_hash(effective_config(plain)[0], {"ratings.jsonl": "0" * 64}) == golden["hash"]


def test_bench_ls_lists_the_example(example):
    env = {**os.environ, "PYTHONPATH": f"{example}{os.pathsep}{ROOT}"}
    out = subprocess.run([sys.executable, "-m", "bench.cli", "ls", "metrics"], capture_output=True,
                         text=True, env=env, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert any(
        line.startswith("explanation_length") and "[erbench-example]" in line
        for line in out.stdout.splitlines()
    )
