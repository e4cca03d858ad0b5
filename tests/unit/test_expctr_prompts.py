"""ExpCTR §4.1 / §4.2.2 prompts and the TALLRec/ICL history prompt."""

from __future__ import annotations

from baselines.llm_ctr import BOOKS, MOVIES, answer_text, domain_for, history_prompt
from bench.api.records import Record
from methods.expctr.prompts import ctr_prompt, explanation_prompt


def _record(**kw):
    base = dict(
        user_id="u1",
        item_id="i9",
        rating=5.0,
        label=1,
        title="Dune",
        history_liked=["Emma", "Ulysses", "Hamlet"],
        history_disliked=["Twilight"],
    )
    base.update(kw)
    return Record(**base)


def test_explanation_prompt_holds_history_target_and_one_sentence():
    text = explanation_prompt(_record(), BOOKS)
    assert text.startswith("You are a helpful online recommendation assistant")
    assert 'The liked books: "Emma", "Ulysses", "Hamlet"\n' in text
    assert 'The disliked books: "Twilight"\n' in text
    assert 'how the customer will consider "Dune" and give a reason' in text
    assert text.endswith("The answer should be within one sentence.")


def test_explanation_prompt_empty_history_and_truncation():
    text = explanation_prompt(_record(history_disliked=[]), MOVIES, max_items=2)
    assert 'The liked movies: "Ulysses", "Hamlet"\n' in text  # the two most recent
    assert "The disliked movies: None\n" in text
    assert explanation_prompt(_record(title=""), BOOKS).count('"item i9"') == 1


def test_ctr_prompt_embeds_the_explanation():
    text = ctr_prompt("  They love sci-fi classics. ", _record(), BOOKS)
    assert (
        'identify whether the user will like the target book by answering "Yes." or "No."' in text
    )
    assert "The user thought: They love sci-fi classics.\n" in text
    assert text.endswith('Whether the user will like the target book "Dune":')


def test_history_prompt_tallrec_style():
    text = history_prompt(_record(), MOVIES)
    assert 'User Preference: "Emma", "Ulysses", "Hamlet"' in text
    assert 'User Unpreference: "Twilight"' in text
    assert text.endswith('Whether the user will like the target movie "Dune"?')
    assert answer_text(1) == "Yes." and answer_text(0) == "No."


def test_domain_for_datasets():
    assert domain_for("ml-100k") is MOVIES and domain_for("ml-20m") is MOVIES
    assert domain_for("bookcrossing") is BOOKS and domain_for("amazon-books") is BOOKS
    assert domain_for("ml-100k", "books") is BOOKS
