"""Issue 25.8: a run that skipped bad lines (data.on_bad_line=skip) said so nowhere on screen;
the printed result now names how its data differs from the dataset spec."""

from __future__ import annotations

import json
from types import SimpleNamespace

from bench.cli import print_run_result


def result(run_dir):  # noqa: ANN001, ANN201
    return SimpleNamespace(run_id=run_dir.name, run_dir=run_dir, reused=False, unavailable={},
                           rows=[{"metric": "rmse", "value": 0.9, "n": 20, "higher_is_better": False}])  # fmt: skip


def test_skipped_lines_and_another_file_are_shown_with_the_result(tmp_path, capsys):
    run_dir = tmp_path / "mf-bias__amazon-instruments__s0__abc"
    run_dir.mkdir()
    data = {"bad_lines": 2, "sha256_mismatches": ["/d/amazon2014/reviews_Musical_Instruments_5.json.gz"]}
    (run_dir / "provenance.json").write_text(json.dumps({"data": data}))
    print_run_result(result(run_dir))
    out = " ".join(capsys.readouterr().out.split())
    assert "modified data 2 bad or duplicate line(s) skipped (--on-bad-line skip)" in out
    assert "modified data reviews_Musical_Instruments_5.json.gz: sha256 differs from the dataset spec" in out


def test_a_run_on_the_spec_data_says_nothing_more(tmp_path, capsys):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "provenance.json").write_text(json.dumps({"data": {"bad_lines": 0, "sha256_mismatches": []}}))
    print_run_result(result(run_dir))
    assert "modified data" not in capsys.readouterr().out
