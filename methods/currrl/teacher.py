"""Curr-RLCER's teacher: the DPO chosen side from an LLM (§3.2 "Stage3": GPT-3.5's explanation).

Every request goes through the shared OpenAI-compatible chat client (bench.backbones.chat_client.JudgeClient,
as the judge, GPTScore and the distillation teacher): bounded concurrency
(model.teacher_max_concurrency), retries with backoff that honour Retry-After (429, 5xx,
timeouts), and the on-disk reply cache, so a rerun — or a run resumed after a crash — sends no
request for a prompt already answered. A 4xx other than 408/429, or an endpoint still failing
after the retries, is one line naming model.teacher_base_url.

Token budget: `model.teacher_max_tokens` (default 128, the budget this teacher always had) is the
`max_tokens` of each request. Thinking models count their hidden reasoning against it (Gemini
2.5 Flash through its OpenAI-compatible endpoint does), so a small budget can return an empty or
cut reply: give such a teacher 1024 or more. Empty replies and replies that stop mid-sentence (no
closing punctuation: a heuristic, the client does not keep finish_reason) are counted in
stages/3a_dpo/pairs_stats.json (`teacher`) and warned about; an empty one yields no pair.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from bench.api.errors import BenchError
from bench.api.records import Record
from bench.backbones.replies import budget_warning, reply_problems
from methods.currrl.rewards import extract_answer

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]
DEFAULT_MAX_TOKENS = 128
TEMPLATE_NAME = "currrl-teacher"
def teacher_explanations(
    records: Sequence[Record],
    prompt_fn: Callable[[Record], Messages],
    client: Any,
) -> tuple[list[str], dict[str, Any]]:
    """(one chosen explanation per record, "" where the teacher gave none; stats) from `client`
    (a bench.backbones.chat_client.JudgeClient). Prompts are the records' stage-3 chat messages."""
    from bench.backbones.chat_client import JudgeError
    from bench.backbones.chat_prompt import PromptTemplate

    messages = [prompt_fn(r) for r in records]
    by_system: dict[str, list[int]] = {}
    for i, m in enumerate(messages):
        system = m[0]["content"] if len(m) > 1 and m[0]["role"] == "system" else ""
        by_system.setdefault(system, []).append(i)
    replies: list[str | None] = [None] * len(records)
    failed = 0
    for system, indices in by_system.items():
        template = PromptTemplate(TEMPLATE_NAME, system, "{prompt}")
        try:
            got, lost = client.complete_with_failures(template, [{"prompt": messages[i][-1]["content"]} for i in indices])
        except JudgeError as exc:
            raise BenchError(f"Curr-RLCER teacher (model.teacher_base_url): {exc}") from None
        failed += len(lost)
        for i, reply in zip(indices, got, strict=True):
            replies[i] = reply
    texts = [(extract_answer(r, lenient=True) or r.strip()) if r and r.strip() else "" for r in replies]
    stats = {**reply_problems(texts), "records": len(records), "no_completion": failed,
             **{k: v for k, v in client.stats.as_dict().items() if k in ("requests", "cache_hits", "retries")}}  # fmt: skip
    warning = budget_warning("Curr-RLCER teacher", stats, len(records), client.settings.max_tokens,
                             "model.teacher_max_tokens")  # fmt: skip
    if warning:
        log.warning(warning)
    return texts, stats


def teacher_client(params: Any) -> Any:
    """The shared chat client for the teacher settings of Curr-RLCER's Params."""
    from bench.backbones.chat_client import JudgeClient, JudgeSettings

    settings = JudgeSettings(
        base_url=params.teacher_base_url, model=params.teacher_model, api_key_env=params.teacher_api_key_env,
        max_tokens=params.teacher_max_tokens or DEFAULT_MAX_TOKENS, temperature=0.0,
        max_concurrency=params.teacher_max_concurrency,  # replies cached with the judge's (user cache dir)
    )  # fmt: skip
    return JudgeClient(settings)
