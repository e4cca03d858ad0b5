"""Dataset specs: registration, light import, where-to-put messages, yaml/spec agreement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.api.errors import DataError
from bench.api.registry import DATASETS
from bench.config import resolve
from bench.data.catalog import SPECS

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "amazon-baby", "amazon-sports", "amazon-clothing", "amazon-instruments", "amazon-books",
    "ml-100k", "ml-20m", "ml-32m", "bookcrossing", "xrec-amazon", "xrec-yelp", "xrec-google",
}  # fmt: skip
INSTRUMENTS_SHA = "03f9cc27ae13a454cb4ea6cb620fb10546cc1194ef921441d1c5f34addff2748"


def test_every_dataset_is_registered_with_a_summary():
    names = {s.name for s in SPECS}
    assert names == EXPECTED
    for spec in SPECS:
        entry = DATASETS.entry(spec.name)
        assert entry.target is spec
        assert entry.summary == spec.summary and spec.summary
        assert spec.url
        assert any(f.required for f in spec.files)


def test_importing_the_catalog_pulls_in_no_heavy_package():
    code = (
        "import sys, json, bench.data.catalog, bench.data\n"
        "from bench.api.registry import DATASETS\n"
        "heavy = [m for m in ('torch', 'pandas', 'recbole', 'numpy', 'transformers') if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'n': len(DATASETS.names())}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["n"] >= len(EXPECTED)


def test_instruments_spec_records_the_real_sha256():
    spec = DATASETS.get("amazon-instruments")
    reviews = spec.files[0]
    assert reviews.name == "reviews_Musical_Instruments_5.json.gz"
    assert reviews.sha256 == INSTRUMENTS_SHA
    assert spec.subdir == "amazon2014"
    meta = spec.files[1]
    assert meta.name == "meta_Musical_Instruments.json.gz" and not meta.required


def test_missing_files_name_the_expected_path_and_url(tmp_path):
    spec = DATASETS.get("amazon-sports")
    with pytest.raises(DataError) as err:
        spec.locate(tmp_path)
    message = str(err.value)
    assert str(tmp_path / "amazon2014" / "reviews_Sports_and_Outdoors_5.json.gz") in message
    assert (
        "http://snap.stanford.edu/data/amazon/productGraph/categoryFiles/reviews_Sports_and_Outdoors_5.json.gz"
        in message
    )
    assert "bench data prepare amazon-sports --raw DIR" in message
    assert "meta_" not in message.split("download:")[0]  # optional file is not demanded


def test_unknown_dataset_suggests_a_close_name():
    from bench.data.api import get_spec

    with pytest.raises(DataError, match="did you mean 'amazon-sports'"):
        get_spec("amazon-sport")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_dataset_yaml_agrees_with_the_spec(spec):
    cfg = resolve("any-method", spec.name)
    assert cfg.data.split == spec.split
    if spec.rating_scale is not None:
        assert cfg.data.rating_threshold == spec.rating_threshold
    if spec.has_profiles:
        assert cfg.data.profile_source == "given"
