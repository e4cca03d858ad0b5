"""What the suite scores: reference-based metrics skip empty references (ml-100k has none),
and explanations are scored without their <think> block."""

from __future__ import annotations

import pytest

from bench.backbones.thinking import strip_think
from metrics.settings import EvalConfig
from metrics.suite import score_rows

REFERENCE_BASED = ["rouge", "bleu_sacre", "bleu_peter", "rouge_peter", "bertscore", "bartscore",
                   "bleurt", "gptscore"]  # fmt: skip


def rows(references):
    return [
        {"idx": i, "explanation": "the sound is great", "reference": ref, "rating": 4.0,
         "rating_true": 5.0}
        for i, ref in enumerate(references)
    ]  # fmt: skip


def test_every_reference_empty_is_not_applicable_never_a_value():
    requested = score_rows(rows(["", " ", ""]), EvalConfig(metrics=REFERENCE_BASED))
    assert not requested.values
    assert requested.unavailable["rougeL_f"].startswith("not applicable: every reference is empty")
    assert "every reference is empty (3/3 rows)" in requested.unavailable["bertscore_f1"]
    everything = score_rows(rows(["", "", ""]), EvalConfig(metrics=[]))
    names = {v.name for v in everything.values}
    assert not any(n.startswith(("rouge", "bleu", "bertscore", "bart", "bleurt", "gpt")) for n in names)
    assert "every reference is empty" in everything.not_applicable["rougeL_f"]
    assert "rmse" in names  # the metrics that need no reference are still scored


def test_rows_with_empty_references_are_excluded_and_counted():
    report = score_rows(rows(["the sound is great", "", "sound great"]),
                        EvalConfig(metrics=["rouge", "bleu_sacre"]))  # fmt: skip
    rouge = report.get("rougeL_f")
    assert rouge.n == 2 and rouge.version["empty_references_excluded"] == 1
    # ROUGE-L F of "the sound is great" vs itself (1) and vs "sound great" (P 2/4, R 2/2: 2/3)
    assert rouge.value == pytest.approx((1 + 2 / 3) / 2)
    assert report.get("bleu4_sacre").version["empty_references_excluded"] == 1
    per = {row["idx"]: row for row in report.per_example}
    assert "rougeL_f" not in per[1] and per[0]["rougeL_f"] == pytest.approx(1.0)


def test_think_blocks_are_not_scored():
    rows_ = [{"idx": 0, "explanation": "<think>the user likes loud music</think> great sound",
              "reference": "great sound"}]  # fmt: skip
    assert score_rows(rows_, EvalConfig(metrics=["rouge"])).get("rougeL_f").value == 1.0


@pytest.mark.parametrize(
    ("text", "scored"),
    [
        ("<think>a\nb</think>\n\nYou will enjoy it.", "You will enjoy it."),
        ("<think>cut off while thinking", ""),
        ("reasoning opened by the template</think> You will enjoy it.", "You will enjoy it."),
        ("no tags at all ", "no tags at all "),
        ("<think>x</think>A<think>y</think>B", "AB"),
    ],
)
def test_strip_think(text, scored):
    assert strip_think(text) == scored


def test_annotators_and_the_arena_judge_read_explanations_without_think():
    from pathlib import Path

    from bench.annotate.run_outputs import RunOutputs

    rows = [{"explanation": "<think>they like jazz</think> You will enjoy this album."}, {"explanation": None}]
    run = RunOutputs("r", "m", Path("."), rows, "digest")
    assert [run.explanation(0), run.explanation(1)] == ["You will enjoy this album.", ""]


def test_a_thinking_judges_reply_is_read_after_its_reasoning():
    from bench.backbones.chat_prompt import parse_score

    assert parse_score("<think>70 or 80? closer to 80</think>\n80", 0, 100).value == 80.0
    assert parse_score("<think>still weighing 70 and 80", 0, 100).status == "unparseable"
