"""bench annotate export: the votes / ratings files and the summary with Krippendorff's alpha."""

from __future__ import annotations

import csv
import json

import pytest

from bench.annotate.campaign import create_campaign, invite
from bench.annotate.export import export_campaign
from bench.annotate.store import Annotator
from bench.api.judgments import read_ratings
from bench.cli import main
from metrics.base import Batch
from metrics.coherence import Coherence, krippendorff_alpha_interval
from metrics.settings import EvalConfig
from tests.fixtures.annotate.runs import three_runs, write_explaining_run


def annotators(campaign, count: int) -> list[Annotator]:
    invite(campaign, count)
    store = campaign.store
    with store.connect() as conn:
        return [
            Annotator(r["id"], r["name"]) for r in conn.execute("SELECT id, name FROM annotators")
        ]


def answer_next(campaign, annotator, choose) -> dict:
    """Serve the annotator's next item, answer choose(served), return what was answered."""
    served = campaign.store.serve(annotator)
    answer = choose(served)
    campaign.store.record_answer(annotator, served.item.id, served.nonce, answer)
    return {"served": served, "answer": answer}


@pytest.fixture
def coherence_campaign(tmp_path):
    runs = [
        write_explaining_run(tmp_path / "runs", "peter", lambda i: f"peter says {i}", n=4),
        write_explaining_run(tmp_path / "runs", "cer", lambda i: f"cer says {i}", n=4),
    ]
    return create_campaign("coherence", [str(r) for r in runs], 8, seed=0, out=tmp_path / "c")


def test_coherence_export_is_the_csv_metrics_coherence_reads(coherence_campaign, tmp_path):
    campaign = coherence_campaign
    a1, a2, a3 = annotators(campaign, 3)
    # a1 and a2 answer everything; a1 rates by record, a2 one higher (capped), a3 one item only
    plan = {a1: lambda s: str(1 + s.item.record_idx),
            a2: lambda s: "cannot_tell" if s.item.record_idx == 3 else str(min(5, 2 + s.item.record_idx))}  # fmt: skip
    given = []
    for annotator, choose in plan.items():
        for _ in range(8):
            given.append((annotator.name, answer_next(campaign, annotator, choose)))
    given.append((a3.name, answer_next(campaign, a3, lambda s: "4")))
    assert campaign.store.serve(a1) is None  # all 8 answered: nothing more to serve

    written = export_campaign(campaign)
    runs = {r["run_id"]: r["method"] for r in campaign.meta["runs"]}
    assert sorted(p.name for p in written) == sorted(
        [f"ratings__{run}.csv" for run in runs] + ["summary.json"]
    )
    for run, method in runs.items():
        path = campaign.path / "export" / f"ratings__{run}.csv"
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert list(rows[0]) == ["idx", "user_id", "item_id", "annotator", "rating"]
        expected = sorted(
            (str(g["served"].item.record_idx), name, g["answer"])
            for name, g in given
            if g["served"].item.run_a == run and g["answer"] != "cannot_tell"
        )
        assert sorted((r["idx"], r["annotator"], r["rating"]) for r in rows) == expected
        assert all(r["user_id"] == f"u{r['idx']}" and r["item_id"] == f"i{r['idx']}" for r in rows)
        assert all(f"{method} says {g['served'].item.record_idx}" == g["served"].item.explanation_a
                   for _, g in given if g["served"].item.run_a == run)  # fmt: skip
        read = read_ratings(path)  # what eval.human_ratings_csv loads
        assert sum(len(v) for v in read.values()) == len(expected)

    info = json.loads((campaign.path / "export" / "summary.json").read_text())
    assert info["annotators"] == {
        "annotator-1": {"answered": 8, "ratings": 8},
        "annotator-2": {"answered": 8, "ratings": 6, "cannot_tell": 2},
        "annotator-3": {"answered": 1, "ratings": 1},
    }
    assert info["cannot_tell"] == 2 and info["answers"] == 17 and info["items"] == 8
    # the package's alpha equals metrics.coherence's own interval alpha on the same units
    units: dict[str, list[float]] = {}
    for _name, g in given:
        if g["answer"] != "cannot_tell":
            units.setdefault(f"{g['served'].item.run_a}/{g['served'].item.record_idx}", []).append(
                float(g["answer"])
            )
    assert info["krippendorff_alpha"]["all"] == pytest.approx(krippendorff_alpha_interval(units))
    assert info["krippendorff_alpha"]["level"] == "interval"


def test_exported_ratings_give_coh_acc_human(coherence_campaign):
    """The exported CSV is eval.human_ratings_csv: Curr-RLCER eq. 8 with r2 from people."""
    campaign = coherence_campaign
    a1, a2 = annotators(campaign, 2)
    for _ in range(8):
        answer_next(campaign, a1, lambda s: "1")
        answer_next(campaign, a2, lambda s: "3" if s.item.record_idx == 0 else "cannot_tell")
    export_campaign(campaign)
    run = campaign.meta["runs"][0]
    rows = [json.loads(line) for line in open(f"{run['path']}/predictions.jsonl")]
    cfg = EvalConfig(coherence_sources=["human"],
                     human_ratings_csv=str(campaign.path / "export" / f"ratings__{run['run_id']}.csv"))  # fmt: skip
    values = {v.name: v for v in Coherence(cfg).compute(Batch(rows))}
    # record 0: r0 = 1, r1 = 1, r2 = mean(1, 3) = 2 -> Accuracy (1 + 0.75)/2, Coherence 0.75
    # records 1-3: r2 = 1; r0 = 3, 5, 2; r1 = 2, 3, 4
    r0, r1, r2 = [1, 3, 5, 2], [1, 2, 3, 4], [2, 1, 1, 1]
    acc = [
        ((1 - abs(a - b) / 4) + (1 - abs(a - c) / 4)) / 2
        for a, b, c in zip(r0, r1, r2, strict=True)
    ]
    coh = [1 - abs(b - c) / 4 for b, c in zip(r1, r2, strict=True)]
    assert values["coh_coherence[human]"].value == pytest.approx(sum(coh) / 4)
    assert values["coh_acc[human]"].value == pytest.approx(
        sum((a + c) / 2 for a, c in zip(acc, coh, strict=True)) / 4
    )
    assert values["coh_acc[human]"].n == 4


def test_arena_votes_record_sides_winner_and_agreement(tmp_path, capsys):
    runs = three_runs(tmp_path / "runs", n=4)
    campaign = create_campaign("arena", [str(r) for r in runs], 3, seed=0, out=tmp_path / "c")
    a1, a2 = annotators(campaign, 2)
    ids = [r["run_id"] for r in campaign.meta["runs"]]

    def prefer(run_order):  # answer for the run ranked first, whichever side it was shown on
        def choose(served):
            left = served.item.run_a if served.a_on_left else served.item.run_b
            right = served.item.run_b if served.a_on_left else served.item.run_a
            best = min((left, right), key=run_order.index)
            return "left" if best == left else "right"

        return choose

    answered = [answer_next(campaign, a1, prefer(ids)) for _ in range(3)]
    answered += [answer_next(campaign, a2, prefer(ids[::-1])) for _ in range(2)]
    answered.append(answer_next(campaign, a2, lambda s: "tie"))
    assert main(["annotate", "export", str(campaign.path)]) == 0
    out = capsys.readouterr().out
    assert "6 answers from 2 annotator(s)" in out

    votes = [json.loads(line) for line in open(campaign.path / "export" / "votes.jsonl")]
    assert len(votes) == 6
    for vote, given in zip(votes, answered, strict=True):
        served = given["served"]
        left = served.item.run_a if served.a_on_left else served.item.run_b
        assert vote["left_run"] == left and {vote["left_run"], vote["right_run"]} == {
            served.item.run_a, served.item.run_b}  # fmt: skip
        assert vote["left_method"] == left.split("__")[0]
        assert vote["answer"] == given["answer"] and vote["battle"] == served.item.id
        assert vote["winner_run"] == {"left": vote["left_run"], "right": vote["right_run"]}.get(
            vote["answer"]
        )
        assert vote["idx"] == served.item.record_idx and vote["user_id"] == f"u{vote['idx']}"
        assert vote["served_at"] <= vote["answered_at"]
        assert vote["seconds"] >= 0 and vote["crowd"] == {}  # invited, not from a platform
    assert [v["annotator"] for v in votes] == ["annotator-1"] * 3 + ["annotator-2"] * 3
    from bench.api.judgments import read_votes  # the rlaif-arena spec's human_votes reader

    assert [v.answer for v in read_votes(campaign.path / "export" / "votes.jsonl")] == [
        v["answer"] for v in votes]  # fmt: skip

    info = json.loads((campaign.path / "export" / "summary.json").read_text())
    wins = {run: m["wins"] for run, m in info["models"].items()}
    assert sum(wins.values()) == 5 and sum(m["tie"] for m in info["models"].values()) == 2
    assert sum(m["shown_left"] for m in info["models"].values()) == 6
    # nominal alpha over outcomes, by hand: the two annotators name opposite winners on the two
    # battles a2 answered by preference and differ on the tie: every pair disagrees
    outcome = {}
    for v in votes:
        outcome.setdefault(v["battle"], []).append(v["winner_run"] or v["answer"])
    assert all(len(set(o)) == 2 for o in outcome.values())
    assert info["krippendorff_alpha"]["outcome"] < 0


def test_nominal_alpha_matches_a_hand_computed_case():
    from bench.annotate.agreement import nominal_alpha, rating_alpha

    # units (X, X), (Y, Y), (X, Y): alpha = 1 - (n - 1) * 2 / (2 * 3 * 3) = 1 - 5 * 2 / 18
    triples = [
        (1, "a", "X"),
        (1, "b", "X"),
        (2, "a", "Y"),
        (2, "b", "Y"),
        (3, "a", "X"),
        (3, "b", "Y"),
    ]
    assert nominal_alpha(triples) == pytest.approx(4 / 9)
    assert nominal_alpha([(1, "a", "X"), (1, "b", "X")]) is None  # one value: undefined
    assert rating_alpha([(1, "a", 3.0)]) is None  # no unit with two answers
