"""bench annotate create / invite: what a campaign holds, drawn from finished run folders."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from itertools import combinations

import pytest

from bench.annotate.campaign import create_campaign, invite, open_campaign, token_digest
from bench.api.errors import BenchError
from bench.cli import main
from tests.fixtures.annotate.runs import three_runs, write_explaining_run


@pytest.fixture
def runs(tmp_path):
    return [str(p) for p in three_runs(tmp_path / "runs", n=8)]


def items(campaign) -> list[dict]:
    with campaign.store.connect() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM items ORDER BY id")]


def test_arena_battles_are_seeded_balanced_and_distinct(runs, tmp_path):
    campaign = create_campaign("arena", runs, 24, seed=3, out=tmp_path / "c1")
    battles = items(campaign)
    keys = [(b["record_idx"], b["run_a"], b["run_b"]) for b in battles]
    assert len(set(keys)) == 24  # 8 records x 3 pairs: every (record, pair) once
    pairs = Counter(frozenset((b["run_a"], b["run_b"])) for b in battles)
    assert sorted(pairs.values()) == [8, 8, 8]
    first_round = [b["record_idx"] for b in battles[:8]]
    assert sorted(first_round) == list(range(8))  # each record once before any twice
    # each side's text is that run's explanation of that record
    for b in battles:
        assert b["explanation_a"] == f"{b['run_a'].split('__')[0]} says {b['record_idx']}"
        assert b["explanation_b"] == f"{b['run_b'].split('__')[0]} says {b['record_idx']}"
        assert json.loads(b["context_json"]) == {"title": f"Item {b['record_idx']}"}
    same = create_campaign("arena", runs, 24, seed=3, out=tmp_path / "c2")
    other = create_campaign("arena", runs, 24, seed=4, out=tmp_path / "c3")
    assert [(b["record_idx"], b["run_a"]) for b in items(same)] == [k[:2] for k in keys]
    assert [(b["record_idx"], b["run_a"]) for b in items(other)] != [k[:2] for k in keys]
    meta = json.loads((tmp_path / "c1" / "campaign.json").read_text())
    assert meta["task"] == "arena" and meta["seed"] == 3 and meta["n"] == 24
    assert [r["method"] for r in meta["runs"]] == ["peter", "cer", "currrl"]


def test_arena_refuses_runs_on_other_records(tmp_path, runs):
    other = write_explaining_run(tmp_path / "other", "nrt", lambda i: f"nrt {i}", n=6)
    with pytest.raises(BenchError, match=r"hold different test records \(n=8 vs n=6"):
        create_campaign("arena", [runs[0], str(other)], 4, out=tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_create_refusals_are_one_line_exit_2(tmp_path, runs, capsys):
    unfinished = write_explaining_run(tmp_path / "u", "nrt", lambda i: "x")
    (unfinished / "DONE").unlink()
    silent = write_explaining_run(tmp_path / "s", "mf-bias", lambda i: "")
    cases = [
        (["--task", "arena", "--runs", runs[0], "--n", "2"], "give at least 2 run folder(s)"),
        (["--task", "arena", "--runs", runs[0], str(unfinished), "--n", "2"], "not a finished run"),
        (["--task", "coherence", "--runs", str(silent), "--n", "2"], "holds no explanations"),
        (["--task", "arena", "--runs", *runs[:2], "--n", "9"], "--n 9 asks for more battles"),
        (["--task", "arena", "--runs", runs[0], runs[0], "--n", "2"], "is given twice"),
    ]
    for args, message in cases:
        assert main(["annotate", "create", *args, "--out", str(tmp_path / "c")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert main(["annotate", "create", "--task", "arena", "--runs", *runs, "--n", "3",
                 "--out", str(tmp_path / "ok")]) == 0  # fmt: skip
    assert main(["annotate", "create", "--task", "arena", "--runs", *runs, "--n", "3",
                 "--out", str(tmp_path / "ok")]) == 2  # fmt: skip
    assert "exists and is not empty" in capsys.readouterr().err


def test_coherence_items_hold_explanations_never_truths(tmp_path):
    texts = {0: "", 3: "   "}  # records without an explanation are not drawn
    run = write_explaining_run(tmp_path / "r", "cer", lambda i: texts.get(i, f"cer says {i}"))
    campaign = create_campaign("coherence", [str(run)], 6, seed=0, out=tmp_path / "c")
    drawn = items(campaign)
    assert sorted(d["record_idx"] for d in drawn) == [1, 2, 4, 5, 6, 7]
    assert all(d["run_b"] is None and d["explanation_b"] is None for d in drawn)
    with sqlite3.connect(campaign.path / "campaign.sqlite") as conn:
        dump = "\n".join(conn.iterdump())
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert "SECRET-REFERENCE" not in dump and "rating" not in dump.lower()
    with pytest.raises(BenchError, match="--n 7 asks for more items than the runs allow: 6"):
        create_campaign("coherence", [str(run)], 7, out=tmp_path / "c7")


def test_with_data_adds_the_datasets_profiles_and_history(tmp_path, monkeypatch):
    from bench.api.records import Record
    from tests.helpers import patch_synthetic_data

    test_split = [
        Record(user_id=f"u{i}", item_id=f"i{i}", rating=4.0, title=f"Guitar {i}",
               user_profile=f"Average rating 4.{i}", history_liked=["Capo", "Tuner"])
        for i in range(8)
    ]  # fmt: skip
    patch_synthetic_data(monkeypatch, records=test_split)
    monkeypatch.setattr("bench.data.make_splits", lambda loaded, cfg, seed: type(
        "S", (), {"test": loaded.records})())  # fmt: skip
    run = write_explaining_run(tmp_path / "r", "cer", lambda i: f"cer says {i}")
    campaign = create_campaign("coherence", [str(run)], 2, out=tmp_path / "c", with_data=True)
    for item in items(campaign):
        i = item["record_idx"]
        assert json.loads(item["context_json"]) == {
            "title": f"Guitar {i}", "user_profile": f"Average rating 4.{i}",
            "history_liked": ["Capo", "Tuner"],
        }  # fmt: skip
    assert campaign.meta["context"] == "rows+dataset"


def test_invite_prints_one_secret_link_each_and_stores_only_digests(tmp_path, runs, capsys):
    assert main(["annotate", "create", "--task", "arena", "--runs", *runs, "--n", "4",
                 "--out", str(tmp_path / "c")]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["annotate", "invite", str(tmp_path / "c"), "--annotators", "3",
                 "--base-url", "http://10.0.0.5:9000/"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    names = [line.split("\t")[0] for line in lines]
    links = [line.split("\t")[1] for line in lines]
    assert names == ["annotator-1", "annotator-2", "annotator-3"]
    assert all(link.startswith("http://10.0.0.5:9000/a/") for link in links)
    tokens = [link.rsplit("/", 1)[1] for link in links]
    assert len(set(tokens)) == 3 and all(len(t) >= 32 for t in tokens)
    campaign = open_campaign(tmp_path / "c")
    dump = "\n".join(sqlite3.connect(campaign.path / "campaign.sqlite").iterdump())
    assert not any(t in dump for t in tokens)
    assert all(token_digest(t) in dump for t in tokens)
    assert [n for n, _ in invite(campaign, 2)] == ["annotator-4", "annotator-5"]


def test_serve_binds_loopback_unless_told_and_logs_no_urls(runs, tmp_path, monkeypatch, capsys):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    monkeypatch.delenv("ERBENCH_ANNOTATE_ADMIN_PASSWORD", raising=False)
    create_campaign("arena", runs, 3, out=tmp_path / "c")
    assert main(["annotate", "serve", str(tmp_path / "c")]) == 0
    out = capsys.readouterr()
    assert calls[-1] == {
        "host": "127.0.0.1",
        "port": 8000,
        "access_log": False,
        "log_level": "warning",
    }
    assert "admin page /admin: off (set ERBENCH_ANNOTATE_ADMIN_PASSWORD)" in out.out
    assert out.err == ""
    assert (
        main(["annotate", "serve", str(tmp_path / "c"), "--host", "0.0.0.0", "--port", "9000"]) == 0
    )
    assert calls[-1]["host"] == "0.0.0.0" and calls[-1]["port"] == 9000
    assert "warning: listening on 0.0.0.0" in capsys.readouterr().err
    assert main(["annotate", "serve", str(tmp_path / "c"), "--port", "70000"]) == 2
    assert len(calls) == 2


def test_open_campaign_refuses_other_folders(tmp_path, capsys):
    assert main(["annotate", "export", str(tmp_path)]) == 2
    assert "is not a campaign folder" in capsys.readouterr().err


def test_every_pair_of_runs_can_meet(runs, tmp_path):
    campaign = create_campaign("arena", runs, 3, seed=0, out=tmp_path / "c")
    met = {frozenset((b["run_a"], b["run_b"])) for b in items(campaign)}
    ids = [r["run_id"] for r in campaign.meta["runs"]]
    assert met == {frozenset(p) for p in combinations(ids, 2)}
