"""The analysis report (bench.annotate.analyze) as Markdown, HTML or JSON.

Markdown and HTML are built from the same sections (title, header, rows), so both show the
same numbers; every text that came from a campaign (run ids, methods, annotator names) is
escaped in HTML and its pipes escaped in Markdown.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

Section = tuple[str, list[str], list[list[Any]]]  # title, header, rows


def _fmt(value: Any, decimals: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def sections(report: dict[str, Any]) -> list[Section]:
    out: list[Section] = []
    if "arena" in report:
        a = report["arena"]
        out.append((
            f"Arena: Bradley-Terry (Elo scale), {a['votes']} votes, "
            f"{a['settings']['bootstrap']} bootstrap resamples",
            ["run", "method", "BT (Elo)", "95% CI", "win rate", "wins", "losses", "ties",
             "both bad", "votes"],
            [[m["run"], m["method"], _fmt(m["elo"], 0),
              "—" if m["ci_low"] is None else f"[{m['ci_low']:.0f}, {m['ci_high']:.0f}]",
              _fmt(m["win_rate"]), m["wins"], m["losses"], m["tie"], m["both_bad"], m["votes"]]
             for m in a["models"]],
        ))  # fmt: skip
        runs = a["win_rate_matrix"]["runs"]
        out.append(("Win rate of the row's run over the column's (ties half)", ["run", *runs],
                    [[run, *(_fmt(v) for v in row)]
                     for run, row in zip(runs, a["win_rate_matrix"]["rows"], strict=True)]))  # fmt: skip
        out.append((
            "Pairs: exact binomial test of the decisive votes, Holm-corrected",
            ["first", "second", "wins (first)", "wins (second)", "ties + both bad", "votes",
             "first's win rate", "p", "p (Holm)"],
            [[p["first"], p["second"], p["wins_first"], p["wins_second"], p["ties"], p["votes"],
              _fmt(p["win_rate_first"]), _fmt(p["p"], 4), _fmt(p["p_holm"], 4)]
             for p in a["pairs"]],
        ))  # fmt: skip
        alpha = a["krippendorff_alpha"]["outcome"]
        agree = a["agreement"]
        numeric = False
    else:
        c = report["coherence"]
        out.append((
            f"Coherence (Curr-RLCER eq. 8, r2 = mean human rating): {c['ratings']} ratings, "
            f"{c['cannot_tell']} cannot tell",
            ["run", "method", "items", "ratings", "coh_acc[human]", "cier_rate[human]",
             "coh_accuracy[human]", "coh_coherence[human]", "alpha (interval)"],
            [[run, r["method"], r["items"], r["ratings"], _fmt(r["coh_acc[human]"]),
              _fmt(r["cier_rate[human]"]), _fmt(r["coh_accuracy[human]"]),
              _fmt(r["coh_coherence[human]"]), _fmt(r["alpha"])]
             for run, r in c["runs"].items()],
        ))  # fmt: skip
        alpha = c["krippendorff_alpha"]["all"]
        agree = c["agreement"]
        numeric = True
    out.append((
        f"Agreement per annotator (Krippendorff's alpha overall: {_fmt(alpha)})",
        ["annotator", "pairs", "agreement", *(["mean |difference|"] if numeric else [])],
        [[name, r["pairs"], _fmt(r["agreement"]), *([_fmt(r["mean_abs_diff"])] if numeric else [])]
         for name, r in agree.items()],
    ))  # fmt: skip
    out.append((
        f"Quality control (too fast: under {report['min_seconds']:g} s; "
        f"excluded: {_fmt(report['excluded'])})",
        ["annotator", "answers", "median s", "fast answers", "gold answered", "gold failed",
         "practice", "link revoked", "participant", "flags"],
        [[name, q["answers"], _fmt(q["median_seconds"], 1), q["fast_answers"], q["gold_answered"],
          q["gold_failed"], q["practice"], _fmt(q["revoked"]), _fmt(q["participant"]),
          _fmt(q["flags"])]
         for name, q in report["quality_control"].items()],
    ))  # fmt: skip
    return out


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any]) -> str:
    lines = [f"# {report['campaign']} ({report['task']}, {report['items']} items)", ""]
    for title, header, rows in sections(report):
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header)]  # fmt: skip
        lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


def render_html(report: dict[str, Any]) -> str:
    e = html.escape
    parts = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{e(report['campaign'])}</title></head><body>",
             f"<h1>{e(report['campaign'])} ({e(report['task'])}, {report['items']} items)</h1>"]  # fmt: skip
    for title, header, rows in sections(report):
        parts.append(f"<h2>{e(title)}</h2><table><thead><tr>")
        parts += [f"<th>{e(str(h))}</th>" for h in header]
        parts.append("</tr></thead><tbody>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2, sort_keys=False) + "\n"
    return render_html(report) if fmt == "html" else render_markdown(report)
