"""Curr-RLCER rewards against hand-computed values (eq. 3-7) and the Fig. 1 format regex."""

import pytest

from methods.currrl import rewards as R

GOOD = "<think>\nLet's analyze the question.\n</think>\n<answer>Yes</answer>"


@pytest.mark.parametrize(
    "text,expected",
    [
        (GOOD, 1.0),
        ("<think>a</think><answer>b</answer>", 1.0),  # \s* allows no whitespace
        ("<think>multi\nline</think>  \n <answer>x\ny</answer>", 1.0),  # DOTALL
        ("  <think>a</think><answer>b</answer>\n", 1.0),  # surrounding whitespace stripped
        ("<answer>Yes</answer>", 0.0),  # no think block
        ("<think>a</think>", 0.0),  # no answer block
        ("<think>a</think> text <answer>b</answer>", 0.0),  # only whitespace between blocks
        ("<think>a</think><answer>b</answer> trailing", 0.0),  # anchored at the end
        ("Sure! <think>a</think><answer>b</answer>", 0.0),  # anchored at the start
        ("<think>a<answer>b</answer>", 0.0),
    ],
)
def test_format_reward_regex(text, expected):
    # Fig. 1: pattern <think>.*?</think>\s*<answer>.*?</answer> -> 1 else 0
    assert R.format_reward([text]) == [expected]


def test_extract_answer_strict_and_lenient():
    assert R.extract_answer("<think>x</think><answer> 4 </answer>") == "4"
    assert R.extract_answer("<answer>1</answer><answer>2</answer>") == "2"  # the last one
    assert R.extract_answer("I think yes") is None
    assert R.extract_answer("I think yes", lenient=True) == "I think yes"
    assert R.extract_answer("<think>hmm</think> Yes", lenient=True) == "Yes"
    assert R.extract_answer("<think>hmm</think><answer>No, it", lenient=True) == "No, it"


def test_parsers():
    assert R.parse_yes_no("Yes.") == 1 and R.parse_yes_no("no") == 0
    assert R.parse_yes_no("Yesterday") is None and R.parse_yes_no(None) is None
    assert R.parse_yes_no("No, not yes") == 0  # first of the two words
    assert R.parse_rating("I choose 4 stars") == 4
    assert R.parse_rating("Option 5") == 5
    assert R.parse_rating("10") is None and R.parse_rating("4.5") is None and R.parse_rating("6") is None


def test_judgment_reward_eq3():
    comps = [
        "<think>t</think><answer>Yes</answer>",  # yes vs 1 -> 1
        "<think>t</think><answer>No</answer>",  # no vs 1 -> 0
        "<think>t</think><answer>no</answer>",  # no vs 0 -> 1
        "Yes",  # strict: no answer tag -> 0
    ]
    # eq. 3: R = 1 if o_ans = o_gt else 0
    assert R.judgment_reward(comps, [1, 1, 0, 1]) == [1.0, 0.0, 1.0, 0.0]
    assert R.judgment_reward(["Yes"], [1], lenient=True) == [1.0]


def test_choose_reward_eq4():
    comps = [f"<think>t</think><answer>{a}</answer>" for a in ("5", "3", "1", "4", "none")]
    # eq. 4: R = 1 - |r_ans - r_gt| / 4 -> 1-0/4, 1-2/4, 1-4/4, 1-3/4, unparsable 0
    assert R.choose_reward(comps, [5, 5, 5, 1, 3]) == [1.0, 0.5, 0.0, 0.25, 0.0]


def test_length_reward_eq5_words_and_chars():
    def ans(n_words):
        return "<think>t</think><answer>" + " ".join(["w"] * n_words) + "</answer>"

    # eq. 5 (unit: words): <50 -> 1, 50 <= len < 100 -> 0.5, else 0
    assert R.length_reward([ans(49), ans(50), ans(99), ans(100)]) == [1.0, 0.5, 0.5, 0.0]
    # eq. 5 (unit: chars): "x"*49 -> 1, "x"*50 -> 0.5, "x"*100 -> 0
    chars = [f"<answer>{'x' * n}</answer>" for n in (49, 50, 100)]
    assert R.length_reward(chars, unit="chars") == [1.0, 0.5, 0.0]
    with pytest.raises(ValueError):
        R.length_reward(["a"], unit="tokens")


def test_accuracy_reward_eq6_cosine():
    table = {"good sound": [1.0, 0.0], "great tone": [0.6, 0.8], "ref": [1.0, 0.0], "bad": [0.0, 1.0]}

    def encode(texts):
        return [table[t] for t in texts]

    comps = ["<answer>good sound</answer>", "<answer>great tone</answer>", "<answer>bad</answer>", "no tag"]
    # eq. 6: R = cos(T(t_ans), T(t_gt)) -> 1.0, 0.6, 0.0; no answer -> 0
    out = R.accuracy_reward(comps, ["ref"] * 4, encode)
    assert out == pytest.approx([1.0, 0.6, 0.0, 0.0])


@pytest.mark.slow  # loads MiniLM (slow to import on a shared CPU)
def test_accuracy_reward_with_minilm():
    from methods.currrl.encoders import TextEncoder

    enc = TextEncoder("embedded")
    out = R.accuracy_reward(
        ["<answer>The strings sound great.</answer>", "<answer>The strings sound great.</answer>"],
        ["The strings sound great.", "My cat sleeps all day."],
        enc,
    )
    # eq. 6 with MiniLM: identical text -> cosine 1; unrelated text -> much lower
    assert out[0] == pytest.approx(1.0, abs=1e-4) and out[1] < 0.5


def test_coherence_reward_eq7():
    def classify(texts):
        return [{"love it": 5.0, "meh": 3.0, "awful": 1.0}[t] for t in texts]

    comps = ["<answer>love it</answer>", "<answer>meh</answer>", "<answer>awful</answer>", "none"]
    # eq. 7: R = 1 - |C(t_ans) - r_gt| / 4 -> 1-|5-5|/4=1, 1-|3-5|/4=0.5, 1-|1-4|/4=0.25, no answer 0
    assert R.coherence_reward(comps, [5, 5, 4, 5], classify) == [1.0, 0.5, 0.25, 0.0]
