"""GPTScore as XRec defines it, and the judge's explanation -> star-rating prompt.

GPTScore (XRec, Ma et al. 2024; reused by Curr-RLCER §4.1). XRec's evaluation/metrics.py sends
gpt-3.5-turbo a system prompt asking it to score the explanation against the ground truth on a
0-100 scale, judging the alignment of meanings rather than formatting, and to answer with the
number only; the user message is the JSON object {"prediction": ..., "reference": ...}. The
reported GPTScore is the mean of the per-pair scores and GPTstd their population std.
We keep that intent and the JSON user message, with our own wording (GPTSCORE_TEMPLATE). We differ
in two documented ways: temperature is 0 (XRec used the API default), and a reply that is not a
number in 0..100 is excluded and counted (`gptscore_unparseable`), where XRec's float(reply) would
crash. The judge model and the template sha256 are in the metric version and the model in the
name: gptscore[gpt-3.5-turbo] and gptscore[Qwen2.5-7B-Instruct] are different columns.

Judge rating (Curr-RLCER eq. 8, r2 "from the LLM judge"): RATING_TEMPLATE asks the judge which
1-5 star rating the explanation implies; `judge_rating(texts)` returns one float per text, None
where the reply was not an integer in 1..5 (the caller counts and excludes those).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from metrics.base import Batch, Metric, MetricUnavailable, MetricValue
from metrics.judge import (
    JudgeClient,
    JudgeSettings,
    ParsedScores,
    PromptTemplate,
    unconfigured_reason,
)

GPTSCORE_TEMPLATE = PromptTemplate(
    name="gptscore-xrec/v1",
    system=(
        "Compare the predicted explanation with the ground-truth explanation and score how well "
        "their meanings agree, from 0 (unrelated or contradictory) to 100 (the same meaning). "
        "Judge meaning only; ignore wording, length and formatting.\n"
        "Answer with the score as a number and nothing else."
    ),
    user='{{"prediction": {prediction}, "reference": {reference}}}',
    json_fields=True,
)

RATING_TEMPLATE = PromptTemplate(
    name="judge-rating/v1",
    system=(
        "You are given an explanation of why a product or business suits a user. Decide which "
        "star rating, from 1 (very negative) to 5 (very positive), the user gave the item, "
        "judging only from the sentiment of the explanation.\n"
        "Answer with a single integer from 1 to 5 and nothing else."
    ),
    user="Explanation: {explanation}",
)

GPTSCORE_RANGE = (0.0, 100.0)
RATING_RANGE = (1.0, 5.0)


def client_from(
    eval_cfg: Any = None,
    judge_client: JudgeClient | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> JudgeClient | None:
    """The judge client for this evaluation, or None when no endpoint is configured.

    Replies are cached in <cache_dir>/judge/replies.sqlite (the suite's cache_dir when given,
    else the user cache dir), unless eval_cfg.judge_cache_path says otherwise.
    """
    if judge_client is not None:
        return judge_client
    if cache_dir is not None and getattr(eval_cfg, "judge_cache_path", None) is None:
        overrides.setdefault("cache_path", str(Path(cache_dir) / "judge" / "replies.sqlite"))
    settings = JudgeSettings.from_eval_cfg(eval_cfg, **overrides)
    return JudgeClient(settings) if settings is not None else None


def short_model_name(model: str) -> str:
    """'Qwen/Qwen2.5-7B-Instruct' -> 'Qwen2.5-7B-Instruct' for the reported name."""
    return model.rstrip("/").rsplit("/", 1)[-1]


class GPTScore(Metric):
    """XRec's GPTScore: the judge scores each explanation against its reference, 0-100."""

    name = "gptscore"
    needs = frozenset({"explanation", "reference"})
    level = "sample"
    higher_is_better = True
    reports = ("gptscore", "gptscore_unparseable")

    def __init__(self, eval_cfg: Any = None, judge_client: JudgeClient | None = None, **context: Any):
        super().__init__(eval_cfg, **context)
        self.client = client_from(eval_cfg, judge_client, context.get("cache_dir"))
        self.last: ParsedScores | None = None

    @property
    def checkpoint(self) -> str | None:
        return short_model_name(self.client.settings.model) if self.client else None

    def version(self) -> dict[str, Any]:
        v = {**super().version(), "scale": list(GPTSCORE_RANGE), "definition": "XRec GPTScore"}
        if self.client is not None:
            v.update(self.client.version(GPTSCORE_TEMPLATE))
        return v

    def available(self) -> tuple[bool, str]:
        if self.client is None:
            return False, unconfigured_reason(self.eval_cfg)
        return True, ""

    def score_pairs(self, predictions: Sequence[str], references: Sequence[str]) -> ParsedScores:
        if self.client is None:
            raise MetricUnavailable(unconfigured_reason(self.eval_cfg))
        inputs = [{"prediction": p, "reference": r} for p, r in zip(predictions, references, strict=True)]
        self.last = self.client.score(GPTSCORE_TEMPLATE, inputs, *GPTSCORE_RANGE)
        return self.last

    def compute(self, batch: Batch) -> list[MetricValue]:
        parsed = self.score_pairs(batch.texts("explanation"), batch.texts("reference"))
        # Unparseable replies are excluded from the mean; their count is its own reported value.
        main = self.value_from_samples(self.name, parsed.valid)
        unparseable = self.value(
            "gptscore_unparseable", float(parsed.n_invalid), parsed.n_total, None,
            higher_is_better=False,
        )
        return [main, unparseable]


class JudgeRater:
    """Callable texts -> 1-5 ratings (None where invalid); keeps the last invalid counts."""

    def __init__(self, client: JudgeClient):
        self.client = client
        self.last: ParsedScores | None = None

    @property
    def model(self) -> str:
        return self.client.settings.model

    def version(self) -> dict[str, Any]:
        return {**self.client.version(RATING_TEMPLATE), "scale": list(RATING_RANGE)}

    def __call__(self, texts: Sequence[str]) -> list[float | None]:
        inputs = [{"explanation": t} for t in texts]
        self.last = self.client.score(RATING_TEMPLATE, inputs, *RATING_RANGE, integer=True)
        return self.last.scores


def make_judge(
    eval_cfg: Any = None,
    judge_client: JudgeClient | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> JudgeRater | None:
    """The `judge` callable for the suite context, or None when no endpoint is configured."""
    client = client_from(eval_cfg, judge_client, cache_dir)
    return JudgeRater(client) if client is not None else None


def judge_rating(
    texts: Sequence[str], *, eval_cfg: Any = None, judge_client: JudgeClient | None = None
) -> list[float | None]:
    """Explanation -> the 1-5 star rating the judge infers (None where the reply was invalid)."""
    rater = make_judge(eval_cfg, judge_client)
    if rater is None:
        raise MetricUnavailable(unconfigured_reason(eval_cfg))
    return rater(texts)
