"""A client for any OpenAI-compatible chat endpoint, used by the model-judged metrics.

Transport is the standard library only (urllib.request); no `openai` or `requests` package.

What it guarantees:
- temperature 0 by default, the model name pinned in every request and in the metric version,
  together with the sha256 of the prompt template (`PromptTemplate.sha256`); name a dated
  snapshot (gpt-3.5-turbo-0125, not gpt-3.5-turbo) for numbers that stay comparable. The model
  name the endpoint reports in each reply is stored with it and listed in the version as
  `judge_served_models`;
- bounded concurrency (a thread pool of `max_concurrency` workers);
- retries with exponential backoff (capped, small jitter, `Retry-After` honoured) on timeouts,
  connection errors, HTTP 408, 429, 5xx and an HTTP 200 whose body is not a chat completion
  (e.g. a proxy's HTML error page); any other 4xx fails at once with `JudgeError` (a bad key or
  an unknown model does not get better by retrying). A request still without a chat
  completion after its retries counts as one invalid reply (`no_completion`); only when
  FAILED_IN_A_ROW requests (or every request of the call, if fewer) fail that way in a row
  does the metric become unavailable. An endpoint still failing otherwise after the retries
  (timeouts, 5xx) makes it unavailable at once;
- an on-disk SQLite cache keyed by (model, prompt-template sha256, input sha256); the input hash
  covers the rendered messages and the generation parameters. Raw replies are cached, never
  parsed scores, so a parser change needs no cache invalidation. No pickle anywhere;
- reply parsing that never scores silently: a reply with no usable number, or a number outside
  the scale, gives None and is counted by reason (`ParsedScores.invalid`). Metrics exclude these
  from the mean and report the count.

Endpoint, model and API-key variable come from EvalConfig (judge_base_url, judge_model,
judge_api_key_env, judge_max_concurrency, judge_timeout_s, judge_max_retries,
judge_cache_path; unset ones keep JudgeSettings' defaults). When the key variable is unset or empty no
Authorization header is sent (local servers such as `python -m metrics.judge_server`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from metrics.base import MetricUnavailable
from metrics.settings import JudgeEndpointSettings


def is_retryable_status(code: int) -> bool:
    """Request timeout (408), rate limit (429) and every server error (5xx); no other 4xx."""
    return code in (408, 429) or 500 <= code <= 599


class JudgeError(BenchError, MetricUnavailable):
    """The judge endpoint refused a request (4xx) or kept failing after every retry.

    A MetricUnavailable, so the suite reports the metric unavailable with this message (the
    replies obtained so far stay cached) instead of aborting the other metrics.
    """


class NoCompletionError(JudgeError):
    """One request got HTTP 200 replies that were not chat completions, on every attempt."""


# Requests in a row without a chat completion after which the endpoint counts as broken (a
# proxy answering every request with HTML), instead of retrying every remaining request.
FAILED_IN_A_ROW = 5


# -- prompt templates ---------------------------------------------------------------------------


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
    text = reply.strip()
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


# -- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JudgeSettings:
    base_url: str  # e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1
    model: str
    api_key_env: str | None = "OPENAI_API_KEY"
    max_concurrency: int = 4
    timeout_s: float = 120.0
    max_retries: int = 5  # retries after the first attempt
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    max_tokens: int = 16
    temperature: float = 0.0
    cache_path: str | None = None  # None: <cache_dir>/judge/replies.sqlite; "" disables caching

    @classmethod
    def from_eval_cfg(cls, eval_cfg: Any, **overrides: Any) -> JudgeSettings | None:
        """Settings from EvalConfig (judge_base_url, judge_model, ...); None when unconfigured."""
        endpoint = JudgeEndpointSettings.of(eval_cfg)
        base_url = overrides.pop("base_url", None) or endpoint.judge_base_url
        model = overrides.pop("model", None) or endpoint.judge_model
        if not base_url or not model:
            return None
        kw: dict[str, Any] = {
            name: getattr(endpoint, f"judge_{name}")
            for name in ("api_key_env", "max_concurrency", "timeout_s", "max_retries", "cache_path")
            if getattr(endpoint, f"judge_{name}") is not None
        }
        kw.update(overrides)
        return cls(base_url=base_url, model=model, **kw)

    @property
    def chat_url(self) -> str:
        url = self.base_url.rstrip("/")
        if url.endswith("/chat/completions"):
            return url
        if not url.endswith("/v1"):
            url += "/v1"
        return url + "/chat/completions"


def unconfigured_reason(eval_cfg: Any) -> str:
    missing = [
        name for name in ("judge_base_url", "judge_model")
        if not getattr(JudgeEndpointSettings.of(eval_cfg), name)
    ]
    return (
        f"no judge endpoint configured ({', '.join(missing)} unset); set eval.judge_base_url "
        "to an OpenAI-compatible /v1 endpoint and eval.judge_model to its model name"
    )


# -- cache ----------------------------------------------------------------------------------------


class ReplyCache:
    """SQLite store of raw judge replies, keyed by (model, prompt sha256, input sha256)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS replies ("
                " model TEXT NOT NULL, prompt_sha256 TEXT NOT NULL, input_sha256 TEXT NOT NULL,"
                " reply TEXT, served_model TEXT, created REAL NOT NULL,"
                " PRIMARY KEY (model, prompt_sha256, input_sha256))"
            )

    def get(self, model: str, prompt_sha: str, input_sha: str) -> tuple[bool, str | None, str | None]:
        """(hit, reply, served_model); the served model is what the endpoint said it ran."""
        with self._lock:
            row = self._db.execute(
                "SELECT reply, served_model FROM replies"
                " WHERE model=? AND prompt_sha256=? AND input_sha256=?",
                (model, prompt_sha, input_sha),
            ).fetchone()
        return (True, row[0], row[1]) if row else (False, None, None)

    def put(self, model: str, prompt_sha: str, input_sha: str, reply: str | None,
            served_model: str | None = None) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO replies"
                " (model, prompt_sha256, input_sha256, reply, served_model, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (model, prompt_sha, input_sha, reply, served_model, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


# -- client ---------------------------------------------------------------------------------------


@dataclass
class JudgeStats:
    requests: int = 0  # HTTP attempts sent (retries included)
    cache_hits: int = 0
    retries: int = 0
    completions: int = 0  # replies obtained from the endpoint
    failed: int = 0  # requests still without a chat completion after their retries

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


class JudgeClient:
    """Chat completions against one endpoint and model, cached and retried."""

    def __init__(
        self,
        settings: JudgeSettings,
        *,
        cache: ReplyCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        if cache is None and settings.cache_path != "":
            path = settings.cache_path
            if path is None:
                from bench.paths import cache_dir

                path = str(cache_dir() / "judge" / "replies.sqlite")
            cache = ReplyCache(path)
        self.cache = cache
        self._sleep = sleep
        self._stats_lock = threading.Lock()
        self.stats = JudgeStats()
        self.served_models: set[str] = set()  # the "model" field of replies (snapshot names)

    # identity that goes into a metric's version()
    def version(self, template: PromptTemplate) -> dict[str, Any]:
        v: dict[str, Any] = {
            "judge_model": self.settings.model,
            "prompt_template": template.name,
            "prompt_sha256": template.sha256,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
        }
        if self.served_models:  # e.g. gpt-3.5-turbo answered as gpt-3.5-turbo-0125
            v["judge_served_models"] = sorted(self.served_models)
        return v

    def _saw(self, served_model: str | None) -> None:
        if served_model:
            with self._stats_lock:
                self.served_models.add(served_model)

    def _bump(self, **counts: int) -> None:
        with self._stats_lock:
            for key, n in counts.items():
                setattr(self.stats, key, getattr(self.stats, key) + n)

    def _payload(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "model": self.settings.model,
            "messages": messages,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
        }

    @staticmethod
    def input_sha256(payload: dict[str, Any]) -> str:
        body = {k: v for k, v in payload.items() if k != "model"}
        return hashlib.sha256(
            json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")
        ).hexdigest()

    def complete(self, template: PromptTemplate, inputs: Sequence[dict[str, Any]]) -> list[str | None]:
        """Raw reply text for each input's rendered prompt (cache first, then the endpoint);
        None for a request that got no chat completion (see `complete_with_failures`)."""
        return self.complete_with_failures(template, inputs)[0]

    def complete_with_failures(
        self, template: PromptTemplate, inputs: Sequence[dict[str, Any]]
    ) -> tuple[list[str | None], set[int]]:
        """(raw replies, indices of the inputs whose request got no chat completion)."""
        payloads = [self._payload(template.render(**fields)) for fields in inputs]
        keys = [self.input_sha256(p) for p in payloads]
        prompt_sha = template.sha256
        replies: dict[str, str | None] = {}
        todo: dict[str, dict[str, Any]] = {}
        for key, payload in zip(keys, payloads, strict=True):
            if key in replies or key in todo:
                continue
            if self.cache is not None:
                hit, reply, served = self.cache.get(self.settings.model, prompt_sha, key)
                if hit:
                    replies[key] = reply
                    self._saw(served)
                    self._bump(cache_hits=1)
                    continue
            todo[key] = payload

        failed: set[str] = set()
        streak = _FailureStreak(min(FAILED_IN_A_ROW, len(todo)))

        def fetch(item: tuple[str, dict[str, Any]]) -> tuple[str, str | None]:
            key, payload = item
            try:
                reply, served = self.chat_full(payload)
            except NoCompletionError as exc:
                self._bump(failed=1)
                streak.failed(exc)  # raises once too many requests in a row failed
                failed.add(key)
                return key, None  # never cached: the next run asks again
            streak.succeeded()
            if self.cache is not None:
                self.cache.put(self.settings.model, prompt_sha, key, reply, served)
            return key, reply

        if todo:
            workers = max(1, min(int(self.settings.max_concurrency), len(todo)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge") as pool:
                for key, reply in pool.map(fetch, todo.items()):
                    replies[key] = reply
        return [replies[k] for k in keys], {n for n, k in enumerate(keys) if k in failed}

    def score(
        self,
        template: PromptTemplate,
        inputs: Sequence[dict[str, Any]],
        lo: float,
        hi: float,
        *,
        integer: bool = False,
    ) -> ParsedScores:
        replies, failed = self.complete_with_failures(template, inputs)
        return parse_all(replies, lo, hi, integer=integer, failed=failed)

    # -- one request with retries ---------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        env = self.settings.api_key_env
        key = os.environ.get(env, "") if env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        s = self.settings
        delay = min(s.backoff_max_s, s.backoff_initial_s * (2**attempt))
        if retry_after:
            try:
                delay = max(delay, min(s.backoff_max_s, float(retry_after)))
            except ValueError:
                pass
        return delay + random.uniform(0, 0.1 * delay)

    def chat(self, payload: dict[str, Any]) -> str | None:
        """POST one chat completion; the reply's message content (None if the server sent none)."""
        return self.chat_full(payload)[0]

    def chat_full(self, payload: dict[str, Any]) -> tuple[str | None, str | None]:
        """(message content, the model name the endpoint reports) for one chat completion."""
        s = self.settings
        body = json.dumps(payload).encode("utf-8")
        last_problem, failure = "", JudgeError
        for attempt in range(s.max_retries + 1):
            if attempt:
                self._bump(retries=1)
            self._bump(requests=1)
            request = urllib.request.Request(s.chat_url, data=body, headers=self._headers(), method="POST")
            retry_after = None
            try:
                with urllib.request.urlopen(request, timeout=s.timeout_s) as response:
                    raw = response.read()
            except urllib.error.HTTPError as exc:
                detail = _snippet(exc.read() if exc.fp is not None else b"")
                if not is_retryable_status(exc.code):
                    raise JudgeError(
                        f"judge endpoint {s.chat_url} answered HTTP {exc.code} for model "
                        f"{s.model!r}: {detail}"
                    ) from None
                last_problem, failure = f"HTTP {exc.code}: {detail}", JudgeError
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                last_problem, failure = f"{type(reason).__name__}: {reason}", JudgeError
            else:
                message = _message_content(raw)
                if message is not None:
                    self._bump(completions=1)
                    self._saw(message[1])
                    return message
                # e.g. a proxy's HTML error page with status 200: transient, like a 502
                last_problem = f"HTTP 200 with a reply that is not a chat completion: {_snippet(raw)}"
                failure = NoCompletionError
            if attempt < s.max_retries:
                self._sleep(self._delay(attempt, retry_after))
        raise failure(
            f"judge endpoint {s.chat_url} failed {s.max_retries + 1} times; last: {last_problem}"
        )


def _snippet(raw: bytes, limit: int = 300) -> str:
    text = raw.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:limit] + ("..." if len(text) > limit else "")


def _message_content(raw: bytes) -> tuple[str | None, str | None] | None:
    """(message content, served model) of a chat-completion body; None for any other body."""
    try:
        data = json.loads(raw)
        served = data.get("model")
        return data["choices"][0]["message"].get("content"), served if isinstance(served, str) else None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


class _FailureStreak:
    """Counts requests in a row without a chat completion; raises at `limit` of them."""

    def __init__(self, limit: int):
        self.limit = limit
        self.count = 0
        self._lock = threading.Lock()

    def succeeded(self) -> None:
        with self._lock:
            self.count = 0

    def failed(self, exc: NoCompletionError) -> None:
        with self._lock:
            self.count += 1
            if self.count >= self.limit:
                raise JudgeError(f"{exc}; {self.count} requests in a row got no chat completion")


def with_settings(client: JudgeClient, **changes: Any) -> JudgeClient:
    """A client sharing the cache of `client` with some settings changed (e.g. max_tokens)."""
    return JudgeClient(replace(client.settings, **changes), cache=client.cache, sleep=client._sleep)


def make_rating_judge(eval_cfg: Any = None, cache_dir: str | os.PathLike[str] | None = None):
    """The 1-5 judge-rating callable (metrics.gptscore.JudgeRater), or None when unconfigured.

    For the coherence metric (Curr-RLCER eq. 8, r2 from the LLM judge): call it with texts, get
    one float or None (invalid reply, excluded and counted in `.last`) per text.
    """
    from metrics.gptscore import make_judge  # the prompt lives with the other judge prompts

    return make_judge(eval_cfg, cache_dir=cache_dir)
