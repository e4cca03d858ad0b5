"""Prompt templates of ExpCTR (§4.1 explanation, §4.2.2 CTR), with the domain nouns and title
lists of the LLM CTR baselines' history prompt (baselines.llm_ctr)."""

from __future__ import annotations

from baselines.llm_ctr import BOOKS, Domain, target_title, titles_text
from bench.api.records import Record


def explanation_prompt(record: Record, domain: Domain = BOOKS, max_items: int | None = None) -> str:
    """§4.1 "Prompt Template for Explanation Generation"."""
    d = domain
    return (
        f"You are a helpful online recommendation assistant with access to a vast database of "
        f"{d.items} and {d.reviewer} reviews. A customer has provided you with information about "
        f"their {d.activity} preferences:\n"
        f"The liked {d.items}: {titles_text(record.history_liked, max_items)}\n"
        f"The disliked {d.items}: {titles_text(record.history_disliked, max_items)}\n"
        f"Considering the preference of the customer, predict how the customer will consider "
        f'"{target_title(record)}" and give a reason. The answer should be within one sentence.'
    )


def ctr_prompt(explanation: str, record: Record, domain: Domain = BOOKS) -> str:
    """§4.2.2 "Prompt Template for CTR Prediction" with the explanation as <reason>."""
    d = domain
    return (
        f"Given how the user thinks about a {d.item}, identify whether the user will like the "
        f'target {d.item} by answering "Yes." or "No."\n'
        f"The user thought: {explanation.strip() or 'None'}\n"
        f'Whether the user will like the target {d.item} "{target_title(record)}":'
    )
