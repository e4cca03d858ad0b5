"""Split protocols, histories, train-only profiles, reference explanations, masking."""

from __future__ import annotations

import random

import pytest

import bench.data.catalog  # noqa: F401  (registers the specs)
from bench.api.errors import DataError
from bench.api.records import Record
from bench.api.registry import DATASETS
from bench.data.api import LoadedDataset, make_splits
from bench.data.masking import MASK_TOKEN, mask_records
from bench.data.profiles import feature_vocabulary, reference_explanation, split_sentences
from bench.data.report import LoadReport
from bench.data.settings import DataConfig
from bench.data.splits import parse_protocol

WORDS = ["strings", "tuner", "cable", "pedal", "sound", "capo", "mic", "amp", "pick", "strap"]


def synthetic(n_users: int = 30, per_user: int = 10, seed: int = 0) -> LoadedDataset:
    rng = random.Random(seed)
    records = []
    for u in range(n_users):
        for k in range(per_user):
            item = f"I{rng.randrange(40)}"
            word = WORDS[rng.randrange(len(WORDS))]
            records.append(Record(
                user_id=f"U{u}", item_id=item, rating=float(rng.randint(1, 5)),
                review=f"Okay. The {word} works as described and I use it daily. Fine.",
                summary=f"{word} review", title=f"Title {item}",
                timestamp=1_000_000 + 1000 * k + u, source=f"x:{len(records) + 1}",
            ))  # fmt: skip
    rng.shuffle(records)
    spec = DATASETS.get("amazon-instruments")
    report = LoadReport("synthetic", "amazon", "/tmp", "error", records_loaded=len(records))
    return LoadedDataset(name="synthetic", spec=spec, records=records, report=report)


def test_protocol_names():
    assert parse_protocol("random-3:1:1") == ("random", (3.0, 1.0, 1.0))
    assert parse_protocol("per-user-8:1:1") == ("per-user", (8.0, 1.0, 1.0))
    assert parse_protocol("time") == ("time", (8.0, 1.0, 1.0))
    assert parse_protocol("given") == ("given", None)
    with pytest.raises(DataError, match="unknown split protocol"):
        parse_protocol("leave-one-out")


@pytest.mark.parametrize("protocol", ["random-3:1:1", "per-user-8:1:1", "time"])
def test_same_seed_same_digests(protocol):
    data = synthetic()
    cfg = DataConfig(split=protocol)
    a, b = make_splits(data, cfg, seed=7), make_splits(data, cfg, seed=7)
    assert a.info["digests"] == b.info["digests"]
    assert [r.to_dict() for r in a.test] == [r.to_dict() for r in b.test]
    assert a.info["protocol"] == protocol and a.info["seed"] == 7
    assert len(a.info["digests"]["train"]) == 64


def test_different_seed_different_random_split():
    data = synthetic()
    cfg = DataConfig(split="random-3:1:1")
    assert (
        make_splits(data, cfg, 1).info["digests"]["test"]
        != make_splits(data, cfg, 2).info["digests"]["test"]
    )


def test_random_proportions_and_disjoint_cover():
    data = synthetic(n_users=100, per_user=10)
    splits = make_splits(data, DataConfig(split="random-3:1:1"), seed=0)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (600, 200, 200)
    sources = [r.source for r in splits.train + splits.valid + splits.test]
    assert sorted(sources) == sorted(r.source for r in data.records)


def test_per_user_is_time_ordered_8_1_1():
    data = synthetic(n_users=20, per_user=10)
    splits = make_splits(data, DataConfig(split="per-user-8:1:1"), seed=0)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (160, 20, 20)
    for user in {r.user_id for r in data.records}:
        train_t = [r.timestamp for r in splits.train if r.user_id == user]
        valid_t = [r.timestamp for r in splits.valid if r.user_id == user]
        test_t = [r.timestamp for r in splits.test if r.user_id == user]
        assert len(train_t) == 8 and len(valid_t) == 1 and len(test_t) == 1
        assert max(train_t) < valid_t[0] < test_t[0]


def test_time_protocol_is_globally_ordered():
    data = synthetic()
    splits = make_splits(data, DataConfig(split="time"), seed=0)
    assert max(r.timestamp for r in splits.train) <= min(r.timestamp for r in splits.valid)
    assert max(r.timestamp for r in splits.valid) <= min(r.timestamp for r in splits.test)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (240, 30, 30)


def test_labels_follow_the_threshold():
    data = synthetic()
    splits = make_splits(data, DataConfig(rating_threshold=4.0), seed=0)
    for r in splits.train + splits.valid + splits.test:
        assert r.label == int(r.rating >= 4.0)
    assert all(r.label is None for r in data.records)  # the loaded records are not modified


@pytest.mark.parametrize("history_len", [0, 3, 10])
def test_history_is_capped_prior_and_split_by_threshold(history_len):
    data = synthetic(n_users=10, per_user=15)
    cfg = DataConfig(split="per-user-8:1:1", history_len=history_len)
    splits = make_splits(data, cfg, seed=0)
    everything = splits.train + splits.valid + splits.test
    for record in everything:
        prior = sorted((r for r in everything if r.user_id == record.user_id and r.timestamp < record.timestamp),
                       key=lambda r: r.timestamp)[-history_len:] if history_len else []  # fmt: skip
        assert len(record.history_liked) + len(record.history_disliked) == len(prior)
        assert record.history_liked == [r.title for r in prior if r.rating >= 4.0]
        assert record.history_disliked == [r.title for r in prior if r.rating < 4.0]


def test_random_split_history_uses_earlier_train_records_only():
    data = synthetic()
    splits = make_splits(data, DataConfig(split="random-3:1:1", history_len=4), seed=3)
    for record in splits.train + splits.valid + splits.test:
        prior = sorted((r for r in splits.train if r.user_id == record.user_id and r.timestamp < record.timestamp),
                       key=lambda r: r.timestamp)[-4:]  # fmt: skip
        assert record.history_liked == [r.title for r in prior if r.rating >= 4.0]
        assert record.history_disliked == [r.title for r in prior if r.rating < 4.0]


def test_profiles_and_features_come_from_train_only():
    data = synthetic(n_users=20, per_user=10)
    splits = make_splits(data, DataConfig(split="per-user-8:1:1"), seed=0)
    # plant a word in every held-out review and summary: it must not reach any input
    data2 = synthetic(n_users=20, per_user=10)
    held = {r.source for r in splits.valid + splits.test}
    for r in data2.records:
        if r.source in held:
            r.review = "Zanzibarite zanzibarite. " + r.review
            r.summary = "zanzibarite"
            r.rating = 1.0
    planted = make_splits(data2, DataConfig(split="per-user-8:1:1"), seed=0)
    for a, b in zip(
        splits.train + splits.valid + splits.test,
        planted.train + planted.valid + planted.test,
        strict=True,
    ):
        assert (
            "zanzibarite" not in b.user_profile.lower()
            and "zanzibarite" not in b.item_profile.lower()
        )
        assert a.user_profile == b.user_profile and a.item_profile == b.item_profile
    # the user profile's average is the train average
    user = splits.test[0].user_id
    train_ratings = [r.rating for r in splits.train if r.user_id == user]
    assert splits.test[0].user_profile.startswith(
        f"Average rating {sum(train_ratings) / len(train_ratings):.1f} over {len(train_ratings)} reviews."
    )
    assert "zanzibarite" not in feature_vocabulary(planted.train)


def test_reference_explanation_rule():
    features = frozenset({"strings", "tuner"})
    cap = 15
    pick = Record(
        "u",
        "i",
        review="Wow. The strings sound bright and warm on my guitar. The tuner is fine too.",
    )
    assert (
        reference_explanation(pick, features, cap)
        == "The strings sound bright and warm on my guitar."
    )
    glued = Record("u", "i", review="Works.I love these strings a lot!Buy them")
    assert split_sentences(glued.review) == ["Works.", "I love these strings a lot!", "Buy them"]
    assert reference_explanation(glued, features, cap) == "I love these strings a lot!"
    fallback = Record("u", "i", review=" ".join(f"w{i}" for i in range(30)) + ". Short.")
    assert reference_explanation(fallback, features, cap) == " ".join(f"w{i}" for i in range(15))
    summary_only = Record("u", "i", review="", summary="Great strings")
    assert reference_explanation(summary_only, features, cap) == "Great strings"
    assert reference_explanation(Record("u", "i"), features, cap) == ""


def test_masking_is_seeded_and_leaves_targets_alone():
    record = Record("u", "i", rating=4.0, label=1, user_profile="alpha beta gamma delta epsilon zeta",
                    item_profile="kappa lambda", reference_explanation="ref")  # fmt: skip
    assert mask_records([record], 0.0)[0].user_profile == record.user_profile
    a = mask_records([record], 0.5, seed=1)[0]
    b = mask_records([record], 0.5, seed=1)[0]
    assert a.to_dict() == b.to_dict()
    assert (
        a.user_profile.split().count(MASK_TOKEN) == 3
        and a.item_profile.split().count(MASK_TOKEN) == 1
    )
    assert (a.rating, a.label, a.reference_explanation) == (4.0, 1, "ref")
    assert record.user_profile == "alpha beta gamma delta epsilon zeta"  # the input is not modified


def test_per_user_target_protocol_expctr():
    """ExpCTR §5.1.1: one random target per user, history = up to history_len interactions
    before it, samples cut 8:1:1; the user's other records are history only."""
    from bench.data.splits import targets_per_user

    assert parse_protocol("per-user-target-8:1:1") == ("per-user-target", (8.0, 1.0, 1.0))
    assert parse_protocol("per-user-target5-8:1:1") == ("per-user-target", (8.0, 1.0, 1.0))
    assert targets_per_user("per-user-target-8:1:1") == 1 and targets_per_user("per-user-target5-8:1:1") == 5
    with pytest.raises(DataError, match="unknown split protocol"):
        parse_protocol("per-user-target0-8:1:1")
    data = synthetic(n_users=30, per_user=10)
    splits = make_splits(data, DataConfig(split="per-user-target-8:1:1", history_len=4), seed=3)
    assert splits.info["counts"] == {"train": 24, "valid": 3, "test": 3, "unused": 270}  # 30 samples 8:1:1
    assert len(splits.history_only) == 270 and not {id(r) for r in splits.history_only} & {id(r) for r in splits.train}
    samples = [*splits.train, *splits.valid, *splits.test]
    assert sorted(r.user_id for r in samples) == sorted(f"U{u}" for u in range(30))  # one per user
    by_user = {}
    for r in data.records:
        by_user.setdefault(r.user_id, []).append(r)
    for r in samples:
        earlier = sorted((x for x in by_user[r.user_id] if x.timestamp < r.timestamp), key=lambda x: x.timestamp)[-4:]
        liked = [x.title for x in earlier if x.rating >= 4.0]
        disliked = [x.title for x in earlier if x.rating < 4.0]
        assert (r.history_liked, r.history_disliked) == (liked, disliked)
    # the target is drawn at random, not always the user's last record
    assert any(r.timestamp != max(x.timestamp for x in by_user[r.user_id]) for r in samples)
    again = make_splits(data, DataConfig(split="per-user-target-8:1:1", history_len=4), seed=3)
    assert again.info["digests"] == splits.info["digests"]


def test_per_user_target_k_keeps_each_user_in_one_split():
    data = synthetic(n_users=30, per_user=10)
    splits = make_splits(data, DataConfig(split="per-user-target5-8:1:1"), seed=0)
    assert splits.info["counts"] == {"train": 120, "valid": 15, "test": 15, "unused": 150}  # users cut 24:3:3
    users = [{r.user_id for r in part} for part in (splits.train, splits.valid, splits.test)]
    assert not (users[0] & users[1] or users[0] & users[2] or users[1] & users[2])
    assert all(sum(r.user_id == u for r in splits.train) == 5 for u in users[0])
