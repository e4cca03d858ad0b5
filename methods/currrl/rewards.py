"""Curr-RLCER rewards (eq. 3-7) and the parsers they rely on.

All reward functions take a list of completion texts (plus per-record ground truth) and return
one float per completion, so they plug into GRPO through bench.adapters.trl.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

# Fig. 1 format pattern: <think>.*?</think>\s*<answer>.*?</answer>  (whole response, DOTALL)
FORMAT_PATTERN = re.compile(r"^<think>.*?</think>\s*<answer>.*?</answer>$", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_TAGS = re.compile(r"</?(think|answer)>", re.IGNORECASE)
_YESNO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_DIGIT = re.compile(r"(?<![\d.])([1-5])(?!\.\d|\d)")


def format_reward(completions: Sequence[str]) -> list[float]:
    """1 if the whole response matches <think>.*?</think>\\s*<answer>.*?</answer>, else 0."""
    return [1.0 if FORMAT_PATTERN.match(c.strip()) else 0.0 for c in completions]


def extract_answer(text: str, lenient: bool = False) -> str | None:
    """The content of the last <answer>...</answer>; with lenient, the untagged text instead
    of None when there is no answer tag (an unclosed <answer> keeps what follows it)."""
    found = _ANSWER.findall(text)
    if found:
        return found[-1].strip()
    if not lenient:
        return None
    if "<answer>" in text.lower():
        text = text[text.lower().rfind("<answer>") + len("<answer>") :]
    elif "</think>" in text.lower():
        text = text[text.lower().rfind("</think>") + len("</think>") :]
    return _TAGS.sub(" ", text).strip()


def parse_yes_no(answer: str | None) -> int | None:
    """1 for yes, 0 for no (first of the two words), None when neither appears."""
    if not answer:
        return None
    m = _YESNO.search(answer)
    if not m:
        return None
    return 1 if m.group(1).lower() == "yes" else 0


def parse_rating(answer: str | None) -> int | None:
    """The first option 1-5 in the answer, None when there is none."""
    if not answer:
        return None
    m = _DIGIT.search(answer)
    return int(m.group(1)) if m else None


def judgment_reward(completions: Sequence[str], labels: Sequence[int], lenient: bool = False) -> list[float]:
    """Eq. 3: R = 1 if o_ans == o_gt else 0 (unparsable answers count as wrong)."""
    out = []
    for text, gt in zip(completions, labels, strict=True):
        ans = parse_yes_no(extract_answer(text, lenient))
        out.append(1.0 if ans is not None and ans == int(gt) else 0.0)
    return out


def choose_reward(completions: Sequence[str], ratings: Sequence[float], lenient: bool = False) -> list[float]:
    """Eq. 4: R = 1 - |r_ans - r_gt| / 4 (unparsable answers get 0)."""
    out = []
    for text, gt in zip(completions, ratings, strict=True):
        ans = parse_rating(extract_answer(text, lenient))
        out.append(0.0 if ans is None else 1.0 - abs(ans - float(gt)) / 4.0)
    return out


def text_length(text: str, unit: str = "words") -> int:
    """len(t_ans) of eq. 5 in `unit`: "words" (whitespace tokens, default) or "chars"."""
    if unit == "words":
        return len(text.split())
    if unit == "chars":
        return len(text)
    raise ValueError(f"length unit must be 'words' or 'chars', got {unit!r}")


def length_reward(
    completions: Sequence[str],
    unit: str = "words",
    short: int = 50,
    long: int = 100,
    lenient: bool = True,
) -> list[float]:
    """Eq. 5: 1 if len(t_ans) < 50, 0.5 if 50 <= len < 100, else 0.

    t_ans is the answer text (the untagged response when there is no <answer> tag, so a
    missing tag is punished by the format reward, not twice). Unit: words by default — the
    paper's "len" of a text is ambiguous; in words the 50/100 cut-offs separate a one- or
    two-sentence explanation from a rambling one, in characters almost no fluent explanation
    would earn 1. Set `unit="chars"` for the literal Python len().
    """
    out = []
    for text in completions:
        ans = extract_answer(text, lenient=lenient) or ""
        n = text_length(ans, unit)
        out.append(1.0 if n < short else 0.5 if n < long else 0.0)
    return out


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def accuracy_reward(
    completions: Sequence[str],
    references: Sequence[str],
    encode: Callable[[list[str]], list[list[float]]],
    lenient: bool = False,
) -> list[float]:
    """Eq. 6: R = Similarity(T(t_ans), T(t_gt)), cosine of text-encoder embeddings
    (m3e-base in the paper, MiniLM offline); no answer -> 0."""
    answers = [extract_answer(c, lenient) for c in completions]
    idx = [i for i, a in enumerate(answers) if a]
    out = [0.0] * len(completions)
    if not idx:
        return out
    vecs = encode([answers[i] for i in idx] + [references[i] for i in idx])
    n = len(idx)
    for j, i in enumerate(idx):
        out[i] = float(cosine(vecs[j], vecs[n + j]))
    return out


def coherence_reward(
    completions: Sequence[str],
    ratings: Sequence[float],
    classify: Callable[[list[str]], Sequence[float]],
    lenient: bool = False,
) -> list[float]:
    """Eq. 7: R = 1 - |C(t_ans) - r_gt| / 4, C = sentiment classifier's 1-5 rating of the
    explanation; no answer -> 0."""
    answers = [extract_answer(c, lenient) for c in completions]
    idx = [i for i, a in enumerate(answers) if a]
    out = [0.0] * len(completions)
    if not idx:
        return out
    predicted = list(classify([answers[i] for i in idx]))
    for j, i in enumerate(idx):
        out[i] = 1.0 - abs(float(predicted[j]) - float(ratings[i])) / 4.0
    return out
