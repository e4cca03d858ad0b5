"""The LLM methods' profiles resolve, and the rows a comparison pairs read the same input:
the cpu profiles of tallrec / icl / expctr (ML-100K) and of currrl / llm-zeroshot (Instruments)
draw the same samples, show the same history / prompt, and score the same eval sample."""

import pytest

from bench.config import available_profiles, method_yaml, resolve
from bench.identity import effective_config

LLM = ["currrl", "llm-zeroshot", "expctr", "tallrec", "icl"]


@pytest.mark.parametrize("method", LLM)
def test_every_profile_resolves(method):
    profiles = available_profiles(method_yaml(method))
    assert {"tiny", "cpu"} <= set(profiles)
    for profile in profiles:
        dataset = "amazon-instruments" if method in ("currrl", "llm-zeroshot") else "ml-100k"
        cfg, _ = effective_config(resolve(method, dataset, profile=profile))
        if profile in ("tiny", "cpu"):
            assert cfg.threads == 1


def _cfg(method, dataset, profile="cpu"):
    return effective_config(resolve(method, dataset, profile=profile))[0]


def test_ctr_cpu_profiles_share_samples_input_and_eval_records():
    cfgs = [_cfg(m, "ml-100k") for m in ("tallrec", "icl", "expctr")]
    assert {c.data.split for c in cfgs} == {"per-user-target5-8:1:1"}
    assert {c.model["prompt_history"] for c in cfgs} == {5}
    assert {c.eval.max_records for c in cfgs} == {300} and {c.seed for c in cfgs} == {0}


def test_ctr_paper_profiles_use_the_papers_sampling_and_backbone():
    for profile in ("paper-16k", "paper-32k"):
        cfgs = [_cfg(m, "ml-20m", profile) for m in ("tallrec", "icl", "expctr")]
        assert {c.data.split for c in cfgs} == {"per-user-target-8:1:1"}
        assert {c.model["backbone"] for c in cfgs} == {"meta-llama/Meta-Llama-3-8B-Instruct"}
    assert _cfg("expctr", "ml-20m", "paper-16k").model["encoder"] == "BAAI/bge-small-en"
    assert _cfg("recbole-deepfm", "ml-20m", "paper").data.split == "per-user-target-8:1:1"  # same samples


def test_currrl_cpu_and_zeroshot_read_the_same_prompts():
    full, base = _cfg("currrl", "amazon-instruments"), _cfg("llm-zeroshot", "amazon-instruments")
    assert full.data == base.data and full.eval.max_records == base.eval.max_records == 200
    for key in ("max_prompt_length", "system_prompt", "rating_max_new_tokens", "explanation_max_new_tokens",
                "review_in_prompt", "backbone"):
        assert full.model[key] == base.model[key], key


def test_currrl_paper_profile():
    cfg = _cfg("currrl", "amazon-instruments", "paper")
    assert cfg.eval.max_records == 1000 and cfg.model["stage_records"] == 3000
    assert cfg.model["teacher"] == "endpoint" and cfg.model["answer_parsing"] == "strict"
    assert cfg.eval.sentiment_classifier == cfg.model["sentiment_classifier"]
