"""BERTScore on roberta-shaped folders as real GPU runs load them (tests/standins/scorers.py):
a tokenizer without model_max_length, a folder of any name with eval.bertscore_num_layers."""

from __future__ import annotations

from bench.config import RunConfig, config_hash
from metrics.settings import EvalConfig
from metrics.suite import score_rows
from tests.standins.scorers import roberta_large

LONG = " ".join(["the sound is great and the strings are good"] * 80)  # > 512 tokens


def rows():
    texts = [("great sound", "the sound is great"), (LONG, "strings broke"), ("ok", "fine item")]
    return [{"idx": i, "explanation": c, "reference": r} for i, (c, r) in enumerate(texts)]


def test_roberta_large_folder_without_model_max_length_scores_at_layer_17_rescaled():
    cfg = EvalConfig(metrics=["bertscore"], bertscore_model=str(roberta_large()))
    report = score_rows(rows(), cfg)
    assert not report.unavailable, report.unavailable  # was: OverflowError: int too big to convert
    f1 = report.get("bertscore_f1[roberta-large]")
    assert f1.n == 3
    assert f1.version["num_layers"] == 17 and f1.version["rescale_with_baseline"] is True


def test_any_folder_scores_with_bertscore_num_layers_and_the_layer_is_in_the_name():
    folder = roberta_large(name="tiny-roberta")
    cfg = EvalConfig(metrics=["bertscore_f1"], bertscore_model=str(folder), bertscore_num_layers=4)
    report = score_rows(rows(), cfg)
    assert not report.unavailable, report.unavailable
    f1 = report.get("bertscore_f1[tiny-roberta,L4]")
    assert f1.version["num_layers"] == 4 and f1.version["rescale_with_baseline"] is False
    named = EvalConfig(metrics=["bertscore_f1"], bertscore_model=str(roberta_large()),
                       bertscore_num_layers=17)  # the model's default layer: the papers' name
    assert score_rows(rows()[:1], named).get("bertscore_f1[roberta-large]").n == 1


def test_unset_bertscore_num_layers_keeps_earlier_run_ids(monkeypatch):
    import bench.config as config

    cfg = RunConfig("mf-bias", "ml-100k")
    now = config_hash(cfg)
    to_dict = config.to_dict

    def before_the_key(c):  # the config as it was before eval.bertscore_num_layers existed
        data = to_dict(c)
        data["eval"].pop("bertscore_num_layers")
        return data

    monkeypatch.setattr(config, "to_dict", before_the_key)
    assert config_hash(cfg) == now
    monkeypatch.undo()
    cfg.eval.bertscore_num_layers = 12
    assert config_hash(cfg) != now


def test_an_org_prefixed_hub_id_reports_under_the_models_name(monkeypatch):
    from metrics.bertscore import BERTScore

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the name only: nothing is fetched
    metric = BERTScore(EvalConfig(bertscore_model="FacebookAI/roberta-large"))
    assert metric.checkpoint == "roberta-large" and (metric.num_layers, metric.rescale) == (17, True)
