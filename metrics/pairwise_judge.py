"""The AI judge of Albert et al. (§1, §2): pairwise, with position swap and reject-both.

Given the recommendation context and two explanations, the judge picks one or rejects both
("equally good/bad"); the paper's judge is GPT-4.1 mini. Two uses:

- preference pairs for ORPO (§1): every pair is judged twice, once in each order (X shown as
  A, then Y shown as A), to cancel position bias. The pair is kept, with the preferred side
  as `chosen`, only when both orders pick the same explanation; it is dropped when either
  order says tie / both bad (the paper's rejection), when the orders disagree (order bias),
  or when a reply cannot be read. The paper keeps 942 of 1,250 pairs.
- arena battles (§2): each order is one vote (bench.api.judgments), answers left /
  right / tie / both_bad, the human app's four answers.

Judges:
- `EndpointPairwiseJudge`: any OpenAI-compatible chat model through bench.backbones.chat_client's client
  (temperature 0, retries, replies cached in SQLite by model, prompt sha256 and input, like
  GPTScore's). The reply must name one answer: A, B, TIE or BOTH_BAD (`parse_verdict`).
- `RuleJudge` (offline stand-in, named `rule-judge` wherever it reports): scores each
  explanation as (context facts it mentions) − (residual technical terms, metrics.
  explanation_style) − (one point per 30 words beyond 90) and prefers the higher score when
  the difference is at least `margin`; otherwise tie, or both_bad when neither scores above 0.
  It reads the same context facts every explainer gets (neighbour titles, genres, named path
  nodes); it is order-invariant by construction, so position swap never disagrees with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from metrics.explanation_style import technical_terms, tokens

ANSWERS = ("A", "B", "TIE", "BOTH_BAD")
ARENA_ANSWER = {"A": "left", "B": "right", "TIE": "tie", "BOTH_BAD": "both_bad"}

JUDGE_SYSTEM = (
    "You compare two explanations of the same movie recommendation. The recommendation comes "
    "with the recommender's own reasons (its most similar movies the user liked) and "
    "knowledge-graph connections. A good explanation is addressed to the user, is faithful to "
    "those reasons, is easy to read and would make the user want to watch the movie. Reply with "
    "exactly one word: A if explanation A is better, B if explanation B is better, TIE if they "
    "are equally good, BOTH_BAD if they are equally bad."
)
JUDGE_USER = "{context}\n\nExplanation A:\n{first}\n\nExplanation B:\n{second}\n\nAnswer (A, B, TIE or BOTH_BAD):"

_BOTH_BAD = r"both[\s_-]*(?:are[\s_-]*)?bad|equally[\s_-]+bad|neither"
_TIE = r"tie|equally[\s_-]+good|equal"
_LEAD = re.compile(rf"^[\W_]*(?:(?P<bad>{_BOTH_BAD})|(?P<tie>{_TIE})|(?P<ab>(?-i:[AB])))\b", re.IGNORECASE)


def parse_verdict(reply: str | None) -> str | None:
    """A, B, TIE or BOTH_BAD from a judge reply; None when it names none or several.

    The reply's first word decides ("**A**", "B.", "Answer: TIE", "Explanation A is better",
    "equally good" = TIE, "neither" / "both bad" / "equally bad" = BOTH_BAD). Otherwise the
    reply must name exactly one answer somewhere: a capital A or B standing alone, or one of
    the tie / both-bad phrases.
    """
    if reply is None:
        return None
    text = reply.strip()
    text = re.sub(r"^[\W_]*(answer|verdict|choice)\s*[:=-]\s*", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^[\W_]*explanation\s+", "", text, flags=re.IGNORECASE)
    bare = text.strip(" \t\n.*_`'\"()[]")
    if bare.lower() in ("a", "b"):
        return bare.upper()
    lead = _LEAD.match(text)
    if lead:
        if lead.group("bad"):
            return "BOTH_BAD"
        if lead.group("tie"):
            return "TIE"
        return lead.group("ab").upper()
    found = set(re.findall(r"(?<![\w'])([AB])(?![\w'])", text))
    if re.search(rf"\b(?:{_BOTH_BAD})\b", text, re.IGNORECASE):
        found.add("BOTH_BAD")
    elif re.search(rf"\b(?:{_TIE})\b", text, re.IGNORECASE):
        found.add("TIE")
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class JudgeInput:
    context: str  # the rendered recommendation context (methods.distill.context.render_context)
    facts: tuple[str, ...]  # names an explanation can be grounded in (for the rule judge)
    first: str  # shown as explanation A (left)
    second: str  # shown as explanation B (right)


@dataclass(frozen=True)
class Verdict:
    answer: str | None  # A | B | TIE | BOTH_BAD, None when the reply was unreadable
    reply: str | None  # the raw reply (the rule judge writes its two scores)


class PairwiseJudge(Protocol):
    name: str

    def judge(self, inputs: Sequence[JudgeInput]) -> list[Verdict]: ...

    def describe(self) -> dict[str, Any]: ...


# -- the offline rule judge ---------------------------------------------------------------------

_YEAR_SUFFIX = re.compile(r"\s*\(\d{4}\)$")


def _mention_key(fact: str) -> str:
    """A title as an explanation would name it: no year, no leading article, lower case."""
    core = _YEAR_SUFFIX.sub("", fact).strip().lower()
    return re.sub(r"^(the|a|an)\s+", "", core)


def rule_score(text: str, facts: Sequence[str]) -> float:
    """Facts mentioned − technical terms − 1 per 30 words beyond 90 (RuleJudge, above)."""
    if not text.strip():
        return float("-inf")
    low = " ".join(text.lower().split())
    mentioned = sum(1 for key in {_mention_key(f) for f in facts if f} if key and key in low)
    words = len(tokens(text))
    too_long = max(0, words - 90) / 30
    return mentioned - technical_terms(text) - too_long


class RuleJudge:
    """The documented offline stand-in for the AI judge (see the module docstring)."""

    name = "rule-judge"

    def __init__(self, margin: float = 1.0):
        self.margin = float(margin)

    def describe(self) -> dict[str, Any]:
        return {"judge": self.name, "kind": "rule (offline stand-in)", "margin": self.margin}

    def judge(self, inputs: Sequence[JudgeInput]) -> list[Verdict]:
        out = []
        for item in inputs:
            a, b = rule_score(item.first, item.facts), rule_score(item.second, item.facts)
            if a - b >= self.margin:
                answer = "A"
            elif b - a >= self.margin:
                answer = "B"
            elif max(a, b) <= 0:
                answer = "BOTH_BAD"
            else:
                answer = "TIE"
            out.append(Verdict(answer, f"rule scores A={a:g} B={b:g}"))
        return out


# -- a model behind an OpenAI-compatible endpoint -------------------------------------------------


class EndpointPairwiseJudge:
    """Any OpenAI-compatible chat model; replies cached like GPTScore's (bench.backbones.chat_client)."""

    def __init__(self, client: Any):
        from bench.backbones.chat_client import PromptTemplate

        self.client = client
        self.template = PromptTemplate("distill-pairwise-judge-v1", JUDGE_SYSTEM, JUDGE_USER)
        self.name = f"judge:{client.settings.model}"

    def describe(self) -> dict[str, Any]:
        return {"judge": self.name, "kind": "endpoint", **self.client.version(self.template)}

    def judge(self, inputs: Sequence[JudgeInput]) -> list[Verdict]:
        replies = self.client.complete(
            self.template,
            [{"context": i.context, "first": i.first, "second": i.second} for i in inputs],
        )
        return [Verdict(parse_verdict(r), r) for r in replies]


def endpoint_judge(base_url: str, model: str, api_key_env: str | None = "OPENAI_API_KEY",
                   cache_path: str | None = None, max_tokens: int = 8) -> EndpointPairwiseJudge:  # fmt: skip
    from bench.backbones.chat_client import JudgeClient, JudgeSettings

    settings = JudgeSettings(base_url=base_url, model=model, api_key_env=api_key_env,
                             max_tokens=max_tokens, cache_path=cache_path)  # fmt: skip
    return EndpointPairwiseJudge(JudgeClient(settings))


# -- the two-order protocol -----------------------------------------------------------------------


@dataclass(frozen=True)
class SwappedJudgement:
    """One pair (x, y) judged as (A=x, B=y) and as (A=y, B=x)."""

    x_first: Verdict
    y_first: Verdict

    @property
    def preferred(self) -> str | None:
        """"x" or "y" when both orders pick the same side; None otherwise."""
        a, b = self.x_first.answer, self.y_first.answer
        if a == "A" and b == "B":
            return "x"
        if a == "B" and b == "A":
            return "y"
        return None

    @property
    def outcome(self) -> str:
        """kept | rejected_both (a tie or both-bad answer) | order_bias | unparseable."""
        answers = (self.x_first.answer, self.y_first.answer)
        if self.preferred is not None:
            return "kept"
        if None in answers:
            return "unparseable"
        if any(a in ("TIE", "BOTH_BAD") for a in answers):
            return "rejected_both"
        return "order_bias"


def judge_swapped(judge: PairwiseJudge, items: Sequence[tuple[str, Sequence[str], str, str]]) -> list[SwappedJudgement]:
    """Judge every (context, facts, x, y) in both orders (2 calls per pair, one batch)."""
    inputs = [JudgeInput(c, tuple(f), x, y) for c, f, x, y in items]
    inputs += [JudgeInput(c, tuple(f), y, x) for c, f, x, y in items]
    verdicts = judge.judge(inputs)
    n = len(items)
    return [SwappedJudgement(verdicts[k], verdicts[n + k]) for k in range(n)]
