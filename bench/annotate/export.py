"""The files a campaign exports, read by metrics.coherence and arena tables.

arena      votes.jsonl, one vote per line (format in docs/human-evaluation.md):
           who, when (served_at, answered_at), which battle (idx, user_id, item_id), which
           run and method was shown left and right, the answer (left | right | tie |
           both_bad), the winning run (null for tie / both_bad), the comment, the seconds
           from serving to answering and the crowd-platform ids ({} without).
coherence  ratings__<run id>.csv per run, columns idx,user_id,item_id,annotator,rating: what
           bench.api.judgments.read_ratings reads for metrics.coherence (eval.human_ratings_csv). "Cannot tell"
           answers are left out of the CSV and counted in the summary.
both       summary.json: answers per annotator and Krippendorff's alpha (bench.annotate.agreement).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from bench.annotate.agreement import nominal_alpha, rating_alpha
from bench.annotate.campaign import Campaign
from bench.annotate.tasks import CANNOT_TELL
from bench.api.judgments import VOTES_FILE, ArenaVote, ratings_csv, ratings_file, write_votes
from bench.api.run_folder import atomic_write_json, atomic_write_text


def arena_votes(campaign: Campaign) -> list[ArenaVote]:
    methods = campaign.methods
    votes = []
    for row in campaign.store.answers():
        left, right = (
            (row["run_a"], row["run_b"]) if row["a_on_left"] else (row["run_b"], row["run_a"])
        )
        votes.append(
            ArenaVote(
                vote_id=row["answer_id"],
                campaign=campaign.path.name,
                annotator=row["annotator"],
                battle=row["item_id"],
                idx=row["record_idx"],
                user_id=row["user_id"],
                item_id=row["item"],
                left_run=left,
                right_run=right,
                left_method=methods.get(left),
                right_method=methods.get(right),
                answer=row["answer"],
                winner_run={"left": left, "right": right}.get(row["answer"]),
                comment=row["comment"],
                served_at=row["served_at"],
                answered_at=row["answered_at"],
                seconds=row["seconds"],
                crowd=row["crowd"],
            )
        )
    return votes


def coherence_ratings(campaign: Campaign) -> dict[str, list[dict[str, Any]]]:
    """run id -> rating rows (every run of the campaign, in answer order)."""
    out: dict[str, list[dict[str, Any]]] = {r["run_id"]: [] for r in campaign.meta["runs"]}
    for row in campaign.store.answers():
        if row["answer"] == CANNOT_TELL:
            continue
        out[row["run_a"]].append(
            {
                "idx": row["record_idx"],
                "user_id": row["user_id"],
                "item_id": row["item"],
                "annotator": row["annotator"],
                "rating": int(row["answer"]),
            }
        )
    return out


def _per_annotator(campaign: Campaign, answers: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    out = {p["name"]: {"answered": 0} for p in campaign.store.progress()}
    for row in answers:
        counts = out[row["annotator"]]
        counts["answered"] += 1
        if campaign.task.name == "coherence":
            kind = "cannot_tell" if row["answer"] == CANNOT_TELL else "ratings"
            counts[kind] = counts.get(kind, 0) + 1
    return out


def summary(campaign: Campaign) -> dict[str, Any]:
    answers = campaign.store.answers()
    base = {
        "campaign": campaign.path.name,
        "task": campaign.task.name,
        "items": campaign.store.count_items(),
        "answers": len(answers),
        "annotators": _per_annotator(campaign, answers),
    }
    if campaign.task.name == "coherence":
        rated = [
            ((r["run_a"], r["record_idx"]), r["annotator"], float(r["answer"]))
            for r in answers
            if r["answer"] != CANNOT_TELL
        ]
        per_run = {
            run: rating_alpha(t for t in rated if t[0][0] == run) for run in campaign.methods
        }
        return {
            **base,
            "cannot_tell": sum(r["answer"] == CANNOT_TELL for r in answers),
            "krippendorff_alpha": {
                "level": "interval",
                "all": rating_alpha(rated),
                "per_run": per_run,
            },
            "files": {run: ratings_file(run) for run in campaign.methods},
        }
    votes = arena_votes(campaign)
    outcome = [(v.battle, v.annotator, v.winner_run or v.answer) for v in votes]
    models: dict[str, Counter] = {run: Counter() for run in campaign.methods}
    for v in votes:
        for side in ("left", "right"):
            counts = models[v.left_run if side == "left" else v.right_run]
            counts[f"shown_{side}"] += 1
            if v.answer in ("left", "right"):
                counts["wins" if v.answer == side else "losses"] += 1
            else:
                counts[v.answer] += 1
    keys = ("wins", "losses", "tie", "both_bad", "shown_left", "shown_right")
    return {
        **base,
        "answer_counts": dict(Counter(v.answer for v in votes)),
        "krippendorff_alpha": {"level": "nominal", "outcome": nominal_alpha(outcome)},
        "models": {
            run: {"method": campaign.methods[run], **{k: counts[k] for k in keys}}
            for run, counts in models.items()
        },
        "files": {"votes": VOTES_FILE},
    }


def export_campaign(campaign: Campaign, out: str | Path | None = None) -> list[Path]:
    """Write the campaign's files (atomically) into `out` (default CAMPAIGN/export)."""
    folder = Path(out) if out else campaign.path / "export"
    written = []
    if campaign.task.name == "arena":
        write_votes(folder / VOTES_FILE, arena_votes(campaign))
        written.append(folder / VOTES_FILE)
    else:
        for run, rows in coherence_ratings(campaign).items():
            atomic_write_text(folder / ratings_file(run), ratings_csv(rows))
            written.append(folder / ratings_file(run))
    atomic_write_json(folder / "summary.json", summary(campaign))
    written.append(folder / "summary.json")
    return written
