"""The command line: user mistakes are one line on stderr and exit 2; runs print a table."""

from __future__ import annotations

import subprocess
import sys

from bench.cli import main
from tests.helpers import patch_synthetic_data


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, timeout=300)


def test_unknown_method_is_one_line_with_suggestion():
    out = run_cli("run", "--method", "petr", "--dataset", "ml-100k")
    assert out.returncode == 2
    assert out.stderr.strip().startswith("error: unknown method 'petr'; did you mean 'peter', 'peter+'")
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_bad_set_key_is_one_line():
    out = run_cli("run", "--method", "mf-bias", "--dataset", "ml-100k", "--set", "data.bogus=1")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1
    assert "data.bogus" in out.stderr


def test_run_prints_metric_table_and_results_lists_rows(tmp_path, monkeypatch, capsys):
    patch_synthetic_data(monkeypatch)
    runs = str(tmp_path / "runs")
    assert main(["run", "--method", "mf-bias", "--dataset", "ml-100k", "--runs-dir", runs, "--quiet",
                 "--set", "eval.metrics=[rmse, mae]"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "mf-bias__ml-100k__s0__" in out and "rmse" in out and "mae" in out
    assert main(["results", "--runs-dir", runs]) == 0
    listed = capsys.readouterr().out
    metrics = {line.split()[3] for line in listed.splitlines()}
    assert {"rmse", "mae"} <= metrics and all(m.split("_std")[0] in {"rmse", "mae"} for m in metrics)
    assert main(["results", "--runs-dir", runs, "rebuild"]) == 0
    assert f"1 runs, {len(listed.splitlines())} metric rows" in capsys.readouterr().out


def test_score_pairs_json(tmp_path, capsys):
    import json

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "\n".join(json.dumps({"prediction": p, "reference": r, "uid": 1}) for p, r in
                  [("the tone is great", "great tone"), ("the tone is great", "cheap strings")])  # fmt: skip
        + "\n"
    )
    assert main(["score", "--pairs", str(pairs), "--json", "--set", "eval.metrics=[usr,gptscore,bleurt]"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 2 and out["metrics"] == {"usr": 0.5}  # 1 distinct of 2 predictions
    # what could not be computed stays in the output, with the reason, for scripts to see
    assert sorted(out["unavailable"]) == ["bleurt", "gptscore", "gptscore_unparseable"]
    assert "eval.judge_base_url" in out["unavailable"]["gptscore"]
    assert "eval.bleurt_checkpoint" in out["unavailable"]["bleurt"]


def test_score_rejects_non_eval_keys(capsys):
    assert main(["score", "--pairs", "x.jsonl", "--set", "model.lr=1"]) == 2
    assert "only eval.*" in capsys.readouterr().err
