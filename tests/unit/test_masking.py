"""Random entity masking (bench.data.masking): ratio, determinism, untouched targets."""

import random

import pytest

from bench.api.records import Record
from bench.data.masking import MASK_TOKEN, mask_record, mask_records, mask_text


def rec(i=0):
    return Record(
        user_id=f"u{i}", item_id=f"i{i}", rating=5.0, label=1,
        review="These strings sound bright and stay in tune for weeks of daily practice",
        user_profile="guitarist who likes bright tone", item_profile="nickel wound electric strings",
        reference_explanation="bright tone that stays in tune",
    )  # fmt: skip


def test_mask_text_masks_round_ratio_of_content_words():
    text = "the quick brown fox jumps over the lazy dog"  # 6 content words (the, over stop)
    out = mask_text(text, 0.5, random.Random(0))
    assert out.count(MASK_TOKEN) == 3
    assert out.split()[0] == "the"  # stopwords stay
    assert mask_text(text, 1.0, random.Random(0)).count(MASK_TOKEN) == 6
    assert mask_text(text, 0.01, random.Random(0)).count(MASK_TOKEN) == 1  # at least one
    assert mask_text(text, 0.0, random.Random(0)) == text
    assert mask_text("", 0.5, random.Random(0)) == ""


def test_mask_text_keeps_punctuation_and_spacing():
    out = mask_text("Great, loud!", 1.0, random.Random(0))
    assert out == f"{MASK_TOKEN}, {MASK_TOKEN}!"


def test_mask_records_deterministic_and_order_independent():
    records = [rec(i) for i in range(5)]
    a = mask_records(records, 0.3, seed=7)
    b = mask_records(list(reversed(records)), 0.3, seed=7)[::-1]
    assert [r.review for r in a] == [r.review for r in b]
    c = mask_records(records, 0.3, seed=8)
    assert [r.review for r in a] != [r.review for r in c]


def test_mask_record_touches_inputs_only():
    r = rec()
    m = mask_record(r, 0.5, seed=0)
    assert MASK_TOKEN in m.review and MASK_TOKEN in m.user_profile and MASK_TOKEN in m.item_profile
    assert m.reference_explanation == r.reference_explanation and m.rating == r.rating
    assert r.review.count(MASK_TOKEN) == 0  # the input record is not mutated
    assert m.extras["mask_ratio"] == 0.5
    assert mask_records([r], 0.0)[0] is r


def test_mask_ratio_validated():
    with pytest.raises(ValueError):
        mask_records([rec()], 1.5)
