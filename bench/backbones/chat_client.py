"""A client for any OpenAI-compatible chat endpoint, used by the model-judged metrics.

Transport is the standard library only (urllib.request); no `openai` or `requests` package.

What it guarantees:
- temperature 0 by default, the model name pinned in every request and in the metric version,
  together with the sha256 of the prompt template (`PromptTemplate.sha256`); name a dated
  snapshot (gpt-3.5-turbo-0125, not gpt-3.5-turbo) for numbers that stay comparable. The model
  name the endpoint reports in each reply is stored with it and listed in the version as
  `judge_served_models`;
- bounded concurrency (a thread pool of `max_concurrency` workers);
- retries (tenacity) with exponential backoff (capped, small jitter, `Retry-After` honoured) on timeouts,
  connection errors, HTTP 408, 429, 5xx and an HTTP 200 whose body is not a chat completion
  (e.g. a proxy's HTML error page); any other 4xx fails at once with `JudgeError` (a bad key or
  an unknown model does not get better by retrying). A request still without a chat
  completion after its retries counts as one invalid reply (`no_completion`); only when
  FAILED_IN_A_ROW requests (or every request of the call, if fewer) fail that way in a row
  does the metric become unavailable. An endpoint still failing otherwise after the retries
  (timeouts, 5xx) makes it unavailable at once;
- an on-disk SQLite cache (bench.backbones.chat_cache) keyed by (model, prompt-template sha256, input
  sha256); the input hash covers the rendered messages and the generation parameters. No pickle;
- reply parsing that never scores silently (bench.backbones.chat_prompt).

Endpoint, model and API-key variable come from EvalConfig (judge_base_url, judge_model,
judge_api_key_env, judge_max_concurrency, judge_timeout_s, judge_max_retries,
judge_cache_path; unset ones keep JudgeSettings' defaults). When the key variable is unset or empty no
Authorization header is sent (local servers such as `python -m bench.backbones.chat_server`).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench.api.errors import BenchError, MetricUnavailable
from bench.api.settings import Settings
from bench.backbones.chat_cache import ReplyCache
from bench.backbones.chat_prompt import ParsedScores, PromptTemplate, parse_all


@dataclass
class JudgeEndpointSettings(Settings):
    """The OpenAI-compatible endpoint for GPTScore and the judge coherence source."""

    section = "judge"
    always_hashed = True
    judge_base_url: str | None = None
    judge_model: str | None = None
    judge_api_key_env: str = "OPENAI_API_KEY"
    judge_max_concurrency: int = 4
    # unset (None): the judge client's defaults (bench.backbones.chat_client.JudgeSettings): 120 s per HTTP
    # attempt, 5 retries, replies cached in <cache dir>/judge/replies.sqlite ("" disables it)
    judge_timeout_s: float | None = None
    judge_max_retries: int | None = None  # retries after the first attempt
    judge_cache_path: str | None = None
    # sampling temperature of the judge's requests; unset (None): 0. XRec's GPTScore call passes
    # none, so the API default applies (OpenAI: 1.0): the paper profiles set 1.0
    judge_temperature: float | None = None


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
            for name in ("api_key_env", "max_concurrency", "timeout_s", "max_retries", "cache_path",
                         "temperature")
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
                from bench.api.paths import cache_dir

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
    def _key(self) -> str:
        env = self.settings.api_key_env
        return os.environ.get(env, "") if env else ""

    def _clean(self, text: str) -> str:
        """`text` with the API key (and any quoted bearer token) redacted (bench.api.redact): what
        an endpoint echoes never reaches a message, the cache, metrics.json or predictions."""
        from bench.api.redact import redact

        return redact(text, [self._key()])

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = self._key()
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
        """(message content, the model name the endpoint reports) for one chat completion,
        retried by tenacity on transient failures with `_delay` between attempts."""
        import tenacity

        s = self.settings
        body = json.dumps(payload).encode("utf-8")
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(s.max_retries + 1),
            wait=lambda state: self._delay(state.attempt_number - 1, state.outcome.exception().retry_after),
            retry=tenacity.retry_if_exception_type(_Transient),
            sleep=self._sleep,
            before_sleep=lambda _state: self._bump(retries=1),
            reraise=True,
        )
        try:
            return retrying(self._attempt, body)
        except _Transient as exc:
            raise exc.failure(
                f"judge endpoint {s.chat_url} failed {s.max_retries + 1} times; last: {exc.problem}"
            ) from None

    def _attempt(self, body: bytes) -> tuple[str | None, str | None]:
        """One POST: the completion, a JudgeError for a reply retrying cannot fix (4xx), or
        _Transient for one it may (timeouts, connection errors, 408/429/5xx, a 200 that is not
        a chat completion)."""
        s = self.settings
        self._bump(requests=1)
        request = urllib.request.Request(s.chat_url, data=body, headers=self._headers(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=s.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = self._clean(_snippet(_error_body(exc)))
            if not is_retryable_status(exc.code):
                raise JudgeError(
                    f"judge endpoint {s.chat_url} answered HTTP {exc.code} for model "
                    f"{s.model!r}: {detail}"
                ) from None
            retry_after = exc.headers.get("Retry-After") if exc.headers else None
            raise _Transient(f"HTTP {exc.code}: {detail}", JudgeError, retry_after) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            # HTTPException: a reply cut short of its Content-Length, a garbled status line
            # (found by fuzzing: a traceback before)
            reason = getattr(exc, "reason", exc)
            raise _Transient(self._clean(f"{type(reason).__name__}: {reason}"), JudgeError) from None
        message = _message_content(raw)
        if message is None:  # e.g. a proxy's HTML error page with status 200: like a 502
            problem = f"HTTP 200 with a reply that is not a chat completion: {self._clean(_snippet(raw))}"
            raise _Transient(problem, NoCompletionError)
        content, served = (None if m is None else self._clean(m) for m in message)
        self._bump(completions=1)
        self._saw(served)
        return content, served


class _Transient(Exception):
    """One attempt's retryable failure: what went wrong, the error to raise once the retries
    run out, and the server's Retry-After."""

    def __init__(self, problem: str, failure: type[JudgeError], retry_after: str | None = None):
        super().__init__(problem)
        self.problem, self.failure, self.retry_after = problem, failure, retry_after


def _error_body(exc: urllib.error.HTTPError) -> bytes:
    """An error reply's body, or b"" when it cannot be read (cut short, reset)."""
    try:
        return exc.read() if exc.fp is not None else b""
    except (http.client.HTTPException, OSError):
        return b""


def _snippet(raw: bytes, limit: int = 300) -> str:
    text = raw.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:limit] + ("..." if len(text) > limit else "")


def _message_content(raw: bytes) -> tuple[str | None, str | None] | None:
    """(message content, served model) of a chat-completion body; None for any other body."""
    try:
        data = json.loads(raw)
        served = data.get("model")
        content = data["choices"][0]["message"].get("content")
        return _text_of(content), served if isinstance(served, str) else None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def _text_of(content: Any) -> str | None:
    """A message's text: a string, or the text parts of a content-part list joined; anything
    else (a number, a mapping: found by fuzzing) is no text."""
    if isinstance(content, str) or content is None:
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        texts = [p["text"] for p in content if p.get("type") == "text" and isinstance(p.get("text"), str)]
        return "".join(texts) if texts else None
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
