"""Every scorer column of Curr-RLCER Tables 2 and 4 comes out as a number from the currrl
`paper` profile's eval settings, with only the checkpoints pointed at the same-architecture
stand-ins (tests/standins/scorers.py) and the judge at a loopback OpenAI-compatible endpoint."""

from __future__ import annotations

import pytest

from bench.config import resolve
from leaderboards.spec import load_spec_file
from metrics.suite import score_rows
from tests.conftest import REPO
from tests.openai_stub import Stub, completion
from tests.standins.scorers import scorer_sets

ROWS = [
    {"idx": i, "user_id": f"u{i}", "item_id": f"i{i}", "explanation": text, "reference": ref,
     "rating": r1, "rating_true": r0}
    for i, (text, ref, r1, r0) in enumerate([
        ("<think>loud music fan</think> great sound and strong strings", "the sound is great", 5.0, 5.0),
        ("the strings broke after a week", "strings broke quickly", 2.0, 1.0),
        ("a fine product for the price", "good value", 4.0, 3.0),
    ])
]  # fmt: skip


@pytest.fixture
def judge():
    # the GPTScore prompt asks for 0-100, the coherence judge for 1-5 stars
    stub = Stub(lambda body, n: (200, completion("80" if "100" in body["messages"][0]["content"] else "4"), {}))
    yield stub
    stub.close()


def test_currrl_paper_profile_fills_every_scorer_column_on_standins(judge, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    human = tmp_path / "human.csv"
    human.write_text("idx,annotator,rating\n0,a,5\n0,b,4\n1,a,1\n1,b,2\n2,a,4\n2,b,4\n")
    sets = [*scorer_sets(judge.url), f"eval.human_ratings_csv={human}", "eval.judge_cache_path="]
    ev = resolve("currrl", "amazon-sports", profile="paper", sets=sets).eval
    report = score_rows(ROWS, ev, cache_dir=tmp_path / "cache")
    values = report.as_dict()
    specs = [load_spec_file(REPO / "leaderboards" / "specs" / f"currrl-table{n}.yaml") for n in (2, 4)]
    wanted = {c.stored_name for spec in specs for c in spec.columns}
    # GPTScore is scored with erbench's prompt (XRec's is a file the user supplies), so its
    # name carries the prompt's hash; every other column is the papers' name
    prompt_tagged = {n for n in wanted if n.startswith("gptscore")}
    missing = {n for n in wanted - prompt_tagged if n not in values}
    assert not missing, {n: report.unavailable.get(n) for n in missing}
    from metrics.gptscore import GPTScore

    assert values[f"gptscore[gpt-3.5-turbo,{GPTScore(ev).prompt.name_tag}]"] == 80.0
    # eq. 8 with r2 = 4 from the judge: Acc per record .8125, .5, .875
    assert values["coh_acc[judge:gpt-3.5-turbo]"] == pytest.approx((0.8125 + 0.5 + 0.875) / 3)
    assert report.get("bertscore_f1[roberta-large]").version["num_layers"] == 17
