"""bench annotate analyze: the arena and coherence numbers equal hand calculations from the
answers given, a planted too-fast annotator and a failed gold item are flagged, and
--exclude drops them."""

from __future__ import annotations

import json
import math

import pytest

from bench.annotate.analyze import analyze
from bench.annotate.assignment import Policy
from bench.annotate.campaign import create_campaign, invite
from bench.annotate.store import Annotator
from bench.cli import main
from tests.fixtures.annotate.runs import write_explaining_run

ELO = 400 / math.log(10)


def annotators(campaign, count: int) -> list[Annotator]:
    invite(campaign, count)
    with campaign.store.connect() as conn:
        return [
            Annotator(r["id"], r["name"]) for r in conn.execute("SELECT id, name FROM annotators")
        ]


def sides(served) -> tuple[str, str]:
    a, b = served.item.run_a, served.item.run_b
    return (a, b) if served.a_on_left else (b, a)


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided binomial p at 1/2, by hand (symmetric: twice the smaller tail)."""
    tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1)) / 2**n
    return min(1.0, 2 * tail)


@pytest.fixture
def arena(tmp_path):
    runs = [write_explaining_run(tmp_path / "runs", m, lambda i, m=m: f"{m} says {i}", n=6)
            for m in ("peter", "cer")]  # fmt: skip
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"explanation_a": "Bright strings that stay in tune.",
                                "explanation_b": "zzz qqq", "answer": "a"}) + "\n")  # fmt: skip
    campaign = create_campaign("arena", [str(r) for r in runs], 6, seed=0, out=tmp_path / "c",
                               gold=gold, policy=Policy(gold_rate=0.5))  # fmt: skip
    return campaign


def test_arena_analysis_equals_a_hand_calculation_and_flags_qc(arena):
    campaign = arena
    peter, cer = (r["run_id"] for r in campaign.meta["runs"])
    a1, a2, a3 = annotators(campaign, 3)
    # a1: peter always; a2: cer, but a tie on record 0, and the gold answered wrong;
    # a3: always "left", with planted answer times of 0.4 s
    store = campaign.store
    given = []  # (annotator, winner run or "tie") of the real answers
    for who in (a1, a2, a3):
        while (served := store.serve(who)) is not None:
            left, right = sides(served)
            if served.item.kind == "gold":
                wrong = who is a2
                good = "left" if served.a_on_left else "right"
                answer = ({"left": "right", "right": "left"}[good]) if wrong else good
            elif who is a3:
                answer = "left"
            else:
                want = peter if who is a1 else cer
                tie = who is a2 and served.item.record_idx == 0
                answer = "tie" if tie else ("left" if left == want else "right")
            store.record_answer(who, served.item.id, served.nonce, answer)
            if served.item.kind == "real":
                given.append((who.name, {"left": left, "right": right}.get(answer, answer)))
    with store.connect() as conn:
        conn.execute("UPDATE answers SET seconds = 0.4 WHERE annotator_id = ?", (a3.id,))
        conn.execute("UPDATE answers SET seconds = 5.0 WHERE annotator_id != ?", (a3.id,))

    report = analyze(campaign, bootstrap=20)
    assert len(given) == 18 and report["arena"]["votes"] == 18
    wins = {run: sum(w == run for _, w in given) for run in (peter, cer)}
    ties = sum(w == "tie" for _, w in given)
    # BT with ties as half a win each way: for two models the fit is the odds of their
    # comparisons (2 per decisive vote, 1 each way per tie) with choix's pseudo-count 0.01
    w_peter, w_cer = 2 * wins[peter] + ties + 0.01, 2 * wins[cer] + ties + 0.01
    models = {m["run"]: m for m in report["arena"]["models"]}
    assert models[peter]["elo"] == pytest.approx(
        1000 + ELO * math.log(w_peter / w_cer) / 2, abs=0.01
    )
    assert models[cer]["elo"] == pytest.approx(1000 - ELO * math.log(w_peter / w_cer) / 2, abs=0.01)
    assert models[peter]["win_rate"] == pytest.approx((wins[peter] + ties / 2) / 18)
    assert (models[peter]["wins"], models[peter]["losses"], models[peter]["tie"]) == (
        wins[peter], wins[cer], ties)  # fmt: skip
    low, high = models[peter]["ci_low"], models[peter]["ci_high"]
    assert low <= models[peter]["elo"] <= high
    (pair,) = report["arena"]["pairs"]
    first, second = (peter, cer) if pair["first"] == peter else (cer, peter)
    assert (pair["wins_first"], pair["wins_second"], pair["ties"]) == (
        wins[first],
        wins[second],
        ties,
    )
    assert pair["p"] == pytest.approx(binomial_two_sided(wins[first], wins[first] + wins[second]))
    assert pair["p_holm"] == pytest.approx(pair["p"])  # one pair: Holm changes nothing
    runs = report["arena"]["win_rate_matrix"]["runs"]
    matrix = report["arena"]["win_rate_matrix"]["rows"]
    i, j = runs.index(peter), runs.index(cer)
    assert matrix[i][j] == pytest.approx((wins[peter] + ties / 2) / 18) and matrix[i][i] is None

    qc = report["quality_control"]
    assert qc["annotator-3"]["flags"] == ["too-fast"] and qc["annotator-3"]["fast_answers"] == 7
    assert qc["annotator-2"]["flags"] == ["failed-gold"]
    assert (qc["annotator-2"]["gold_answered"], qc["annotator-2"]["gold_failed"]) == (1, 1)
    assert qc["annotator-1"]["flags"] == [] and qc["annotator-1"]["gold_failed"] == 0
    assert qc["annotator-1"]["answers"] == 6  # real answers; the gold is counted apart
    # agreement: a1 shares each of its 6 battles with a2 and with a3
    assert report["arena"]["agreement"]["annotator-1"]["pairs"] == 12

    kept = analyze(campaign, exclude=["too-fast", "failed-gold"], bootstrap=10)
    assert kept["excluded"] == ["annotator-2", "annotator-3"]
    assert kept["arena"]["votes"] == 6
    only_a1 = {m["run"]: m for m in kept["arena"]["models"]}
    assert (only_a1[peter]["wins"], only_a1[cer]["wins"]) == (6, 0)
    assert analyze(campaign, exclude=["annotator-3"], bootstrap=10)["arena"]["votes"] == 12


def test_analyze_command_writes_markdown_html_json_and_refuses_unknown_names(
    arena, tmp_path, capsys
):
    (a1,) = annotators(arena, 1)
    served = arena.store.serve(a1)
    arena.store.record_answer(a1, served.item.id, served.nonce, "left")
    out = tmp_path / "report.json"
    assert (
        main(["annotate", "analyze", str(arena.path), "--bootstrap", "5", "--out", str(out)]) == 0
    )
    assert json.loads(out.read_text())["arena"]["votes"] == 1
    capsys.readouterr()
    assert main(["annotate", "analyze", str(arena.path), "--bootstrap", "5"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# c (arena, 6 items)") and "| annotator-1 | 1 |" in md
    assert (
        main(["annotate", "analyze", str(arena.path), "--bootstrap", "5", "--format", "html"]) == 0
    )
    assert "<table>" in capsys.readouterr().out
    assert main(["annotate", "analyze", str(arena.path), "--exclude", "nobody"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --exclude nobody") and len(err.splitlines()) == 1


def test_coherence_analysis_is_eq8_by_hand_with_alpha_per_run(tmp_path):
    run = write_explaining_run(tmp_path / "r", "cer", lambda i: f"cer says {i}", n=3,
                               rating=lambda i: [2.0, 6.0, 3.0][i])  # fmt: skip
    campaign = create_campaign("coherence", [str(run)], 3, seed=0, out=tmp_path / "c")
    a1, a2 = annotators(campaign, 2)
    plan = {a1: {0: "2", 1: "5", 2: "cannot_tell"}, a2: {0: "4", 1: "5", 2: "1"}}
    for who, by_record in plan.items():
        while (served := campaign.store.serve(who)) is not None:
            campaign.store.record_answer(who, served.item.id, served.nonce,
                                         by_record[served.item.record_idx])  # fmt: skip
    block = analyze(campaign)["coherence"]
    (values,) = block["runs"].values()
    # r0 = 1 + 2i mod 5 = 1, 3, 5; r1 = 2, 6 -> clipped 5, 3; r2 = mean ratings = 3, 5, 1
    r0, r1, r2 = [1, 3, 5], [2, 5, 3], [3, 5, 1]
    accuracy = [
        ((1 - abs(a - b) / 4) + (1 - abs(a - c) / 4)) / 2
        for a, b, c in zip(r0, r1, r2, strict=True)
    ]
    coherence = [1 - abs(b - c) / 4 for b, c in zip(r1, r2, strict=True)]
    acc = sum((x + y) / 2 for x, y in zip(accuracy, coherence, strict=True)) / 3
    assert values["coh_acc[human]"] == pytest.approx(acc)
    assert values["cier_rate[human]"] == pytest.approx(2 / 3)  # |2-3|, |5-5| <= 1; |3-1| is not
    assert (values["items"], values["ratings"], block["cannot_tell"]) == (3, 5, 1)
    # interval alpha by hand: units (2, 4) and (5, 5); D_o = 2 * 4 / 4 = 2 over n = 4 values
    # pairable, D_e = mean squared difference over all value pairs of {2, 4, 5, 5}
    values_all = [2, 4, 5, 5]
    d_o = (2 * (2 - 4) ** 2) / 4
    d_e = sum((x - y) ** 2 for k, x in enumerate(values_all) for m, y in enumerate(values_all)
              if k != m) / (4 * 3)  # fmt: skip
    assert values["alpha"] == pytest.approx(1 - d_o / d_e)
    assert block["krippendorff_alpha"]["all"] == pytest.approx(1 - d_o / d_e)
    assert block["agreement"]["annotator-1"] == {"pairs": 2, "agreement": 0.5, "mean_abs_diff": 1.0}
