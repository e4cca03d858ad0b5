"""data_file_digests: the raw files a load reads, hashed once per (path, inode, size, mtime, ctime)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from bench.api.errors import DataError
from bench.data import data_file_digests, digests
from bench.data.settings import DataConfig
from bench.data.spec import recbole_example_dir


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
    monkeypatch.setattr(digests, "RACY_NS", -1)  # files written just now count as settled
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


def test_an_in_place_edit_keeping_size_and_mtime_is_hashed_again(tmp_path, monkeypatch):
    # issue 25.7: the cache was keyed by (path, size, mtime); an edit that kept both kept the
    # old digest, so the old run id and the old sha in `bench data info`
    monkeypatch.setattr(digests, "RACY_NS", -1)  # even an entry trusted at once is not fooled
    path = _write(tmp_path / "f.bin", b"one")
    os.utime(path, ns=(5_000_000_000, 5_000_000_000))
    assert digests.cached_sha256(path) == _sha(b"one")
    with open(path, "r+b") as handle:  # same inode, same size
        handle.write(b"two")
    os.utime(path, ns=(5_000_000_000, 5_000_000_000))  # the mtime put back
    assert digests.cached_sha256(path) == _sha(b"two")


def test_a_file_changed_while_it_was_hashed_is_not_trusted(tmp_path):
    # git's racily-clean rule: on a filesystem whose timestamps are coarser than the edit, a
    # file changed just before hashing may keep its stamp, so its entry is not reused
    path = _write(tmp_path / "f.bin", b"one")
    assert digests.cached_sha256(path) == _sha(b"one")
    entry = digests._entry_path(path.resolve())
    stamp = digests._stamp(path.resolve())
    import json

    recorded = json.loads(entry.read_text())
    assert recorded["hashed_at_ns"] - stamp["ctime_ns"] <= digests.RACY_NS
    recorded["sha256"] = "0" * 64  # what a racy entry could hold
    entry.write_text(json.dumps(recorded))
    assert digests.cached_sha256(path) == _sha(b"one")


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
