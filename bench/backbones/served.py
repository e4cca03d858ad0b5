"""Generation through an OpenAI-compatible server instead of in-process: `vllm serve`, SGLang,
TGI, llama.cpp's server, or `python -m bench.backbones.chat_server` for a local check.

The prompts go out concurrently through the judge's HTTP client (bench.backbones.chat_client.JudgeClient:
bounded concurrency, retries with capped exponential backoff on timeouts / 429 / 5xx, no
retry on other 4xx, and its SQLite reply cache, here under <cache dir>/generation/), so a
killed run asks the server only for what it has not answered yet. Greedy by default
(temperature 0). A chat prompt is a system message and a user message at most, as the
judge's templates are; the server applies its own chat template.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.api.errors import BenchError, ConfigError

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class ServedGeneration:
    base_url: str  # e.g. http://127.0.0.1:8000/v1
    model: str  # the name the server serves the model under
    api_key_env: str | None = "OPENAI_API_KEY"  # unset or empty: no Authorization header
    max_concurrency: int = 16
    timeout_s: float = 600.0
    cache_path: str | None = None  # None: <cache dir>/generation/replies.sqlite; "": no cache

    @classmethod
    def from_params(cls, params: Any) -> ServedGeneration:
        """From a method's generation_* parameters; a missing endpoint is a one-line error."""
        if not (params.generation_base_url and params.generation_model):
            raise ConfigError("model.generation=openai needs model.generation_base_url (the server's /v1 "
                              "address) and model.generation_model (the name it serves the model under)")
        return cls(params.generation_base_url, params.generation_model, params.generation_api_key_env,
                   params.generation_max_concurrency)  # fmt: skip


def system_and_user(prompt: Messages | str) -> tuple[str, str]:
    """(system message or "", user message) of one chat prompt."""
    if isinstance(prompt, str):
        return "", prompt
    roles = [m.get("role") for m in prompt]
    if roles == ["user"]:
        return "", prompt[0]["content"]
    if roles == ["system", "user"]:
        return prompt[0]["content"], prompt[1]["content"]
    raise BenchError(f"a served generation prompt is [system,] user messages, got roles {roles}")


def generate_served(
    prompts: Sequence[Messages | str],
    served: ServedGeneration,
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    advance: Callable[[int], None] | None = None,
) -> list[str]:
    """One completion per prompt from the server, in input order (cached replies first)."""
    from bench.backbones.chat_client import JudgeClient, JudgeSettings
    from bench.backbones.chat_prompt import PromptTemplate

    cache_path = served.cache_path
    if cache_path is None:
        from bench.api.paths import cache_dir

        cache_path = str(cache_dir() / "generation" / "replies.sqlite")
    client = JudgeClient(JudgeSettings(
        base_url=served.base_url, model=served.model, api_key_env=served.api_key_env,
        max_concurrency=served.max_concurrency, timeout_s=served.timeout_s,
        max_tokens=max_new_tokens, temperature=temperature, cache_path=cache_path,
    ))  # fmt: skip
    parts = [system_and_user(p) for p in prompts]
    out: list[str] = [""] * len(parts)
    chunk = max(1, 4 * served.max_concurrency)  # requests in flight together, between progress steps
    for start in range(0, len(parts), chunk):
        index = list(range(start, min(start + chunk, len(parts))))
        for system in dict.fromkeys(parts[i][0] for i in index):  # one template per system message
            rows = [i for i in index if parts[i][0] == system]
            template = PromptTemplate(name="generation", system=system, user="{user}")
            replies, failed = client.complete_with_failures(template, [{"user": parts[i][1]} for i in rows])
            if failed:
                raise BenchError(f"the generation server {served.base_url} sent no completion for "
                                 f"{len(failed)} prompt(s) after its retries")  # fmt: skip
            for i, reply in zip(rows, replies, strict=True):
                out[i] = reply or ""
        if advance is not None:
            advance(len(index))
    return out
