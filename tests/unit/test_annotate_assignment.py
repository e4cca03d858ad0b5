"""Who is served what: K annotators per item, quotas, balanced sides and pair exposure,
adaptive pair choice, practice first and gold at its rate, undo; `create` refuses a
coherence campaign over a run without predicted ratings."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bench.annotate.assignment import GOLD, REAL, ItemRow, Policy, ServedRow, next_item
from bench.annotate.campaign import create_campaign, invite
from bench.annotate.store import Annotator
from bench.api.errors import BenchError
from metrics.arena import Battle
from metrics.arena_uncertainty import pair_variances
from tests.fixtures.annotate.runs import three_runs, write_explaining_run


def annotators(campaign, count: int) -> list[Annotator]:
    invite(campaign, count)
    with campaign.store.connect() as conn:
        return [
            Annotator(r["id"], r["name"]) for r in conn.execute("SELECT id, name FROM annotators")
        ]


def served_rows(campaign) -> list[dict]:
    with campaign.store.connect() as conn:
        return [dict(r) for r in conn.execute(
            "SELECT s.annotator_id, s.item_id, s.a_on_left, i.run_a, i.run_b, i.kind FROM served s"
            " JOIN items i ON i.id = s.item_id ORDER BY s.rowid")]  # fmt: skip


def test_k_per_item_quota_and_balanced_sides_and_pairs(tmp_path):
    runs = three_runs(tmp_path / "runs", n=8)
    campaign = create_campaign("arena", [str(r) for r in runs], 12, seed=3, out=tmp_path / "c",
                               policy=Policy(per_item=2, quota=5))  # fmt: skip
    people = annotators(campaign, 5)  # 5 x quota 5 = 25 places for the 24 serves
    store = campaign.store
    for round_ in range(6):  # annotators take turns, one item each, as a live study would
        for who in people:
            served = store.serve(who)
            if served is not None:
                store.record_answer(who, served.item.id, served.nonce, "tie")
                assert served.total is None and served.position == round_ + 1  # no total known
    rows = served_rows(campaign)
    per_item = Counter(r["item_id"] for r in rows)
    assert set(per_item.values()) == {2} and len(per_item) == 12  # 24 serves = 12 items x 2
    per_person = Counter(r["annotator_id"] for r in rows)
    assert max(per_person.values()) == 5 and sum(per_person.values()) == 24  # quota 5
    assert len({(r["annotator_id"], r["item_id"]) for r in rows}) == 24  # nobody sees one twice
    exposure = Counter(tuple(sorted((r["run_a"], r["run_b"]))) for r in rows)
    assert len(exposure) == 3 and max(exposure.values()) - min(exposure.values()) <= 1
    for pair in exposure:  # the pair's first run was shown left about as often as right
        left = sum((r["run_a"] if r["a_on_left"] else r["run_b"]) == pair[0] for r in rows
                   if tuple(sorted((r["run_a"], r["run_b"]))) == pair)  # fmt: skip
        assert abs(2 * left - exposure[pair]) <= 1
    assert all(store.serve(who) is None for who in people)  # every item has its 2


def test_adaptive_picks_the_pair_whose_difference_is_most_uncertain():
    # A-B and A-C compared often, B-C never: Var(θB − θC) is the largest
    battles = [Battle(0, 1, "a")] * 10 + [Battle(1, 0, "a")] * 6 + [Battle(0, 2, "b")] * 9 + \
        [Battle(2, 0, "b")] * 7  # fmt: skip
    var = pair_variances(3, battles)
    assert var[(1, 2)] > var[(0, 1)] and var[(1, 2)] > var[(0, 2)]
    assert var[(1, 2)] == pytest.approx(var[(0, 1)] + var[(0, 2)], rel=0.05)  # a chain's sum
    items = {k: ItemRow(k, REAL, *pair) for k, pair in
             enumerate([("A", "B")] * 3 + [("A", "C")] * 3 + [("B", "C")] * 3)}  # fmt: skip
    served = [ServedRow(9, 0, True, "left"), ServedRow(9, 1, True, "right"),
              ServedRow(9, 3, False, "left"), ServedRow(9, 4, True, "tie")]  # fmt: skip
    chosen = next_item(items, served, 1, "annotator-1", Policy(adaptive=True), seed=0)
    assert items[chosen].pair == ("B", "C")
    # not adaptive: the least exposed pair (B-C, with no serve yet)
    assert items[next_item(items, served, 1, "annotator-1", Policy(), seed=0)].pair == ("B", "C")
    # once B-C has 3 answered battles and A-B, A-C 2 each, B-C is no longer the least certain
    served += [ServedRow(9, k, True, "left") for k in (6, 7, 8)]
    adaptive = next_item(items, served, 1, "annotator-1", Policy(adaptive=True), seed=0)
    assert items[adaptive].pair in {("A", "B"), ("A", "C")}


def test_practice_first_gold_at_its_rate_and_undo(tmp_path):
    run = write_explaining_run(tmp_path / "r", "cer", lambda i: f"cer says {i}", n=8)
    practice, gold = tmp_path / "practice.jsonl", tmp_path / "gold.jsonl"
    practice.write_text(json.dumps({"explanation": "Terrible, it broke.", "answer": "1"}) + "\n")
    gold.write_text("".join(json.dumps({"explanation": f"Perfect {k}", "answer": ["5"]}) + "\n"
                            for k in range(3)))  # fmt: skip
    campaign = create_campaign("coherence", [str(run)], 6, seed=0, out=tmp_path / "c",
                               practice=practice, gold=gold, policy=Policy(gold_rate=1 / 3))  # fmt: skip
    (who,) = annotators(campaign, 1)
    store, kinds = campaign.store, []
    while (served := store.serve(who)) is not None:
        kinds.append(served.item.kind)
        recorded = store.record_answer(who, served.item.id, served.nonce, "5")
        assert recorded.kind == served.item.kind
        if served.item.kind == "practice":
            assert recorded.expected == ("1",)
    # practice, then one gold after every 3 real answers (2 of the 3 gold items are used)
    assert kinds == ["practice", *[REAL] * 3, GOLD, *[REAL] * 3, GOLD]
    assert served is None and store.answered_by(who) == 8
    assert store.undo(who) is not None  # the last gold comes back
    again = store.serve(who)
    assert again.item.kind == GOLD and store.answered_by(who) == 7
    with store.connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM undone").fetchone()[0] == 1
    assert campaign.meta["extra_items"] == {"practice": 1, "gold": 3}
    assert len(store.answers()) == 6  # real answers only, as export and analyze read them


def test_create_refuses_a_coherence_campaign_without_predicted_ratings(tmp_path):
    run = write_explaining_run(tmp_path / "r", "llm-zeroshot", lambda i: f"says {i}",
                               rating=lambda i: None)  # fmt: skip
    with pytest.raises(BenchError, match="has no predicted rating"):
        create_campaign("coherence", [str(run)], 2, out=tmp_path / "c")
    assert not (tmp_path / "c").exists()
    arena_runs = three_runs(tmp_path / "runs", n=4)
    with pytest.raises(BenchError, match="--adaptive is for arena"):
        create_campaign("coherence", [str(arena_runs[0])], 2, out=tmp_path / "d",
                        policy=Policy(adaptive=True))  # fmt: skip
    with pytest.raises(BenchError, match="--gold-rate needs gold items"):
        create_campaign("arena", [str(r) for r in arena_runs], 2, out=tmp_path / "e",
                        policy=Policy(gold_rate=0.2))  # fmt: skip
