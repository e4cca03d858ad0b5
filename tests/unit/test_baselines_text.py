"""Shared text plumbing of the classic baselines: tokenizer, vocab, sequences, greedy decoding,
the PETER attention mask, and the Sentires-like feature extractor."""

from __future__ import annotations

import torch

from baselines.peter import peter_mask, subsequent_mask
from baselines.text import Corpus, EntityIndex, Vocab, format_sequence, greedy_decode
from bench.api.records import Record
from bench.data.features import FeatureExtractor, split_sentences
from bench.data.tokens import tokenize


def test_tokenize_splits_punctuation_and_lowercases():
    assert tokenize("Great TONE, isn't it?") == ["great", "tone", ",", "isn", "'", "t", "it", "?"]


def test_vocab_specials_first_then_by_frequency():
    v = Vocab.build([["b", "a", "b"], ["c", "b", "a"]], max_size=2)
    assert v.itos == ["<bos>", "<eos>", "<pad>", "<unk>", "b", "a"]
    assert v.encode(["a", "zzz"]) == [5, v.unk]
    assert v.decode([v.bos, 4, 5, v.eos, 4]) == ["b", "a"]


def test_entity_index_unknown_is_row_zero():
    idx = EntityIndex(["u2", "u1", "u2"])
    assert len(idx) == 3 and idx["u1"] == 1 and idx["u2"] == 2 and idx["cold"] == 0


def test_format_sequence_caps_and_pads():
    assert format_sequence([7, 8], 4, 0, 1, 2) == [0, 7, 8, 1, 2, 2]
    assert format_sequence([7, 8, 9, 10, 11], 3, 0, 1, 2) == [0, 7, 8, 9, 1]


def test_greedy_decode_stops_at_eos_and_honours_the_cap():
    bos, eos, vocab = 0, 1, 6
    calls = []

    def step(prefix):
        calls.append(prefix.size(1))
        b, t = prefix.shape
        scores = torch.zeros(b, vocab)
        # row 0: emits 4, 5, then <eos> at step 3; row 1 never emits <eos>
        row0 = [4, 5, eos, 3][min(t - 1, 3)]
        scores[0, row0] = 1.0
        scores[1, 3] = 1.0
        return scores

    out = greedy_decode(step, 2, bos=bos, eos=eos, max_len=5)
    assert out == [[4, 5], [3, 3, 3, 3, 3]]
    assert calls == [1, 2, 3, 4, 5]  # the cap stops the loop


def test_greedy_decode_ends_early_when_every_row_finished():
    calls = []

    def step(prefix):
        calls.append(1)
        scores = torch.zeros(prefix.size(0), 4)
        scores[:, 1] = 1.0  # <eos> immediately
        return scores

    assert greedy_decode(step, 3, bos=0, eos=1, max_len=15) == [[], [], []]
    assert len(calls) == 1


def test_peter_mask_hand_checked():
    # [user, item, feature, bos, w1] : True = blocked
    T, F = True, False
    expected = torch.tensor(
        [
            [F, F, T, T, T],  # user sees user and item only
            [F, F, T, T, T],  # item sees user and item only
            [F, F, F, T, T],  # feature: left-to-right
            [F, F, F, F, T],
            [F, F, F, F, F],
        ]
    )
    assert torch.equal(peter_mask(3, 2), expected)
    # without the feature, and the plain left-to-right ablation differs only at [0, 1]
    m = peter_mask(2, 3)
    lr = subsequent_mask(5)
    assert not m[0, 1] and lr[0, 1]
    diff = (m != lr).nonzero().tolist()
    assert diff == [[0, 1]]


def _rec(u, i, r, review, ref=""):
    return Record(user_id=u, item_id=i, rating=r, review=review, reference_explanation=ref)


def test_feature_extractor_pairs_features_with_opinions():
    train = [
        _rec("u1", "a", 5, "Great sound. The strap is sturdy."),
        _rec("u2", "a", 5, "The sound is great and the price is nice."),
        _rec("u3", "b", 2, "The strap is flimsy. Bad sound."),
        _rec("u4", "b", 4, "Nice price, great sound!"),
    ]
    fx = FeatureExtractor(min_count=2).fit(train)
    assert {"sound", "strap", "price"} <= fx.feature_set
    assert "great" not in fx.feature_set and "the" not in fx.feature_set
    q = fx.extract(_rec("u9", "b", 1, "", ref="The strap is not sturdy at all"))
    assert (q.feature, q.opinion, q.sentiment, q.in_sentence) == ("strap", "sturdy", -1, True)
    q = fx.extract(_rec("u9", "a", 5, "Arrived on a Tuesday."))
    assert q.sentence == "Arrived on a Tuesday." and not q.in_sentence
    assert q.feature in fx.feature_set  # fallback: the item's most frequent feature
    assert split_sentences("One. Two! three") == ["One.", "Two!", "three"]


def test_corpus_encode_shapes_and_unknowns():
    train = [_rec("u1", "a", 5.0, "", "good sound"), _rec("u2", "b", 1.0, "", "bad strap here")]
    c = Corpus.build(train, max_words=3, vocab_size=100, explanation_fn=lambda r: r.reference_explanation,
                     feature_fn=lambda r: r.reference_explanation.split()[-1])
    enc = c.encode(train + [Record(user_id="new", item_id="a", rating=None, reference_explanation="x y")])
    assert enc["seq"].shape == (3, 5)
    assert enc["user"].tolist() == [1, 2, 0]
    assert enc["rating"].tolist() == [5.0, 1.0, 3.0] and enc["rating_mask"].tolist() == [1, 1, 0]
    assert c.vocab.itos[int(enc["feature"][0])] == "sound"
    assert c.clamp_rating(7.0) == 5.0 and c.clamp_rating(-1.0) == 1.0
