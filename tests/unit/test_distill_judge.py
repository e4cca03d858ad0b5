"""The AI judge (metrics.pairwise_judge): reply parsing, the two-order protocol, reject-both,
and the rule judge's scores on hand-made explanations."""

import pytest

from metrics.pairwise_judge import (
    JudgeInput,
    RuleJudge,
    Verdict,
    judge_swapped,
    parse_verdict,
    rule_score,
)


@pytest.mark.parametrize(
    "reply, answer",
    [
        ("A", "A"), ("**B**", "B"), ("b", "B"), ("B.", "B"), ("Answer: TIE", "TIE"),
        ("Explanation A is better", "A"), ("equally good", "TIE"), ("Equally bad", "BOTH_BAD"),
        ("neither", "BOTH_BAD"), ("BOTH_BAD", "BOTH_BAD"), ("I think B", "B"),
        ("The second one (B).", "B"), ("a tough call, B", "B"),
        ("I prefer B over A", None), ("hmm", None), ("a and b are fine", None), (None, None),
    ],
)  # fmt: skip
def test_parse_verdict(reply, answer):
    assert parse_verdict(reply) == answer


class ScriptedJudge:
    """Answers from a table keyed by (first, second) shown; records what it was shown."""

    name = "scripted"

    def __init__(self, table):
        self.table = table
        self.shown = []

    def describe(self):
        return {"judge": self.name}

    def judge(self, inputs):
        self.shown += [(i.first, i.second) for i in inputs]
        return [Verdict(self.table[(i.first, i.second)], "") for i in inputs]


def test_each_pair_is_judged_in_both_orders():
    judge = ScriptedJudge({("x", "y"): "A", ("y", "x"): "B"})
    [result] = judge_swapped(judge, [("ctx", (), "x", "y")])
    assert judge.shown == [("x", "y"), ("y", "x")]
    assert result.preferred == "x" and result.outcome == "kept"


@pytest.mark.parametrize(
    "first, second, outcome, preferred",
    [
        ("B", "A", "kept", "y"),
        ("A", "A", "order_bias", None),  # always the first shown: position bias, dropped
        ("B", "B", "order_bias", None),
        ("TIE", "B", "rejected_both", None),  # one "equally good" rejects the pair
        ("BOTH_BAD", "BOTH_BAD", "rejected_both", None),
        (None, "B", "unparseable", None),
    ],
)  # fmt: skip
def test_swap_outcomes(first, second, outcome, preferred):
    judge = ScriptedJudge({("x", "y"): first, ("y", "x"): second})
    [result] = judge_swapped(judge, [("ctx", (), "x", "y")])
    assert (result.outcome, result.preferred) == (outcome, preferred)


FACTS = ("Casino (1995)", "The Graduate (1967)", "Crime")


def test_rule_score_counts_facts_technical_terms_and_length():
    # "Casino" (year and article dropped) and "crime": 2 facts, no technical term
    assert rule_score("You loved Casino, so this crime story fits.", FACTS) == 2
    # one fact, minus 'similarity' and '0.41' (two technical terms)
    assert rule_score("Casino has similarity 0.41 with it.", FACTS) == -1
    assert rule_score("Graduate fans will enjoy it. " + "word " * 115, FACTS) == pytest.approx(1 - 30 / 30)
    assert rule_score("   ", FACTS) == float("-inf")


def test_rule_judge_prefers_grounded_and_rejects_equal():
    judge = RuleJudge(margin=1.0)
    good = "You loved Casino and The Graduate; this Crime film fits."  # 3 facts
    vague = "A great pick."  # 0
    also_good = "Casino and The Graduate fans love this Crime story."  # 3
    verdicts = judge.judge([
        JudgeInput("", FACTS, good, vague), JudgeInput("", FACTS, vague, good),
        JudgeInput("", FACTS, good, also_good), JudgeInput("", FACTS, vague, "Nice one."),
    ])  # fmt: skip
    assert [v.answer for v in verdicts] == ["A", "B", "TIE", "BOTH_BAD"]
    [kept, rejected] = judge_swapped(judge, [("", FACTS, vague, good), ("", FACTS, good, also_good)])
    assert kept.preferred == "y" and rejected.outcome == "rejected_both"
