"""GPTScore as XRec defines it, and the judge's explanation -> star-rating prompt.

GPTScore (XRec, Ma et al. 2024; reused by Curr-RLCER §4.1). XRec's evaluation/metrics.py sends
gpt-3.5-turbo a system prompt asking it to score the explanation against the ground truth on a
0-100 scale, judging the alignment of meanings rather than formatting, and to answer with the
number only; the user message is the JSON object {"prediction": ..., "reference": ...}. The
reported GPTScore is the mean of the per-pair scores and GPTstd their population std.
The system prompt is a file (`eval.judge_prompt_file`; trailing whitespace is dropped); the
default, metrics/prompts/gptscore.txt, states that intent in our own wording. The user message is
XRec's: json.dumps({"prediction": ..., "reference": ...}). We differ from XRec in two documented
ways: temperature is 0 unless eval.judge_temperature is set (XRec used the API default, 1.0 at
OpenAI; the paper profiles set it), and a reply that is not a number in 0..100 is
excluded and counted (`gptscore_unparseable`), where XRec's float(reply) would crash.
Naming: the judge model is in the name, and so is the prompt unless it is XRec's own
(HKUDS/XRec evaluation/system_prompt.txt, recognised by its sha256, XREC_PROMPT_SHA256):
gptscore[gpt-3.5-turbo] is XRec's GPTScore, gptscore[gpt-3.5-turbo,prompt-<8 hex>] the same judge
with another prompt (the default one included), so scores from different prompts never share a
column. The metric version holds the prompt file, its full sha256 and the template sha256.

Judge rating (Curr-RLCER eq. 8, r2 "from the LLM judge"): RATING_TEMPLATE asks the judge which
1-5 star rating the explanation implies; `judge_rating(texts)` returns one float per text, None
where the reply was not an integer in 1..5 (the caller counts and excludes those).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api.errors import ConfigError, MetricUnavailable
from bench.api.loads import Load
from bench.api.settings import Settings
from bench.backbones.chat_client import (
    JudgeClient,
    JudgeEndpointSettings,
    JudgeSettings,
    ParsedScores,
    PromptTemplate,
    unconfigured_reason,
)
from metrics.base import Batch, Metric, MetricValue


@dataclass
class GPTScoreSettings(Settings):
    section = "gptscore"
    always_hashed = True
    # GPTScore system prompt file; unset: metrics/prompts/gptscore.txt. Its sha256 is in the
    # metric version, and in the name unless it is XRec's prompt (metrics.gptscore)
    judge_prompt_file: str | None = None


DEFAULT_PROMPT_FILE = Path(__file__).parent / "prompts" / "gptscore.txt"
# sha256 of XRec's system prompt (HKUDS/XRec evaluation/system_prompt.txt, trailing whitespace
# dropped): scores made with it keep the bare name gptscore[<judge>] of the papers' columns.
XREC_PROMPT_SHA256 = "11b1492dcdfdb101a8b8857df839415941b2ae7db3d9d75560de0c53c1825d43"
# XRec's user message: json.dumps({"prediction": p, "reference": r}) (judge.PromptTemplate.render)
XREC_USER_MESSAGE = '{{"prediction": {prediction}, "reference": {reference}}}'


@dataclass(frozen=True)
class GPTScorePrompt:
    """The GPTScore system prompt read from a file."""

    path: Path
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def name_tag(self) -> str | None:
        """None for XRec's own prompt; else prompt-<first 8 hex of its sha256> for the name."""
        return None if self.sha256 == XREC_PROMPT_SHA256 else f"prompt-{self.sha256[:8]}"

    def template(self) -> PromptTemplate:
        return PromptTemplate("gptscore-xrec/v1", self.text, XREC_USER_MESSAGE, json_fields=True)


def read_prompt_file(path: str | os.PathLike[str]) -> GPTScorePrompt:
    """The prompt in `path` (trailing whitespace dropped); a ConfigError naming it if unreadable."""
    where = Path(path).expanduser()
    try:
        text = where.read_text(encoding="utf-8").rstrip()
    except (OSError, UnicodeDecodeError) as exc:
        why = "does not exist" if isinstance(exc, FileNotFoundError) else f"cannot be read ({exc})"
        raise ConfigError(f"eval.judge_prompt_file: {where} {why}") from None
    if not text:
        raise ConfigError(f"eval.judge_prompt_file: {where} is empty")
    return GPTScorePrompt(where, text)


def gptscore_prompt(eval_cfg: Any = None) -> GPTScorePrompt:
    """eval.judge_prompt_file when set, else the default prompt shipped with the package."""
    return read_prompt_file(GPTScoreSettings.of(eval_cfg).judge_prompt_file or DEFAULT_PROMPT_FILE)


GPTSCORE_TEMPLATE = read_prompt_file(DEFAULT_PROMPT_FILE).template()  # the default prompt

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
    if cache_dir is not None and JudgeEndpointSettings.of(eval_cfg).judge_cache_path is None:
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
    settings_classes = (GPTScoreSettings, JudgeEndpointSettings)

    @classmethod
    def loads(cls, eval_cfg: Any) -> list[Load]:
        return cls.judge_endpoint(eval_cfg, "eval.judge_base_url (GPTScore)")

    def __init__(self, eval_cfg: Any = None, judge_client: JudgeClient | None = None, **context: Any):
        super().__init__(eval_cfg, **context)
        self.prompt = gptscore_prompt(eval_cfg)
        self.template = self.prompt.template()
        self.client = client_from(eval_cfg, judge_client, context.get("cache_dir"))
        self.last: ParsedScores | None = None

    @property
    def checkpoint(self) -> str | None:
        if self.client is None:
            return None
        model = short_model_name(self.client.settings.model)
        return f"{model},{self.prompt.name_tag}" if self.prompt.name_tag else model

    def version(self) -> dict[str, Any]:
        v = {
            **super().version(),
            "scale": list(GPTSCORE_RANGE),
            "definition": "XRec GPTScore",
            "judge_prompt_file": str(self.prompt.path),
            "judge_prompt_file_sha256": self.prompt.sha256,
        }
        if self.client is not None:
            v.update(self.client.version(self.template))
        return v

    def available(self) -> tuple[bool, str]:
        if self.client is None:
            return False, unconfigured_reason(self.eval_cfg)
        return True, ""

    def score_pairs(self, predictions: Sequence[str], references: Sequence[str]) -> ParsedScores:
        if self.client is None:
            raise MetricUnavailable(unconfigured_reason(self.eval_cfg))
        inputs = [{"prediction": p, "reference": r} for p, r in zip(predictions, references, strict=True)]
        self.last = self.client.score(self.template, inputs, *GPTSCORE_RANGE)
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
