"""Checks on a chat model's replies that no single reply can fail: how many came back empty and
how many stop mid-sentence. Thinking models (Gemini 2.5 Flash, Qwen3 with thinking on) spend
`max_tokens` on hidden reasoning too, so a budget sized for the answer alone returns empty or cut
replies; teachers count them and warn (methods/currrl/teacher.py, methods/distill/teacher.py).
"Cut" is a heuristic (no closing punctuation): the chat client keeps no finish_reason."""

from __future__ import annotations

from collections.abc import Sequence

SENTENCE_END = (".", "!", "?", '"', "'", ")", "”", "’", "…")


def reply_problems(replies: Sequence[str | None]) -> dict[str, int]:
    """{"empty": replies with no text, "cut": replies that stop mid-sentence}."""
    texts = [(r or "").strip() for r in replies]
    return {"empty": sum(1 for t in texts if not t), "cut": sum(1 for t in texts if t and not t.endswith(SENTENCE_END))}


def budget_warning(who: str, problems: dict[str, int], total: int, max_tokens: int, key: str) -> str | None:
    """The one-line warning for empty / cut replies, or None when there are none."""
    if not (problems["empty"] or problems["cut"]):
        return None
    return (f"{who}: {problems['empty']} of {total} replies empty and {problems['cut']} stopping mid-sentence "
            f"with max_tokens={max_tokens}; a thinking model spends max_tokens on its reasoning too: raise {key}")  # fmt: skip
