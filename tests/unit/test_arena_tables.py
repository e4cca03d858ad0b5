"""`bench judge` then `bench tables --spec rlaif-arena` on four fake finished runs: AI votes
are judged once in both orders, stored in the annotation app's votes.jsonl format and read
back by the table (which judges nothing itself); human votes in
the same format join as their own block; the alignment table scores against the teacher row."""

import json
from pathlib import Path

import pytest
import yaml

from bench.api.errors import DataError
from bench.api.judgments import ArenaVote, read_votes
from bench.judge_step import judge as judge_arena
from bench.results import ResultsStore, default_store_path
from leaderboards.commands import build, render_all
from leaderboards.spec import SPEC_DIR, spec_from_dict
from tests.fixtures.leaderboards.synthetic import write_run

pytest.importorskip("choix")

N = 12
CONTEXT = "Recommended movie: Heat (1995)\nIntrinsic explanation: 1. Casino (1995) (similarity 0.412)"
FACTS = ["Casino (1995)", "Crime"]
TEXTS = {
    "distill-teacher": "You loved Casino, so this gripping Crime film is a great pick for you.",
    "orpo-distill": "You loved Casino, so this Crime film is a good pick for you.",
    "sft-distill": "You loved Casino, so this film is for you.",
    "distill-base": "The user liked Casino (1995) (similarity 0.412) and the path score is high.",
}


def _runs(runs_dir: Path) -> dict[str, Path]:
    out = {}
    for method, text in TEXTS.items():
        run = write_run(runs_dir, method, "ml-100k", 0, {"usr": 1.0}, records=range(N), index=False)
        rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
        for row in rows:
            row.update(explanation=text, extras={"context": CONTEXT, "context_facts": FACTS})
        (run / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        ResultsStore(default_store_path(runs_dir)).add_run(run)
        out[method] = run
    return out


def _human_votes(path: Path, runs: dict[str, Path]) -> None:
    teacher, base = runs["distill-teacher"].name, runs["distill-base"].name
    votes = []
    for k in range(6):
        left, right = (teacher, base) if k % 2 else (base, teacher)
        answer = "left" if left == teacher else "right"
        votes.append({
            "vote_id": k + 1, "campaign": "arena", "annotator": f"annotator-{k % 2 + 1}", "battle": k,
            "idx": k, "user_id": f"ml-100k/s0/u{k}", "item_id": f"i{k}", "left_run": left, "right_run": right,
            "left_method": None, "right_method": None, "answer": answer, "winner_run": teacher, "comment": "",
            "served_at": "2025-01-01T00:00:00.000Z", "answered_at": "2025-01-01T00:00:05.000Z",
        })  # fmt: skip
    path.write_text("".join(json.dumps(v) + "\n" for v in votes))


def _spec(votes_glob: str):
    data = yaml.safe_load((SPEC_DIR / "rlaif-arena.yaml").read_text())
    data["arena"].update(human_votes=[votes_glob], battles=24, bootstrap=20)
    return spec_from_dict(data)


def test_arena_and_alignment_tables_from_raw_votes(tmp_path):
    runs_dir = tmp_path / "runs"
    runs = _runs(runs_dir)
    _human_votes(tmp_path / "votes.jsonl", runs)
    spec = _spec(str(tmp_path / "votes*.jsonl"))
    store = ResultsStore(default_store_path(runs_dir))
    unjudged, _ = build(spec, store)  # bench tables only reads: nothing judged yet
    assert not list(runs_dir.glob("arena/*/*/*/votes.jsonl"))
    assert any("run `bench judge --spec rlaif-arena`" in note for note in unjudged.notes)
    judge_arena(spec, runs_dir)  # bench judge --spec rlaif-arena
    tables, _ = build(spec, store)
    assert [t.name for t in tables.tables] == [f"rlaif-arena-{k}" for k in ("arena", "pairs", "win-rates", "alignment")]

    [stored] = list((runs_dir / "arena" / "rlaif-arena" / "ml-100k").glob("*/votes.jsonl"))
    ai = read_votes(stored)
    assert len(ai) == 48 and {v.annotator for v in ai} == {"rule-judge"}  # 24 battles, both orders
    by_battle = {}
    for v in ai:
        by_battle.setdefault(v.battle, []).append((v.left_run, v.right_run))
    assert all(len(s) == 2 and s[0] == s[1][::-1] for s in by_battle.values())
    judge = json.loads((stored.parent / "judge.json").read_text())
    assert judge["battles"] == 24 and judge["unparseable"] == 0

    arena = tables.tables[0]
    ai_block, human_block = arena.blocks
    assert ai_block.title.startswith("ML-100K · AI judge (rule-judge)") and human_block.title == "ML-100K · humans"
    bt = {row.label: row.cells[0].mean for row in ai_block.rows}
    assert bt["Teacher"] > bt["SFT student"] > bt["Base student"]  # grounded beats vague beats technical
    votes = {row.label: row.cells[-1].mean for row in human_block.rows}
    assert votes == {"Teacher": 6, "ORPO student": 0, "SFT student": 0, "Base student": 6}
    human_wins = {row.label: row.cells[3].mean for row in human_block.rows}
    assert human_wins["Teacher"] == 6 and human_wins["Base student"] == 0

    alignment = tables.tables[3]
    [block] = alignment.blocks
    rouge = {row.label: row.cells[0].mean for row in block.rows}
    bleu = {row.label: row.cells[1].mean for row in block.rows}
    usr = {row.label: row.cells[2].mean for row in block.rows}
    technical = {row.label: row.cells[5].mean for row in block.rows}
    assert rouge["Teacher"] == pytest.approx(1.0) and rouge["ORPO student"] > rouge["SFT student"] > rouge["Base student"]
    assert bleu["Teacher"] == pytest.approx(100) and bleu["Base student"] < bleu["ORPO student"]
    assert usr["Teacher"] == pytest.approx(1 / N)  # one text repeated on every record
    assert technical["Base student"] == 5 and technical["Teacher"] == 0  # user, similarity, 0.412, path, score

    text = render_all(spec, tables, None, ["md", "csv"], None)
    assert "BT score (Elo scale)" in text["md"] and "ROUGE-L F1 vs teacher" in text["md"]
    again, _ = build(spec, store)  # rebuilt from the stored votes: the same numbers
    assert render_all(spec, again, None, ["md"], None)["md"] == text["md"]


def test_votes_are_checked_line_by_line(tmp_path):
    good = {
        "vote_id": 1, "campaign": "c", "annotator": "annotator-1", "battle": 0, "idx": 0, "user_id": "u",
        "item_id": "i", "left_run": "A", "right_run": "B", "left_method": "m", "right_method": "n",
        "answer": "left", "winner_run": "A", "comment": "", "served_at": "t", "answered_at": "t",
    }  # fmt: skip
    path = tmp_path / "votes.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "answer": "A"}) + "\n")
    with pytest.raises(DataError, match=r"votes.jsonl:2: answer must be one of"):
        read_votes(path)
    with pytest.raises(DataError, match="winner_run"):
        ArenaVote.from_dict({**good, "winner_run": "B"})
    assert ArenaVote.from_dict({**good, "answer": "tie", "winner_run": None}).outcome == "tie"


def test_alignment_scores_against_the_teachers_alternative_when_the_teacher_row_wrote_it(tmp_path):
    # the first ROUGE-L reference is teacher instruction 0, SFT's own training target; a teacher
    # run with model.alternative_reference also wrote its alternative, the second reference
    runs_dir = tmp_path / "runs"
    runs = _runs(runs_dir)
    teacher = runs["distill-teacher"] / "predictions.jsonl"
    rows = [json.loads(line) for line in teacher.read_text().splitlines()]
    for row in rows:
        row["extras"] |= {"teacher_alternative": TEXTS["sft-distill"], "teacher_alternative_variant": 1}
    teacher.write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = _spec(str(tmp_path / "none*.jsonl"))
    judge_arena(spec, runs_dir)
    tables, _ = build(spec, ResultsStore(default_store_path(runs_dir)))
    alignment = tables.tables[3]
    assert [c.label for c in alignment.columns[:2]] == ["ROUGE-L F1 vs teacher", "ROUGE-L F1 vs teacher alternative"]
    alt = {row.label: row.cells[1].mean for row in alignment.blocks[0].rows}
    assert alt["SFT student"] == pytest.approx(1.0) and alt["Teacher"] < 1.0
    assert "also SFT's training target" in " ".join(alignment.lines)


def test_distill_teacher_writes_its_alternative_as_a_second_reference():
    from methods.distill.params import TeacherParams

    assert TeacherParams().alternative_reference is None  # cpu/tiny: as before
    from bench.config import resolve

    assert resolve("distill-teacher", "ml-100k", profile="paper").model["alternative_reference"] == 1


def test_bench_judge_stores_what_bench_tables_reads(tmp_path, capsys):
    from bench.cli import main

    runs_dir = tmp_path / "runs"
    _runs(runs_dir)
    assert main(["judge", "--spec", "rlaif-arena", "--runs-dir", str(runs_dir)]) == 0
    out = capsys.readouterr().out
    # every pair of the 4 rows on each of the 12 records (72 < the spec's 216 battles), both orders
    assert "ML-100K: 144 AI votes (rule-judge); alignment of 4 rows against Teacher" in out
    assert len(list(runs_dir.glob("arena/rlaif-arena/ml-100k/*/votes.jsonl"))) == 1
    assert len(list(runs_dir.glob("arena/rlaif-arena/ml-100k/alignment-*.json"))) == 1
