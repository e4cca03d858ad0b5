"""Issue 25.6: an empty raw file (0 bytes, or an empty gzip) is an error naming the file and
"0 records" in `bench run`, `bench data info` and `bench data prepare` — never an empty load."""

from __future__ import annotations

import gzip
import json

import pytest

from bench.cli import main

REVIEWS = "amazon2014/reviews_Musical_Instruments_5.json.gz"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ERBENCH_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(params=["zero-bytes", "empty-gzip"])
def empty_reviews(request, tmp_path):
    path = tmp_path / "data" / REVIEWS
    path.parent.mkdir(parents=True)
    path.write_bytes(b"" if request.param == "zero-bytes" else gzip.compress(b""))
    return path


def one_error_line(capsys) -> str:  # noqa: ANN001
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_bench_run_names_the_empty_file(tmp_path, capsys, empty_reviews):
    argv = ["run", "--method", "mf-bias", "--dataset", "amazon-instruments", "--quiet",
            "--data-dir", str(tmp_path / "data"), "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert f"{empty_reviews}: 0 records" in line and "bench data download amazon-instruments" in line
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("mf-bias*"))


def test_data_info_is_not_ready(tmp_path, capsys, empty_reviews):
    code = main(["data", "info", "amazon-instruments", "--data-dir", str(tmp_path / "data")])
    out = capsys.readouterr()
    if empty_reviews.stat().st_size == 0:  # seen without reading: not ready
        info = json.loads(out.out)
        assert code == 0 and info["ready"] is False
        assert f"{empty_reviews}: the file is empty (0 bytes)" in info["empty"]
    else:  # an empty gzip has bytes: the count finds no record
        assert code == 2
        assert f"{empty_reviews}: 0 records" in out.err and len(out.err.strip().splitlines()) == 1


def test_data_prepare_installs_nothing(tmp_path, capsys, empty_reviews):
    raw = empty_reviews.parent
    argv = ["data", "prepare", "amazon-instruments", "--raw", str(raw),
            "--data-dir", str(tmp_path / "placed")]  # fmt: skip
    assert main(argv) == 2
    assert "0 records" in one_error_line(capsys)
    assert not (tmp_path / "placed" / REVIEWS).exists()


def test_a_file_whose_lines_are_all_skipped_says_so(tmp_path, capsys):
    path = tmp_path / "data" / REVIEWS
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(b"not json\nnor this\n"))
    argv = ["run", "--method", "mf-bias", "--dataset", "amazon-instruments", "--quiet",
            "--set", "data.on_bad_line=skip",
            "--data-dir", str(tmp_path / "data"), "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
    assert main(argv) == 2
    assert f"{path}: 0 records (2 line(s) read, 2 bad, 0 filtered)" in one_error_line(capsys)
