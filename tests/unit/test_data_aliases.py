"""The papers' short dataset names resolve to the canonical ones in one place (the catalog)."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from bench.api.errors import DataError
from bench.cli import main
from bench.data import canonical_dataset, data_file_digests, load_dataset
from bench.data.api import get_spec
from bench.data.settings import DataConfig

PAPER_NAMES = {
    "sports": "amazon-sports",
    "baby": "amazon-baby",
    "clothing": "amazon-clothing",
    "instruments": "amazon-instruments",
    "books": "amazon-books",
}


def test_each_alias_resolves_to_its_canonical_name():
    for alias, name in PAPER_NAMES.items():
        assert canonical_dataset(alias) == name
        assert canonical_dataset(name) == name
        assert get_spec(alias).name == name
    assert canonical_dataset("ml-100k") == "ml-100k"


@pytest.mark.parametrize(
    ("typo", "hint"),
    [("sprots", "did you mean 'sports' (amazon-sports)"),
     ("amazon-sport", "did you mean 'amazon-sports'")],
)  # fmt: skip
def test_an_unknown_name_still_says_did_you_mean(typo, hint):
    with pytest.raises(DataError, match=re.escape(f"unknown dataset '{typo}'; {hint}")):
        canonical_dataset(typo)


def test_loads_and_digests_under_an_alias_use_the_canonical_name(tmp_path, monkeypatch):
    monkeypatch.setenv("ERBENCH_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "amazon2014" / "reviews_Musical_Instruments_5.json.gz"
    path.parent.mkdir()
    line = {"reviewerID": "U1", "asin": "I1", "overall": 5.0, "reviewText": "Good strings.",
            "unixReviewTime": 1400000000}  # fmt: skip
    path.write_bytes(gzip.compress(json.dumps(line).encode() + b"\n"))
    cfg = DataConfig(data_dir=str(tmp_path))
    with pytest.warns(UserWarning):  # a tiny file is not the spec's release
        loaded = load_dataset("instruments", cfg)
    assert loaded.name == "amazon-instruments" and loaded.report.dataset == "amazon-instruments"
    assert list(data_file_digests("instruments", cfg)) == ["reviews_Musical_Instruments_5.json.gz"]


def test_bench_ls_datasets_shows_the_aliases(capsys):
    assert main(["ls", "datasets"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    for alias, name in PAPER_NAMES.items():
        assert rows[name].endswith(f"(alias: {alias})")
    assert "alias" not in rows["ml-100k"]
