"""DPO preference-pair builder of Curr-RLCER stage 3 phase 1."""

from bench.data.masking import MASK_TOKEN
from methods.currrl.pairs import build_dpo_pairs
from methods.currrl.prompts import build_prompt, tagged
from tests.unit.currrl_fixtures import synthetic_records


def test_pairs_chosen_reference_rejected_from_masked_input():
    records = synthetic_records(4)
    records[3].reference_explanation = ""  # no teacher answer -> no pair
    seen_prompts = []

    def generate(prompts):
        seen_prompts.extend(prompts)
        return ["<think>x</think><answer>unrelated text</answer>"] * len(prompts)

    def similarity(a, b):
        return [0.1] * len(a)

    rows, stats = build_dpo_pairs(
        records, prompt_fn=lambda r: build_prompt("explain", r), generate_fn=generate,
        similarity_fn=similarity, mask_ratio=0.5, threshold=0.5, seed=0,
    )  # fmt: skip
    assert stats.pairs == 3 and stats.no_reference == 1 and len(rows) == 3
    row = rows[0]
    assert row["chosen"] == [{"role": "assistant", "content": tagged(records[0].reference_explanation)}]
    assert row["rejected"][0]["content"] == "<think>x</think><answer>unrelated text</answer>"
    assert MASK_TOKEN not in row["prompt"][-1]["content"]  # the pair's prompt is the clean input
    assert all(MASK_TOKEN in p[-1]["content"] for p in seen_prompts)  # generation saw masked input


def test_pairs_threshold_retries_then_drops():
    records = synthetic_records(2)
    calls = []

    def generate(prompts):
        calls.append(len(prompts))
        return ["<answer>same</answer>"] * len(prompts)

    sims = iter([[0.9, 0.2], [0.95]])  # record 0 too similar twice; record 1 accepted at once
    rows, stats = build_dpo_pairs(
        records, prompt_fn=lambda r: build_prompt("explain", r), generate_fn=generate,
        similarity_fn=lambda a, b: next(sims), threshold=0.5, max_tries=2,
    )  # fmt: skip
    assert calls == [2, 1]  # one retry with a fresh mask for the pending record only
    assert stats.pairs == 1 and stats.rejected_too_similar == 1
    assert rows[0]["similarity"] == 0.2
