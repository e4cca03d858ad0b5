"""`bench compare`: two synthetic run folders, numbers checked by hand."""

from __future__ import annotations

import json
import math

import pytest

from bench.cli import main
from metrics.significance import paired_bootstrap
from tests.fixtures.leaderboards.synthetic import write_run

INST = "amazon-instruments"
MAE_A, MAE_B = [1.0, 2.0, 3.0, 4.0], [0.5, 2.0, 2.0, 3.0]  # differences 0.5, 0, 1, 1
BERT_A, BERT_B = [0.75, 0.5, 0.25, 1.0], [0.5, 0.25, 0.0, 0.75]  # every difference 0.25 (exact)


@pytest.fixture
def runs(tmp_path):
    """Two methods on the same 4 test records (same dataset and seed), plus a run on 2 of them."""
    a = write_run(tmp_path, "peter", INST, 0, n_test=4, metrics={
        "mae": (2.5, MAE_A), "bertscore_f1[roberta-large]": (0.625, BERT_A),
        "bleu4_peter": 1.5, "usr": 0.4,
    })  # fmt: skip
    b = write_run(tmp_path, "currrl", INST, 0, n_test=4, metrics={
        "mae": (1.875, MAE_B), "bertscore_f1[roberta-large]": (0.375, BERT_B),
        "bleu4_peter": 1.2, "div": 2.0,
    })  # fmt: skip
    small = write_run(tmp_path, "nrt", INST, 0, n_test=4, records=[0, 1], metrics={"mae": 0.5})
    return tmp_path, a, b, small


def test_compare_json_hand_checked(runs, capsys):
    runs_dir, a, b, _ = runs
    assert main(["compare", str(a), b.name, "--runs-dir", str(runs_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_records"] == 4
    by_name = {m["metric"]: m for m in out["metrics"]}
    assert sorted(by_name) == ["bertscore_f1[roberta-large]", "bleu4_peter", "mae"]
    assert (out["only_in_a"], out["only_in_b"]) == (["usr"], ["div"])

    mae = by_name["mae"]
    assert (mae["a"], mae["b"], mae["diff"], mae["n"]) == (2.5, 1.875, 0.625, 4)
    # differences d = 0.5, 0, 1, 1: mean 0.625, sd sqrt(0.6875/3) = 0.47871, t = 0.625/(sd/2)
    # = 2.6112 on 3 df; with the t3 CDF 1/2 + (x/(sqrt3 (1 + x^2/3)) + atan(x/sqrt3))/pi,
    # p = 2 (1 - F(2.6112)) = 0.0796
    t = 0.625 / (math.sqrt(0.6875 / 3) / 2)
    cdf = 0.5 + (t / (math.sqrt(3) * (1 + t * t / 3)) + math.atan(t / math.sqrt(3))) / math.pi
    assert t == pytest.approx(2.6112, abs=1e-4)
    assert mae["p_ttest"] == pytest.approx(2 * (1 - cdf), rel=1e-9)
    assert mae["p_ttest"] == pytest.approx(0.0796, abs=1e-4)
    boot = paired_bootstrap(MAE_A, MAE_B, n_resamples=1000, seed=0)
    assert (mae["ci_low"], mae["ci_high"]) == (boot.low, boot.high)
    assert 0.0 <= mae["ci_low"] < 0.625 < mae["ci_high"] <= 1.0  # inside [min d, max d]

    bert = by_name["bertscore_f1[roberta-large]"]
    assert bert["diff"] == 0.25
    # every difference is 0.25: so is every resample's mean, and the t-test has no variance
    assert (bert["ci_low"], bert["ci_high"], bert["p_ttest"]) == (0.25, 0.25, 0.0)

    bleu = by_name["bleu4_peter"]  # corpus-level: a difference, no test
    assert bleu["diff"] == pytest.approx(0.3)
    assert (bleu["n"], bleu["p_ttest"], bleu["ci_low"], bleu["ci_high"]) == (None, None, None, None)


def test_compare_text_and_metric_filter(runs, capsys):
    runs_dir, a, b, _ = runs
    args = ["compare", str(a), str(b), "--metric", "bleu4_peter", "--metric", "mae", "--metric", "usr"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "both scored on the same 4 test records" in out
    mae = next(line for line in out.splitlines() if line.startswith("mae "))
    assert mae.split()[:5] == ["mae", "2.5000", "1.8750", "+0.6250", "0.0796"]
    bleu = next(line for line in out.splitlines() if line.startswith("bleu4_peter "))
    assert bleu.split()[1:4] == ["1.5000", "1.2000", "+0.3000"] and "corpus-level: no test" in bleu
    assert "only in A: usr" in out and "only in B: —" in out
    assert "bertscore" not in out  # not asked for


def test_compare_refuses_different_test_records(runs, capsys):
    _, a, _, small = runs
    assert main(["compare", str(a), str(small)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "were scored on different test records (n=4 vs n=2;" in err


def test_compare_user_mistakes_are_one_line(runs, capsys):
    runs_dir, a, b, _ = runs
    assert main(["compare", str(a), "no-such-run", "--runs-dir", str(runs_dir)]) == 2
    assert "no run folder 'no-such-run'" in capsys.readouterr().err
    assert main(["compare", str(a), str(b), "--metric", "rmse"]) == 2
    err = capsys.readouterr().err
    assert "metric(s) rmse in neither run; both report: bertscore_f1[roberta-large], bleu4_peter, mae" in err
    (b / "DONE").unlink()
    assert main(["compare", str(a), str(b)]) == 2
    assert "is not a finished run (no DONE marker)" in capsys.readouterr().err
