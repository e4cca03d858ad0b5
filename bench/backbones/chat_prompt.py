"""What a judge is asked and how its replies are read: prompt templates and score parsing.

A template's sha256 goes into the metric version. Parsing never scores silently: a reply with
no usable number, or a number outside the scale, gives None and is counted by reason
(`ParsedScores.invalid`); metrics exclude these from the mean and report the count.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.backbones.thinking import strip_think


@dataclass(frozen=True)
class PromptTemplate:
    """A system message plus a user message template (str.format with named fields).

    With `json_fields=True` every field is JSON-encoded before formatting, so the user message
    is a JSON object built from the fields (XRec sends {"prediction": ..., "reference": ...}),
    with json.dumps' defaults as XRec's json.dumps(prompt): non-ASCII characters escaped.
    """

    name: str
    system: str
    user: str
    json_fields: bool = False

    @property
    def sha256(self) -> str:
        canon = json.dumps(
            {"name": self.name, "system": self.system, "user": self.user, "json": self.json_fields},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    def render(self, **fields: Any) -> list[dict[str, str]]:
        if self.json_fields:
            fields = {k: json.dumps(v) for k, v in fields.items()}
        messages = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.append({"role": "user", "content": self.user.format(**fields)})
        return messages


# -- reply parsing --------------------------------------------------------------------------------

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
# A whole reply that is just a score: "85", "85.", "85/100", "Score: 85", "**4**", "4 stars".
_WHOLE = re.compile(
    rf"^[\s*_`'\"#>(\[]*(?:(?:score|rating)\s*[:=]?\s*)?({_NUMBER})\s*"
    rf"(?:(?:/|out of)\s*({_NUMBER})|%|stars?|points?)?\W*$",
    re.IGNORECASE,
)
_ANY_NUMBER = re.compile(rf"(?<![\w.]){_NUMBER}(?![\w])")
_FRACTION = re.compile(rf"(?<![\w.])({_NUMBER})\s*(?:/|out of)\s*({_NUMBER})(?![\w])", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedScore:
    value: float | None
    status: str  # "ok" | "unparseable" | "out_of_range"


def parse_score(reply: str | None, lo: float, hi: float, *, integer: bool = False) -> ParsedScore:
    """A score in [lo, hi] from a judge reply, or None with the reason.

    Accepted: a reply that is only a number (optionally "Score:", "/100", "%", "stars", markdown
    emphasis, a trailing full stop), a longer reply with one "N/hi" or "N out of hi", or a longer
    reply holding exactly one number. Anything else (no number, several different numbers, a
    scale echo like "0 to 100") is unparseable.
    With integer=True a non-integral value is out of range for the scale.
    """
    if reply is None:
        return ParsedScore(None, "unparseable")
    text = strip_think(reply).strip()  # a thinking judge's reasoning is not its answer
    m = _WHOLE.match(text)
    if m:
        if m.group(2) is not None and float(m.group(2)) != hi:
            return ParsedScore(None, "unparseable")  # a fraction on another scale ("4/10")
        raw = m.group(1)
    else:
        # "I'd give it 85 out of 100": one fraction whose denominator is the scale's top
        fractions = [a for a, b in _FRACTION.findall(text) if float(b) == hi]
        nums = {float(x) for x in _ANY_NUMBER.findall(text)}
        if len(set(fractions)) == 1:
            raw = fractions[0]
        elif len(nums) == 1:
            raw = str(nums.pop())
        else:
            return ParsedScore(None, "unparseable")
    try:
        value = float(raw)
    except ValueError:
        return ParsedScore(None, "unparseable")
    if not math.isfinite(value) or value < lo or value > hi:
        return ParsedScore(None, "out_of_range")
    if integer and value != int(value):
        return ParsedScore(None, "out_of_range")
    return ParsedScore(value, "ok")


@dataclass
class ParsedScores:
    """Scores per input (None where invalid), the raw replies, and counts of invalid replies."""

    scores: list[float | None]
    replies: list[str | None]
    invalid: dict[str, int] = field(default_factory=dict)  # reason -> count

    @property
    def n_total(self) -> int:
        return len(self.scores)

    @property
    def n_invalid(self) -> int:
        return sum(self.invalid.values())

    @property
    def valid(self) -> list[float]:
        return [s for s in self.scores if s is not None]


def parse_all(
    replies: Sequence[str | None], lo: float, hi: float, *, integer: bool = False,
    failed: Collection[int] = (),
) -> ParsedScores:
    """Parse every reply; the indices in `failed` got no chat completion (`no_completion`)."""
    scores: list[float | None] = []
    invalid: dict[str, int] = {}
    for index, reply in enumerate(replies):
        if index in failed:
            parsed = ParsedScore(None, "no_completion")
        else:
            parsed = parse_score(reply, lo, hi, integer=integer)
        scores.append(parsed.value)
        if parsed.value is None:
            invalid[parsed.status] = invalid.get(parsed.status, 0) + 1
    return ParsedScores(scores, list(replies), invalid)
