"""The four RLAIF distillation rows' profiles resolve, and in each profile they read the same
records with the same context, so the arena and the alignment table pair them record by
record; the students generate alike."""

import pytest

from bench.config import available_profiles, method_yaml, resolve
from bench.identity import effective_config

ROWS = ("distill-teacher", "distill-base", "sft-distill", "orpo-distill")
CONTEXT = ("knn_k", "knn_shrink", "knn_interactions", "neighbours", "kg", "kg_users", "path_max_edges",
           "paths_kept", "path_limit", "sep_weights", "min_tag_count", "tag_similarity", "similar_tags")  # fmt: skip
GENERATION = ("backbone", "max_new_tokens", "max_prompt_tokens")


def _cfg(method, profile):
    return effective_config(resolve(method, "ml-100k", profile=profile))[0]


@pytest.mark.parametrize("profile", ["tiny", "cpu", "paper"])
def test_rows_share_records_and_context(profile):
    assert all(profile in available_profiles(method_yaml(m)) for m in ROWS)
    cfgs = {m: _cfg(m, profile) for m in ROWS}
    first = cfgs["distill-teacher"]
    for method, cfg in cfgs.items():
        assert cfg.data == first.data and cfg.eval.max_records == first.eval.max_records, method
        assert cfg.seed == first.seed and cfg.eval.metrics == ["usr"]
        assert {k: cfg.model[k] for k in CONTEXT} == {k: first.model[k] for k in CONTEXT}, method
        if profile in ("tiny", "cpu"):
            assert cfg.threads == 1
    students = [cfgs[m].model for m in ("distill-base", "sft-distill", "orpo-distill")]
    assert all({k: s[k] for k in GENERATION} == {k: students[0][k] for k in GENERATION} for s in students)
    teachers = [cfgs[m].model for m in ("distill-teacher", "sft-distill", "orpo-distill")]
    assert len({(t["teacher"], t["teacher_model"]) for t in teachers}) == 1


def test_paper_profile_is_the_papers_setting():
    orpo = _cfg("orpo-distill", "paper")
    assert orpo.model["backbone"] == "Qwen/Qwen3-0.6B" and orpo.model["train_recommendations"] == 1250
    assert orpo.model["teacher_model"] == "gemini-2.5-flash" and orpo.model["judge_model"] == "gpt-4.1-mini"
    assert orpo.eval.max_records == 216 and orpo.data.max_records == 1_000_000
