"""Metric suite: registration, selection, unavailable reasons, pairs files, bench score helpers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.api.errors import BenchError, DataError
from bench.api.registry import METRICS
from metrics.base import Metric, MetricValue, std_values
from metrics.pairs import pairs_to_rows
from metrics.score_cli import report_to_json, score_pairs
from metrics.settings import EvalConfig
from metrics.suite import ScoreReport, score_rows


def test_importing_metrics_does_not_import_torch():
    code = "import metrics, sys; from bench.api.registry import METRICS; METRICS.names(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_registrations_are_lazy_and_declarations_come_from_the_classes():
    code = (
        "import sys; from bench.api.registry import METRICS, load_builtins; load_builtins();"
        "lazy = all(e.is_lazy for e in METRICS.entries()); heavy = 'torch' in sys.modules;"
        "d = METRICS.declared('bertscore'); print(lazy, heavy, d['needs'], d['reports'],"
        " 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split(" ", 2)[:2] == ["True", "False"]  # listing imports no metric module
    assert "['explanation', 'reference'] ['bertscore_p', 'bertscore_r', 'bertscore_f1'] False" in out.stdout


def test_unknown_metric_name_is_a_clear_error():
    with pytest.raises(BenchError, match="did you mean 'rougeL_f'"):
        score_rows(
            [{"idx": 0, "explanation": "a", "reference": "a"}], EvalConfig(metrics=["rougeL_F"])
        )


def test_applicable_metrics_follow_present_fields():
    rep = score_rows([{"idx": 0, "rating": 4.0, "rating_true": 5.0}], EvalConfig())
    assert set(rep.as_dict()) == {"rmse", "mae", "mae_std"}
    assert "bleu4_sacre" in rep.not_applicable and not rep.unavailable


def test_requested_metric_lacking_fields_is_unavailable():
    rep = score_rows([{"idx": 0, "rating": 4.0, "rating_true": 5.0}], EvalConfig(metrics=["auc"]))
    assert "ctr_score" in rep.unavailable["auc"]


def test_official_bertscore_unavailable_not_substituted():
    rows = [{"idx": 0, "explanation": "good", "reference": "fine"}]
    rep = score_rows(rows, EvalConfig(bertscore_model="roberta-large", metrics=["bertscore"]))
    assert not rep.values
    assert "not loadable" in rep.unavailable["bertscore_f1[roberta-large]"]
    # asking for the official name while the embedded scorer is configured computes nothing
    rep = score_rows(rows, EvalConfig(metrics=["bertscore_f1[roberta-large]"]))
    assert not rep.values and "all-MiniLM-L6-v2" in rep.unavailable["bertscore_f1[roberta-large]"]


def test_std_names_keep_checkpoint_suffix():
    v = MetricValue("bertscore_f1[ck]", 0.5, 2, True, {}, [0.25, 0.75])
    (s,) = std_values([v])
    assert (s.name, s.value, s.higher_is_better) == ("bertscore_f1_std[ck]", 0.25, False)


def test_metric_subclass_plugs_in(monkeypatch):
    class Echo(Metric):
        name = "echo"
        needs = frozenset({"explanation"})
        reports = ("echo",)

        @property
        def checkpoint(self):
            return "ck-1"

        def compute(self, batch):
            return [
                self.value_from_samples("echo", [float(len(t)) for t in batch.texts("explanation")])
            ]

    METRICS.register("echo", Echo, summary="test")
    try:
        rep = score_rows(
            [{"idx": 7, "explanation": "ab"}, {"idx": 8, "explanation": "abcd"}],
            EvalConfig(metrics=["echo"]),
        )
    finally:
        METRICS.unregister("echo")
    assert rep.as_dict() == {"echo[ck-1]": 3.0, "echo_std[ck-1]": 1.0}
    assert rep.per_example == [{"idx": 7, "echo[ck-1]": 2.0}, {"idx": 8, "echo[ck-1]": 4.0}]


def test_pairs_to_rows_maps_fields_and_reports_bad_lines(tmp_path):
    good = tmp_path / "p.jsonl"
    good.write_text(
        json.dumps(
            {
                "uid": 1,
                "iid": 2,
                "prediction": "a b",
                "reference": "a c",
                "rating": 4,
                "predicted_rating": 3.5,
            }
        )
        + "\n\n",
        encoding="utf-8",
    )
    (row,) = pairs_to_rows(good)
    assert row["explanation"] == "a b" and row["rating_true"] == 4.0 and row["rating"] == 3.5
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"prediction": "a", "reference": "b"}\n{oops\n{"prediction": 3, "reference": "b"}\n',
        encoding="utf-8",
    )
    with pytest.raises(DataError) as err:
        pairs_to_rows(bad)
    assert f"{bad}:2" in str(err.value) and f"{bad}:3" in str(err.value)


def test_score_pairs_and_report_to_json(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(
        "".join(
            json.dumps({"prediction": p, "reference": "the cat sat"}) + "\n"
            for p in ("the cat sat", "the cat sat")
        ),
        encoding="utf-8",
    )
    rep = score_pairs(path, EvalConfig(metrics=["usr", "bleu1_peter", "gptscore"]))
    out = report_to_json(rep)
    assert out["n"] == 2 and out["metrics"] == {"usr": 0.5, "bleu1_peter": pytest.approx(100.0)}
    assert sorted(out["unavailable"]) == ["gptscore", "gptscore_unparseable"]  # no judge configured
    assert "no judge endpoint" in out["unavailable"]["gptscore"] and out["not_applicable"] == {}
    skipped = ScoreReport(n=2, not_applicable={"rmse": "rows lack rating (2/2 rows)"})
    assert report_to_json(skipped)["not_applicable"] == {"rmse": "rows lack rating (2/2 rows)"}


def test_an_empty_explanation_scores_zero_bertscore_and_keeps_the_metric():
    # bert_score's rule (raw 0 for an empty side); its own empty path crashes on transformers 5
    rows = [{"idx": 0, "explanation": "great sound for the price", "reference": "the sound is great"},
            {"idx": 1, "explanation": "", "reference": "sturdy strings"}]  # fmt: skip
    rep = score_rows(rows, EvalConfig(metrics=["bertscore_f1"]))
    alone = score_rows(rows[:1], EvalConfig(metrics=["bertscore_f1"]))
    [f1] = [v for v in rep.values if v.name.startswith("bertscore_f1[")]
    [f1_alone] = [v for v in alone.values if v.name.startswith("bertscore_f1[")]
    assert not rep.unavailable and f1.per_sample[1] == 0.0
    assert f1.per_sample[0] == pytest.approx(f1_alone.value) and f1.value == pytest.approx(f1_alone.value / 2)


def test_max_records_scores_the_runners_seeded_sample_not_the_first_rows():
    from bench.api.eval_sample import eval_sample

    rows = [{"idx": i, "rating": 1.0 + i % 5, "rating_true": 3.0} for i in range(20)]
    report = score_rows(rows, EvalConfig(metrics=["mae"], max_records=4), seed=7)
    scored = [r["idx"] for r in report.per_example]
    assert report.n == 4 and scored == eval_sample(20, 4, 7)
    assert scored != [0, 1, 2, 3]  # the first N rows were the old, second meaning
