"""The eval section: each scorer's and judge's keys in its own dataclass, declared by the metric
(Metric.settings_classes); EvalConfig = the suite's keys + every registered scorer's; keys flat
or under their scorer's section; every choice a Literal checked at build time."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bench.api.errors import ConfigError
from bench.api.registry import METRICS
from bench.backbones.chat_client import JudgeSettings
from bench.config import NOT_HASHED, build_dataclass
from bench.data.settings import DataConfig
from bench.identity import EVAL_INPUT_FILES
from metrics import settings
from metrics.bertscore import BERTScoreSettings
from metrics.rating import RatingSettings
from metrics.settings import EvalConfig

ROOT = Path(__file__).resolve().parents[2]
# getattr(eval_cfg, "x", default): a key read around its dataclass, with a second default
GETATTR = re.compile(r'getattr\(\s*(?:self\.)?(?:eval_cfg|cfg\.eval)\s*,\s*"(\w+)"')


def test_the_eval_section_is_the_suites_keys_and_each_registered_scorers():
    assert EvalConfig.__bases__ == (settings.SuiteSettings,)  # no multiple inheritance
    declared = {f.name for cls in settings.settings_classes() for f in dataclasses.fields(cls)}
    suite = {f.name for f in dataclasses.fields(settings.SuiteSettings)}
    keys = {f.name for f in dataclasses.fields(EvalConfig)}
    assert keys == suite | declared
    assert {"bertscore_model", "judge_base_url", "coherence_sources", "rouge_use_stemmer"} <= declared
    assert METRICS.get("bertscore").settings_classes == (BERTScoreSettings,)
    assert set(EVAL_INPUT_FILES) | {k[5:] for k in NOT_HASHED if k.startswith("eval.")} <= keys


def test_a_key_may_be_written_under_its_scorers_section():
    nested = build_dataclass(EvalConfig, {"bertscore": {"model": "m", "num_layers": 9},
                                          "judge": {"timeout_s": 5}, "coherence": {"sources": ["judge"]}}, "eval")  # fmt: skip
    flat = build_dataclass(EvalConfig, {"bertscore_model": "m", "bertscore_num_layers": 9,
                                        "judge_timeout_s": 5, "coherence_sources": ["judge"]}, "eval")  # fmt: skip
    assert nested == flat
    with pytest.raises(ConfigError, match=re.escape("unknown config key 'eval.bertscore.modle'")):
        build_dataclass(EvalConfig, {"bertscore": {"modle": "m"}}, "eval")


def test_no_code_reads_an_eval_key_around_its_dataclass():
    read = {
        str(path.relative_to(ROOT)): GETATTR.findall(path.read_text(encoding="utf-8"))
        for folder in ("metrics", "methods", "baselines", "bench")
        for path in (ROOT / folder).rglob("*.py")
    }
    assert {path: keys for path, keys in read.items() if keys} == {}


def test_a_component_reads_its_own_keys_and_defaults():
    cfg = EvalConfig(bertscore_dtype="bfloat16", rating_clip=False)
    assert BERTScoreSettings.of(cfg) == BERTScoreSettings(bertscore_dtype="bfloat16")
    assert RatingSettings.of(None) == RatingSettings()
    assert RatingSettings.of(cfg).rating_clip is False


@pytest.mark.parametrize(
    ("cls", "section", "data", "message"),
    [
        (EvalConfig, "eval", {"coherence_sources": ["classifer"]}, "eval.coherence_sources' expects a list of one of"),
        (EvalConfig, "eval", {"bertscore_dtype": "fp16"}, "eval.bertscore_dtype' expects one of 'float32'"),
        (EvalConfig, "eval", {"mask_ratio": 1.5}, "eval.mask_ratio' expects a fraction in"),
        (DataConfig, "data", {"profile_source": "review"}, "data.profile_source' expects one of"),
        (DataConfig, "data", {"implicit_ratings": "zero"}, "data.implicit_ratings' expects one of"),
    ],
)  # fmt: skip
def test_bad_choices_are_config_errors(cls, section, data, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_dataclass(cls, data, section)


def test_judge_keys_are_accepted_and_typed():
    cfg = build_dataclass(EvalConfig, {"judge_timeout_s": 5, "judge_max_retries": 1,
                                       "judge_cache_path": "", "bartscore_weights": "w.pth"}, "eval")
    assert (cfg.judge_timeout_s, cfg.judge_max_retries, cfg.judge_cache_path) == (5.0, 1, "")
    unset = EvalConfig(judge_base_url="http://127.0.0.1:9/v1", judge_model="m")
    settings_ = JudgeSettings.from_eval_cfg(unset)
    assert (settings_.timeout_s, settings_.max_retries) == (120.0, 5)  # the documented defaults


@pytest.mark.parametrize(
    ("method", "setting", "message"),
    [
        ("currrl", "model.answer_parsing=loose", "'model.answer_parsing' expects one of 'strict', 'lenient'"),
        ("currrl", "model.teacher=endpoint", "model.teacher=endpoint needs model.teacher_base_url"),
        ("expctr", "model.kl_estimator=k2", "'model.kl_estimator' expects one of 'k1', 'k3'"),
        ("peter", "model.optimizer=adamw", "'model.optimizer' expects one of 'adam', 'sgd'"),
    ],
)  # fmt: skip
def test_a_bad_method_setting_is_one_line_before_any_work(method, setting, message, capsys):
    from bench.cli import main

    argv = ["run", "--method", method, "--dataset", "ml-100k", "--set", setting, "--dry-run"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
