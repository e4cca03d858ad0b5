"""Prompt templates of ExpCTR (§4.1 explanation, §4.2.2 CTR) and the TALLRec/ICL history prompt.

The paper's templates are written for books; `Domain` swaps the nouns ("books"/"reading" for
Book-Crossing and Amazon Books, "movies"/"viewing" for MovieLens), as §4.1 says the template
"can be easily adapted to different recommendation scenarios with minor adjustments".
Histories are the record's `history_liked` / `history_disliked` titles (up to 10 prior items,
split by the dataset's rating threshold); an empty list is written as "None".
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.records import Record


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


def _titles(titles: list[str], max_items: int | None = None) -> str:
    """Quoted titles, the most recent `max_items` (histories are oldest first)."""
    titles = [t for t in titles if t]
    if max_items:
        titles = titles[-max_items:]
    return ", ".join(f'"{t}"' for t in titles) if titles else "None"


def target_title(record: Record) -> str:
    return record.title or f"item {record.item_id}"


def explanation_prompt(record: Record, domain: Domain = BOOKS, max_items: int | None = None) -> str:
    """§4.1 "Prompt Template for Explanation Generation"."""
    d = domain
    return (
        f"You are a helpful online recommendation assistant with access to a vast database of "
        f"{d.items} and {d.reviewer} reviews. A customer has provided you with information about "
        f"their {d.activity} preferences:\n"
        f"The liked {d.items}: {_titles(record.history_liked, max_items)}\n"
        f"The disliked {d.items}: {_titles(record.history_disliked, max_items)}\n"
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


def history_prompt(record: Record, domain: Domain = BOOKS, max_items: int | None = None) -> str:
    """TALLRec's instruction (Bao et al. 2023), also the ICL query: liked/disliked history,
    target item, answer Yes or No."""
    d = domain
    return (
        f"Given the user's preference and unpreference, identify whether the user will like the "
        f'target {d.item} by answering "Yes." or "No.".\n'
        f"User Preference: {_titles(record.history_liked, max_items)}\n"
        f"User Unpreference: {_titles(record.history_disliked, max_items)}\n"
        f'Whether the user will like the target {d.item} "{target_title(record)}"?'
    )


def answer_text(label: int) -> str:
    """The TALLRec training target for a label."""
    return "Yes." if int(label) == 1 else "No."
