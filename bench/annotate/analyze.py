"""`bench annotate analyze CAMPAIGN`: a campaign's results as one report (Markdown, HTML, JSON).

Computed from the campaign's real answers (practice never; gold only for the checks) with the
same functions the rest of erbench uses, so a number here equals the one there:

arena      metrics.arena, as the rlaif-arena table spec: Bradley-Terry on the Elo scale with
           percentile-bootstrap 95% intervals, overall win rate (ties half), the win-rate
           matrix, and per model pair the exact binomial test of the decisive votes with Holm's
           correction; Krippendorff's alpha (nominal) of the outcomes (bench.annotate.agreement).
coherence  per run, Curr-RLCER eq. 8 (metrics.coherence.coherence_scores) with r2 the mean human
           rating of each record and r0, r1 the run's true and predicted ratings (clipped to 1-5
           as scoring does): coh_acc[human], cier_rate[human]; Krippendorff's alpha (interval,
           metrics.coherence.krippendorff_alpha_interval) overall and per run.
agreement  per annotator: the share of (their answer, another annotator's answer to the same
           item) pairs that agree; coherence also the mean absolute rating difference.
QC         per annotator: answers, median seconds per answer, answers under `min_seconds`,
           gold items answered and failed, practice items done, link state; flags too-fast
           (median under `min_seconds`) and failed-gold (any gold answered wrong).

`exclude` drops annotators by name, or every annotator flagged `too-fast` / `failed-gold`.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from itertools import combinations
from typing import Any

from bench.annotate.agreement import nominal_alpha
from bench.annotate.campaign import Campaign
from bench.annotate.export import arena_votes
from bench.annotate.run_outputs import read_run
from bench.annotate.store import GOLD, PRACTICE, REAL, on_screen
from bench.annotate.tasks import CANNOT_TELL
from bench.api.errors import BenchError

FLAGS = ("too-fast", "failed-gold")
RATING_MIN, RATING_MAX = 1.0, 5.0  # the coherence task's scale (bench.annotate.tasks)


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


# -- quality control -------------------------------------------------------------------------


def qc_report(campaign: Campaign, min_seconds: float) -> dict[str, dict[str, Any]]:
    """annotator -> their QC numbers and flags (module docstring)."""
    out: dict[str, dict[str, Any]] = {}
    for p in campaign.store.progress():
        out[p["name"]] = {"answers": 0, "median_seconds": None, "fast_answers": 0,
                          "gold_answered": 0, "gold_failed": 0, "practice": 0,
                          "revoked": p["revoked_at"] is not None,
                          "participant": p["participant_id"], "flags": []}  # fmt: skip
    seconds: dict[str, list[float]] = defaultdict(list)
    for row in campaign.store.answers(kinds=(REAL, GOLD, PRACTICE)):
        qc = out[row["annotator"]]
        if row["kind"] == PRACTICE:
            qc["practice"] += 1
            continue
        if row["kind"] == GOLD:
            qc["gold_answered"] += 1
            given = on_screen(row["answer"], bool(row["a_on_left"]))  # in A/B terms
            if given not in row["gold_answers"]:
                qc["gold_failed"] += 1
        else:
            qc["answers"] += 1
        if row["seconds"] is not None:
            seconds[row["annotator"]].append(row["seconds"])
            qc["fast_answers"] += row["seconds"] < min_seconds
    for name, qc in out.items():
        if seconds[name]:
            qc["median_seconds"] = statistics.median(seconds[name])
            if qc["median_seconds"] < min_seconds:
                qc["flags"].append("too-fast")
        if qc["gold_failed"]:
            qc["flags"].append("failed-gold")
    return out


def excluded(qc: dict[str, dict[str, Any]], exclude: list[str]) -> list[str]:
    """The annotators `exclude` names: names, or the flags too-fast / failed-gold."""
    out = set()
    for entry in exclude:
        if entry in FLAGS:
            out |= {name for name, q in qc.items() if entry in q["flags"]}
        elif entry in qc:
            out.add(entry)
        else:
            raise BenchError(
                f"--exclude {entry}: neither an annotator of this campaign nor one of "
                f"{', '.join(FLAGS)}"
            )
    return sorted(out)


# -- agreement -------------------------------------------------------------------------------


def agreement(answers: list[tuple[Any, str, Any]], numeric: bool) -> dict[str, dict[str, Any]]:
    """(unit, annotator, value) -> per annotator: agreeing share of pairs on shared units."""
    by_unit: dict[Any, dict[str, Any]] = defaultdict(dict)
    for unit, annotator, value in answers:
        by_unit[unit][annotator] = value
    pairs: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
    for values in by_unit.values():
        for (a, va), (b, vb) in combinations(sorted(values.items()), 2):
            pairs[a].append((va, vb))
            pairs[b].append((vb, va))
    out = {}
    for name in sorted({a for _, a, _ in answers}):
        mine = pairs.get(name, [])
        row: dict[str, Any] = {"pairs": len(mine),
                               "agreement": sum(x == y for x, y in mine) / len(mine) if mine else None}  # fmt: skip
        if numeric:
            row["mean_abs_diff"] = sum(abs(x - y) for x, y in mine) / len(mine) if mine else None
        out[name] = row
    return out


# -- the two blocks ------------------------------------------------------------------------


def arena_block(campaign: Campaign, drop: set[str], bootstrap: int, seed: int,
                bt_alpha: float) -> dict[str, Any]:  # fmt: skip
    from metrics import arena as A

    runs = [r["run_id"] for r in campaign.meta["runs"]]
    index = {run: k for k, run in enumerate(runs)}
    votes = [v for v in arena_votes(campaign) if v.annotator not in drop]
    outcome = {"left": "a", "right": "b"}  # a vote in metrics.arena's terms (left = a)
    battles = [A.Battle(index[v.left_run], index[v.right_run],
                        outcome.get(v.answer, v.answer)) for v in votes]  # fmt: skip
    n = len(runs)
    scores = A.elo(A.bradley_terry(n, battles, bt_alpha))
    intervals = A.bootstrap_intervals(n, battles, n_boot=bootstrap, seed=seed, alpha=bt_alpha)
    overall = A.overall_win_rates(n, battles)
    counts = [{"wins": 0, "losses": 0, "tie": 0, "both_bad": 0, "votes": 0} for _ in runs]
    for bt in battles:
        for me, side in ((bt.a, "a"), (bt.b, "b")):
            counts[me]["votes"] += 1
            key = bt.outcome if bt.outcome in ("tie", "both_bad") else (
                "wins" if bt.outcome == side else "losses")  # fmt: skip
            counts[me][key] += 1
    models = [
        {"run": run, "method": campaign.methods[run],
         "elo": _finite(scores[k]) if counts[k]["votes"] else None,
         "ci_low": _finite(intervals[k][0]) if counts[k]["votes"] else None,
         "ci_high": _finite(intervals[k][1]) if counts[k]["votes"] else None,
         "win_rate": overall[k], **counts[k]}
        for k, run in enumerate(runs)
    ]  # fmt: skip
    records = A.pair_records(n, battles)
    keys = sorted(records)
    ps = [A.binomial_p(records[k].wins_i, records[k].wins_j) for k in keys]
    pairs = [
        {"first": runs[i], "second": runs[j], "wins_first": records[(i, j)].wins_i,
         "wins_second": records[(i, j)].wins_j, "ties": records[(i, j)].ties,
         "votes": records[(i, j)].n, "win_rate_first": records[(i, j)].win_rate,
         "p": p, "p_holm": p_holm}
        for (i, j), p, p_holm in zip(keys, ps, A.holm(ps), strict=True)
    ]  # fmt: skip
    units = [(v.battle, v.annotator, v.winner_run or v.answer) for v in votes]
    return {
        "votes": len(votes),
        "models": models,
        "win_rate_matrix": {"runs": runs, "rows": A.win_rate_matrix(n, battles)},
        "pairs": pairs,
        "krippendorff_alpha": {"level": "nominal", "outcome": nominal_alpha(units)},
        "agreement": agreement(units, numeric=False),
        "settings": {"bootstrap": bootstrap, "seed": seed, "bt_alpha": bt_alpha},
    }


def coherence_block(campaign: Campaign, drop: set[str]) -> dict[str, Any]:
    from metrics.coherence import coherence_scores, krippendorff_alpha_interval
    from metrics.rating import clip

    rated = [r for r in campaign.store.answers()
             if r["answer"] != CANNOT_TELL and r["annotator"] not in drop]  # fmt: skip
    per_run: dict[str, dict[str, Any]] = {}
    everything: dict[str, list[float]] = {}
    for info in campaign.meta["runs"]:
        run = info["run_id"]
        ratings: dict[int, list[float]] = defaultdict(list)
        for r in rated:
            if r["run_a"] == run:
                ratings[r["record_idx"]].append(float(r["answer"]))
        rows = {int(row.get("idx", k)): row for k, row in enumerate(read_run(info["path"]).rows)}
        keys = sorted(ratings)
        r0 = [float(rows[k]["rating_true"]) for k in keys]
        r1 = clip([float(rows[k]["rating"]) for k in keys], RATING_MIN, RATING_MAX)
        r2 = [sum(ratings[k]) / len(ratings[k]) for k in keys]  # annotators averaged
        scores = coherence_scores(r0, r1, r2, RATING_MAX - RATING_MIN)  # Curr-RLCER eq. 8
        units = {str(k): v for k, v in ratings.items()}
        everything |= {f"{run}|{k}": v for k, v in units.items()}
        per_run[run] = {
            "method": campaign.methods[run],
            "items": len(keys),
            "ratings": sum(len(v) for v in ratings.values()),
            **{f"{name}[human]": (sum(v) / len(v) if v else None) for name, v in scores.items()},
            "alpha": _finite(krippendorff_alpha_interval(units)),
        }
    answers = [(f"{r['run_a']}|{r['record_idx']}", r["annotator"], float(r["answer"]))
               for r in rated]  # fmt: skip
    return {
        "ratings": len(rated),
        "cannot_tell": sum(
            r["answer"] == CANNOT_TELL and r["annotator"] not in drop
            for r in campaign.store.answers()
        ),  # fmt: skip
        "runs": per_run,
        "krippendorff_alpha": {
            "level": "interval",
            "all": _finite(krippendorff_alpha_interval(everything)),
        },  # fmt: skip
        "agreement": agreement(answers, numeric=True),
    }


def analyze(campaign: Campaign, exclude: list[str] | None = None, min_seconds: float = 2.0,
            bootstrap: int = 200, seed: int = 0, bt_alpha: float = 0.01) -> dict[str, Any]:  # fmt: skip
    """The whole report as a JSON-ready dict."""
    qc = qc_report(campaign, min_seconds)
    drop = excluded(qc, exclude or [])
    block = (
        arena_block(campaign, set(drop), bootstrap, seed, bt_alpha)
        if campaign.task.name == "arena"
        else coherence_block(campaign, set(drop))
    )
    return {
        "campaign": campaign.path.name,
        "task": campaign.task.name,
        "items": campaign.store.count_items(),
        "assignment": campaign.policy.to_meta(),
        "excluded": drop,
        "min_seconds": min_seconds,
        campaign.task.name: block,
        "quality_control": qc,
    }
