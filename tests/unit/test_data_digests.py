"""data_file_digests: the raw files a load reads, hashed once per (path, size, mtime)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from bench.config import DataConfig
from bench.data import data_file_digests, digests
from bench.data.spec import recbole_example_dir
from bench.errors import DataError


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ERBENCH_CACHE_DIR", str(tmp_path / "cache"))


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_digests_cover_required_and_present_optional_files_and_are_cached(tmp_path, monkeypatch):
    data = tmp_path / "data"
    _write(data / "amazon2014/reviews_Musical_Instruments_5.json.gz", b"reviews")
    _write(data / "amazon2014/meta_Musical_Instruments.json.gz", b"meta")
    cfg = DataConfig(data_dir=str(data))
    expected = {
        "meta_Musical_Instruments.json.gz": _sha(b"meta"),
        "reviews_Musical_Instruments_5.json.gz": _sha(b"reviews"),
    }
    assert data_file_digests("amazon-instruments", cfg) == expected  # nothing is parsed

    def no_hashing(path, chunk=0):  # noqa: ANN001, ANN202
        raise AssertionError(f"hashed {path} again")

    monkeypatch.setattr(digests, "sha256_file", no_hashing)
    assert data_file_digests("amazon-instruments", cfg) == expected


def test_a_changed_file_is_hashed_again(tmp_path):
    path = _write(tmp_path / "f.bin", b"one")
    assert digests.cached_sha256(path) == _sha(b"one")
    path.write_bytes(b"two!")
    os.utime(path, ns=(1, 1))  # a different size and mtime
    assert digests.cached_sha256(path) == _sha(b"two!")


def test_a_missing_required_file_raises_the_load_error(tmp_path):
    _write(tmp_path / "amazon2014/meta_Musical_Instruments.json.gz", b"meta")
    with pytest.raises(DataError, match="raw file\\(s\\) not found: reviews_Musical_Instruments_5"):
        data_file_digests("amazon-instruments", DataConfig(data_dir=str(tmp_path)))


def test_ml100k_digests_are_those_of_the_recbole_wheel_files(tmp_path):
    folder = recbole_example_dir("ml-100k")
    if folder is None:
        pytest.skip("recbole is not installed")
    found = data_file_digests("ml-100k", DataConfig(data_dir=str(tmp_path)))
    assert found["ml-100k.inter"] == _sha((folder / "ml-100k.inter").read_bytes())
    assert found["ml-100k.item"] == _sha((folder / "ml-100k.item").read_bytes())
