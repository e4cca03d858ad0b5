"""Curr-RLCER prompts (Fig. 1): the record's review is in every task prompt by default, as the
paper's; model.review_in_prompt=false leaves it out (the leakage-free variant)."""

from methods.currrl.prompts import build_prompt
from tests.unit.currrl_fixtures import synthetic_records


def test_review_in_prompt_by_default_and_left_out_on_request():
    rec = synthetic_records(1)[0]
    for task in ("judgment", "choose", "explain"):
        with_review = build_prompt(task, rec, system="none")[0]["content"]
        assert f"Review: [{rec.review}]" in with_review and "profile and review of user and item" in with_review
        without = build_prompt(task, rec, system="none", review=False)[0]["content"]
        assert rec.review not in without and "Review" not in without and "review" not in without
        assert "Given the profiles of user and item" in without
        assert f"User Profile:[{rec.user_profile}]; Item Profile:[{rec.item_profile}]." in without


def test_review_in_prompt_is_a_method_setting(tmp_path):
    from methods.currrl.method import CurrRLCER, Params
    from tests.unit.currrl_fixtures import run_context

    rec = synthetic_records(1)[0]
    m = CurrRLCER(Params(review_in_prompt=False), run_context(tmp_path))
    assert rec.review not in m.prompt("explain", rec)[-1]["content"]
    assert rec.review in CurrRLCER(Params(), run_context(tmp_path)).prompt("explain", rec)[-1]["content"]
