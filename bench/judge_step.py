"""`bench judge --spec S`: the AI judge and the alignment scores of an arena spec, as their own
step. For each dataset it takes the spec's runs from the results store (as `bench tables`
picks them), judges the battles (drawn as the annotation app draws a campaign's; each in both
orders) and stores the votes, and scores every row's explanations against the teacher row's
with the metric suite; `bench tables --spec S` then only reads what this stored
(leaderboards.arena_judge names the files).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api.judgments import ArenaVote, read_votes, write_votes
from bench.api.run_folder import atomic_write_json
from leaderboards import arena
from leaderboards.arena_judge import JudgeSpec, alignment_path, judged_folder, votes_key
from metrics.pairwise_judge import ARENA_ANSWER, JudgeInput


@dataclass
class JudgeReport:
    spec: str
    lines: list[str] = field(default_factory=list)  # one per dataset: what was judged and scored
    notes: list[str] = field(default_factory=list)  # why a dataset was skipped


def judge(spec: Any, runs_dir: str | Path) -> JudgeReport:
    """Judge and score the arena spec `spec` (a name or a leaderboards.spec.Spec) over the runs
    under `runs_dir`; votes and scores already stored for the same runs are kept."""
    from leaderboards.commands import get_spec, open_store

    the_spec = get_spec(spec) if isinstance(spec, str) else spec
    s = arena.settings_of(the_spec)
    judge_spec = JudgeSpec(s["judge"], s["judge_base_url"], s["judge_model"], s["judge_api_key_env"], s["judge_margin"])
    store = open_store(runs_dir)
    report = JudgeReport(the_spec.name)
    for dataset in the_spec.datasets:
        picked, _notes, _missing = arena.rows_and_runs(the_spec, store, dataset, s["profile"])
        ds = the_spec.dataset_label(dataset)
        if len(picked) < 2:
            report.notes.append(f"{ds}: fewer than two rows have a finished run; nothing to judge")
            continue
        preds = [arena.predictions(run) for _, run in picked]
        if not arena.same_records(preds):
            report.notes.append(f"{ds}: the rows' runs explain different test records; not judged")
            continue
        folder = judged_folder(runs_dir, the_spec.name, dataset)
        votes = judge_battles([run.run_dir for _, run in picked], s["battles"], s["seed"], judge_spec, folder)
        line = f"{ds}: {len(votes)} AI votes ({votes[0].annotator if votes else judge_spec.kind})"
        teacher = arena.teacher_index(picked, s)
        if teacher is None:
            report.notes.append(f"{ds}: no teacher row (arena.teacher_row); alignment not scored")
        else:
            run_ids = [run.run_id for _, run in picked]
            atomic_write_json(alignment_path(folder, run_ids), alignment(preds, teacher, run_ids))
            line += f"; alignment of {len(picked)} rows against {picked[teacher][0].label}"
        report.lines.append(line)
    return report


def alignment(preds: list[list[dict[str, Any]]], teacher_idx: int, run_ids: list[str]) -> dict[str, Any]:
    """Every row's per-record alignment values against the teacher row (leaderboards.arena's
    columns), and against the teacher's alternative where the teacher run wrote one."""
    teacher = [str(r.get("explanation") or "") for r in preds[teacher_idx]]
    values = [alignment_values(p, teacher) for p in preds]
    alternative = [(r.get("extras") or {}).get("teacher_alternative") for r in preds[teacher_idx]]
    has_alt = all(isinstance(a, str) and a.strip() for a in alternative)
    for p, v in zip(preds, values, strict=True):
        v["rougeL_f_alt"] = alternative_rouge(p, alternative) if has_alt else []
    return {"runs": run_ids, "teacher": teacher_idx, "n": len(teacher), "values": values}


def alignment_values(rows: list[dict[str, Any]], teacher: list[str]) -> dict[str, list[float]]:
    """Per-record values (corpus-level metrics: a one-element list) of one row's explanations:
    the metric suite's ROUGE-L F1 and sacreBLEU-4 with the teacher's explanation of the same
    record as the reference, USR, and the style counts."""
    from bench.api.progress import silent_bar
    from bench.api.records import PredictionRow
    from metrics.explanation_style import style_counts
    from metrics.settings import EvalConfig
    from metrics.suite import score_rows

    texts = [str(r.get("explanation") or "") for r in rows]
    scored = [
        PredictionRow(idx=k, user_id=str(r.get("user_id", "")), item_id=str(r.get("item_id", "")),
                      reference=ref, explanation=text).to_dict()
        for k, (r, text, ref) in enumerate(zip(rows, texts, teacher, strict=True))
    ]  # fmt: skip
    report = score_rows(scored, EvalConfig(metrics=arena.TEXT_METRICS), progress=silent_bar)
    out: dict[str, list[float]] = {c.id: [] for c in arena.ALIGN_COLUMNS}
    by_idx = {e["idx"]: e for e in report.per_example}
    out["rougeL_f"] = [float(by_idx.get(k, {}).get("rougeL_f", 0.0)) for k in range(len(texts))]
    values = report.as_dict()
    for name in arena.CORPUS_LEVEL:
        out[name] = [float(values[name])] if name in values else []
    for text in texts:
        counts = style_counts(text)
        out["words"].append(float(counts.words))
        out["movie_terms"].append(float(counts.movie_terms))
        out["technical_terms"].append(float(counts.technical_terms))
        out["subjective_words"].append(float(counts.subjective_words))
    return out


def alternative_rouge(rows: list[dict[str, Any]], alternative: list[str]) -> list[float]:
    """ROUGE-L F1 of each explanation against the teacher's alternative of the same record."""
    from bench.api.progress import silent_bar
    from metrics.settings import EvalConfig
    from metrics.suite import score_rows

    scored = [{"idx": k, "explanation": str(r.get("explanation") or ""), "reference": ref}
              for k, (r, ref) in enumerate(zip(rows, alternative, strict=True))]  # fmt: skip
    report = score_rows(scored, EvalConfig(metrics=["rougeL_f"]), progress=silent_bar)
    by_idx = {e["idx"]: e for e in report.per_example}
    return [float(by_idx.get(k, {}).get("rougeL_f", 0.0)) for k in range(len(rows))]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"


def _context(rows: list[dict[str, Any]]) -> tuple[str, tuple[str, ...]]:
    for row in rows:
        extras = row.get("extras") if isinstance(row.get("extras"), dict) else {}
        if extras.get("context"):
            return str(extras["context"]), tuple(str(f) for f in extras.get("context_facts") or ())
    return "", ()


def judge_battles(run_dirs: list[str], n: int, seed: int, judge_spec: JudgeSpec, folder: Path) -> list[ArenaVote]:
    """The AI votes of up to `n` battles between the runs (both orders: 2 votes each)."""
    from bench.annotate.run_outputs import read_runs
    from bench.annotate.sampling import draw_battles

    runs = read_runs(run_dirs, at_least=2)
    judge = judge_spec.make()
    key = votes_key([r.run_id for r in runs], judge, n, seed)
    target = folder / key
    if (target / "votes.jsonl").exists():
        return read_votes(target / "votes.jsonl")
    possible = sum(
        1 for i in range(len(runs)) for j in range(i + 1, len(runs))
        for pos in range(len(runs[0].rows)) if runs[i].explanation(pos) and runs[j].explanation(pos)
    )  # fmt: skip
    draws = draw_battles(runs, min(n, possible), seed) if possible else []
    inputs, meta = [], []
    for battle, draw in enumerate(draws):
        a, b = draw.runs
        context, facts = _context([run.rows[draw.position] for run in runs])
        for left, right in ((a, b), (b, a)):
            inputs.append(JudgeInput(context, facts, runs[left].explanation(draw.position),
                                     runs[right].explanation(draw.position)))  # fmt: skip
            meta.append((battle, draw.position, left, right))
    served = _now()
    verdicts = judge.judge(inputs) if inputs else []
    answered = _now()
    votes = []
    for number, ((battle, pos, left, right), verdict) in enumerate(zip(meta, verdicts, strict=True), 1):
        if verdict.answer is None:
            answer = None
        else:
            answer = ARENA_ANSWER[verdict.answer]
        row = runs[left].rows[pos]
        votes.append(
            ArenaVote(
                vote_id=number, campaign=f"ai-arena/{key}", annotator=judge.name, battle=battle,
                idx=int(row.get("idx", pos)), user_id=str(row["user_id"]), item_id=str(row["item_id"]),
                left_run=runs[left].run_id, right_run=runs[right].run_id,
                left_method=runs[left].method, right_method=runs[right].method,
                answer=answer or "unparseable",
                winner_run={"left": runs[left].run_id, "right": runs[right].run_id}.get(answer or ""),
                comment=verdict.reply or "", served_at=served, answered_at=answered,
            )  # fmt: skip
        )
    unreadable = [v for v in votes if v.answer == "unparseable"]
    kept = [v for v in votes if v.answer != "unparseable"]
    target.mkdir(parents=True, exist_ok=True)
    atomic_write_json(target / "judge.json", {
        "judge": judge.describe(), "runs": [r.run_id for r in runs], "n": n, "seed": seed,
        "battles": len(draws), "votes": len(kept), "unparseable": len(unreadable),
        "unparseable_replies": [v.comment for v in unreadable][:20],
    })  # fmt: skip
    write_votes(target / "votes.jsonl", kept)
    return kept
