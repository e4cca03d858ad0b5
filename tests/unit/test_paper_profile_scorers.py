"""The `paper` profiles name the papers' scorers, under the names the papers' table specs read:
a paper run fills Curr-RLCER Tables 2 and 4 without a --set (GPTScore's prompt file aside)."""

from __future__ import annotations

import pytest

from bench.config import resolve
from leaderboards.spec import load_spec_file
from metrics.bartscore import BARTScore
from metrics.bertscore import BERTScore
from metrics.bleurt import BLEURT
from metrics.gptscore import GPTScore
from metrics.suite import score_rows
from tests.conftest import REPO

TABLE_METHODS = ["currrl", "xrec", "llm-zeroshot", "nrt", "att2seq", "peter", "cer"]
SPECS = REPO / "leaderboards" / "specs"


def spec_names(spec_name: str) -> set[str]:
    spec = load_spec_file(SPECS / f"{spec_name}.yaml")
    return {f"{c.metric}[{c.checkpoint}]" for c in spec.columns if c.checkpoint}


@pytest.mark.parametrize("method", TABLE_METHODS)
def test_paper_profile_scores_under_the_spec_names(method, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # names only: nothing is loaded or fetched
    ev = resolve(method, "amazon-sports", profile="paper").eval
    assert BERTScore(ev).checkpoint == "roberta-large"
    bert = BERTScore(ev)
    assert (bert.num_layers, bert.rescale) == (17, True)  # XRec: evaluate's bertscore, rescaled
    assert BARTScore(ev).checkpoint == "bart-large-cnn" and BLEURT(ev).checkpoint == "bleurt-base-128"
    gpt = GPTScore(ev)
    # the judge is the papers'; the bare name gptscore[gpt-3.5-turbo] needs XRec's own prompt,
    # a file the user supplies (eval.judge_prompt_file), else the prompt's hash is in the name
    assert gpt.client.settings.model == "gpt-3.5-turbo" and gpt.prompt.name_tag
    # XRec's chat.completions call passes no temperature: OpenAI's default 1.0, not erbench's 0
    assert gpt.client.settings.temperature == 1.0
    assert ev.coherence_sources == ["judge", "classifier", "human"]
    produced = {*BERTScore(ev).reported_names(), *BARTScore(ev).reported_names(),
                *BLEURT(ev).reported_names(), "gptscore[gpt-3.5-turbo]"}  # fmt: skip
    produced |= {f"coh_acc[{label}]" for label in ("judge:gpt-3.5-turbo", "nlptown-sentiment", "human")}
    wanted = spec_names("currrl-table2") | spec_names("currrl-table4")
    assert {n.replace("_std[", "[") for n in wanted} <= produced


def test_paper_profile_unreachable_scorers_each_say_why_without_a_number(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ev = resolve("currrl", "amazon-sports", profile="paper").eval
    ev.metrics = ["bertscore", "bartscore", "bleurt", "coherence"]
    ev.judge_base_url, ev.judge_max_retries = "http://127.0.0.1:9/v1", 0  # refused at once
    rows = [{"idx": 0, "explanation": "great sound", "reference": "the sound is great",
             "rating": 4.0, "rating_true": 5.0}]  # fmt: skip
    report = score_rows(rows, ev)
    assert not [v for v in report.values if "[" in v.name and "minilm" not in v.name.lower()]
    assert "roberta-large" in report.unavailable["bertscore_f1[roberta-large]"]
    assert "bart-large-cnn" in report.unavailable["bartscore[bart-large-cnn]"]
    assert "human_ratings_csv" in report.unavailable["coh_acc[human]"]
    # an unreachable judge loses its own column only (it used to take every coherence column)
    assert "judge failed" in report.unavailable["coh_acc[judge:gpt-3.5-turbo]"]
    assert "nlptown" in report.unavailable["coh_acc[nlptown-sentiment]"]


def test_judge_temperature_defaults_to_zero_and_leaves_run_ids_alone():
    import dataclasses

    from bench.backbones.chat_client import JudgeSettings
    from bench.config import config_hash

    ev = resolve("peter", "ml-100k", profile="cpu").eval
    ev.judge_base_url, ev.judge_model = "http://127.0.0.1:9/v1", "m"
    assert JudgeSettings.from_eval_cfg(ev).temperature == 0.0
    cpu = resolve("peter", "ml-100k", profile="cpu")
    unset = dataclasses.replace(cpu, eval=dataclasses.replace(cpu.eval, judge_temperature=None))
    assert config_hash(unset) == config_hash(cpu)
    assert config_hash(dataclasses.replace(cpu, eval=dataclasses.replace(cpu.eval, judge_temperature=1.0))) != config_hash(cpu)
