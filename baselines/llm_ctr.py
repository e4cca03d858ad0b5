"""What the LLM CTR baselines ask (TALLRec, ICL; ExpCTR Table 1): the history prompt, its
answer, the domain nouns, and the first-token Yes/No score of a backbone on it.

The papers' templates are written for books; `Domain` swaps the nouns ("books"/"reading" for
Book-Crossing and Amazon Books, "movies"/"viewing" for MovieLens), as ExpCTR §4.1 says the
template "can be easily adapted to different recommendation scenarios with minor adjustments".
Histories are the record's `history_liked` / `history_disliked` titles (up to 10 prior items,
split by the dataset's rating threshold); an empty list is written as "None". ExpCTR's own
prompts (methods.expctr.prompts) use the same nouns and title lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.api.records import Record


@dataclass(frozen=True)
class Domain:
    item: str  # singular noun: "book"
    items: str  # plural: "books"
    activity: str  # "reading"
    reviewer: str  # "reader"


BOOKS = Domain("book", "books", "reading", "reader")
MOVIES = Domain("movie", "movies", "viewing", "viewer")
ITEMS = Domain("item", "items", "shopping", "customer")


def domain_for(dataset: str, override: str = "auto") -> Domain:
    """'auto': movies for MovieLens (ml-*), books for bookcrossing / amazon-books, else items."""
    choice = override if override != "auto" else dataset.lower()
    if choice in ("book", "books") or "book" in choice:
        return BOOKS
    if choice in ("movie", "movies") or choice.startswith("ml-") or "movielens" in choice:
        return MOVIES
    return ITEMS


def titles_text(titles: list[str], max_items: int | None = None) -> str:
    """Quoted titles, the most recent `max_items` (histories are oldest first)."""
    titles = [t for t in titles if t]
    if max_items:
        titles = titles[-max_items:]
    return ", ".join(f'"{t}"' for t in titles) if titles else "None"


def target_title(record: Record) -> str:
    return record.title or f"item {record.item_id}"


def history_prompt(record: Record, domain: Domain = BOOKS, max_items: int | None = None) -> str:
    """TALLRec's instruction (Bao et al. 2023), also the ICL query: liked/disliked history,
    target item, answer Yes or No."""
    d = domain
    return (
        f"Given the user's preference and unpreference, identify whether the user will like the "
        f'target {d.item} by answering "Yes." or "No.".\n'
        f"User Preference: {titles_text(record.history_liked, max_items)}\n"
        f"User Unpreference: {titles_text(record.history_disliked, max_items)}\n"
        f'Whether the user will like the target {d.item} "{target_title(record)}"?'
    )


def answer_text(label: int) -> str:
    """The TALLRec training target for a label."""
    return "Yes." if int(label) == 1 else "No."


def history_ctr_scores(
    model: Any,
    tokenizer: Any,
    records: Sequence[Any],
    domain: Any,
    *,
    yes_words: Sequence[str] = ("Yes",),
    no_words: Sequence[str] = ("No",),
    max_items: int | None = None,
    batch_size: int = 8,
    max_prompt_tokens: int | None = 768,
    advance: Callable[[int], None] | None = None,
) -> np.ndarray:
    """P(Yes)/(P(Yes)+P(No)) of the first answer token on the TALLRec/ICL history prompt."""
    from bench.backbones.answer_scoring import answer_token_ids, first_token_probs, yes_ratio
    from bench.backbones.generate import render_chat

    prompts = [render_chat(tokenizer, history_prompt(r, domain, max_items)) for r in records]
    p_yes, p_no = first_token_probs(
        model, tokenizer, prompts, answer_token_ids(tokenizer, yes_words), answer_token_ids(tokenizer, no_words),
        batch_size=batch_size, max_prompt_tokens=max_prompt_tokens, advance=advance,
    )  # fmt: skip
    return yes_ratio(p_yes, p_no)
