"""`bench annotate create | serve | invite | export | analyze`: what each subcommand does and prints."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import Any

from bench.annotate.assignment import Policy
from bench.annotate.campaign import (
    create_campaign,
    invite,
    open_campaign,
    reissue,
    revoke,
    study_link,
)
from bench.annotate.crowd import PLATFORMS
from bench.annotate.security import ADMIN_PASSWORD_ENV
from bench.api.errors import BenchError
from bench.loopback import is_loopback

DEFAULT_HOST = "127.0.0.1"  # loopback unless told otherwise: the app has no TLS of its own
DEFAULT_PORT = 8000


def create_command(
    task: str, runs: list[str], n: int, seed: int, out: str | None, with_data: bool,
    per_item: int | None = None, quota: int | None = None, adaptive: bool = False,
    gold_rate: float = 0.0, practice: str | None = None, gold: str | None = None,
    consent: str | None = None, instructions: str | None = None,
    completion_code: str | None = None, completion_url: str | None = None,
) -> int:  # fmt: skip
    policy = Policy(per_item=per_item, quota=quota, adaptive=adaptive, gold_rate=gold_rate)
    pages = {k: v for k, v in (("consent", consent), ("instructions", instructions)) if v}
    campaign = create_campaign(task, runs, n, seed=seed, out=out, with_data=with_data,
                               policy=policy, practice=practice, gold=gold, pages=pages,
                               completion={"code": completion_code, "url": completion_url})  # fmt: skip
    unit = "battles" if task == "arena" else "items"
    extra = campaign.meta["extra_items"]
    print(f"created {task} campaign {campaign.path}: {n} {unit} from {len(runs)} run(s), "
          f"seed {seed}; {extra['practice']} practice, {extra['gold']} gold items")  # fmt: skip
    cut = campaign.meta["texts_cut"]["explanations"]
    if cut:
        print(f"note: {cut} explanation(s) longer than {campaign.meta['texts_cut']['max_chars']:,}"
              " characters were cut to that length", file=sys.stderr)  # fmt: skip
    print(f"next: bench annotate invite {campaign.path} --annotators 5")
    return 0


def invite_command(campaign_dir: str, annotators: int | None, base_url: str,
                   csv_path: str | None = None, study: str | None = None,
                   revoke_names: list[str] | None = None,
                   reissue_names: list[str] | None = None) -> int:  # fmt: skip
    """New links (one per annotator, or one study link), revocations and reissues."""
    campaign = open_campaign(campaign_dir)
    base = base_url.rstrip("/")
    rows: list[dict[str, Any]] = []
    for name in revoke_names or []:
        revoke(campaign, name)
        print(f"{name}\trevoked (their answers stay; analyze --exclude {name} drops them)")
    for name in reissue_names or []:
        rows.append({"annotator": name, "link": f"{base}/a/{reissue(campaign, name)}"})
    if annotators:
        rows += [{"annotator": name, "link": f"{base}/a/{token}"}
                 for name, token in invite(campaign, annotators)]  # fmt: skip
    if study:
        link = f"{base}/s/{study_link(campaign, study)}"
        if study == "prolific":  # Prolific fills {{%NAME%}}; MTurk appends its ids itself
            link += "?" + "&".join(f"{n}={{{{%{n}%}}}}" for n in PLATFORMS[study][1])
        rows.append({"annotator": f"study:{study}", "link": link})
    if not rows and not revoke_names:
        raise BenchError("nothing to do: give --annotators N, --study, --revoke or --reissue")
    if csv_path:
        with open(csv_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["annotator", "link"], lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {len(rows)} link(s) to {csv_path}")
    else:
        for row in rows:
            print(f"{row['annotator']}\t{row['link']}")
    if rows:
        print("each link is shown only now (the campaign keeps its sha256); send one per person; "
              "--base-url must be where `serve` is reached (its --host/--port, or your proxy)",
              file=sys.stderr)  # fmt: skip
    return 0


def analyze_command(campaign_dir: str, exclude: list[str], min_seconds: float,
                    bootstrap: int, seed: int, fmt: str | None, out: str | None) -> int:  # fmt: skip
    from bench.annotate.analyze import analyze
    from bench.annotate.report import render

    if bootstrap < 1:
        raise BenchError(f"--bootstrap must be at least 1, got {bootstrap}")
    if fmt is None:
        suffix = Path(out).suffix.lower() if out else ""
        fmt = {".json": "json", ".html": "html", ".htm": "html"}.get(suffix, "md")
    report = analyze(open_campaign(campaign_dir), exclude=exclude, min_seconds=min_seconds,
                     bootstrap=bootstrap, seed=seed)  # fmt: skip
    text = render(report, fmt)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {out}")
    else:
        sys.stdout.write(text)
    return 0


def export_command(campaign_dir: str, out: str | None) -> int:
    from bench.annotate.export import export_campaign, summary

    campaign = open_campaign(campaign_dir)
    for path in export_campaign(campaign, out):
        print(f"wrote {path}")
    info = summary(campaign)
    alpha = info["krippendorff_alpha"]
    value = alpha.get("all", alpha.get("outcome"))
    shown = (
        "not defined (no unit answered by two annotators with different values)"
        if value is None
        else f"{value:.4f}"
    )
    print(f"{info['answers']} answers from {len(info['annotators'])} annotator(s); "
          f"Krippendorff's alpha ({alpha['level']}): {shown}")  # fmt: skip
    return 0


def serve_command(campaign_dirs: str | list[str], host: str, port: int) -> int:
    import uvicorn

    from bench.annotate.server import create_server

    dirs = [campaign_dirs] if isinstance(campaign_dirs, str) else list(campaign_dirs)
    campaigns = [open_campaign(d) for d in dirs]
    if not 0 < port < 65536:
        raise BenchError(f"--port must be between 1 and 65535, got {port}")
    app = create_server(campaigns)
    admin = "on" if os.environ.get(ADMIN_PASSWORD_ENV) else f"off (set {ADMIN_PASSWORD_ENV})"
    if len(campaigns) == 1:
        what, pages = f"{campaigns[0].task.name} campaign {Path(campaigns[0].path)}", "/admin"
    else:
        what = f"{len(campaigns)} campaigns ({', '.join(c.path.name for c in campaigns)})"
        pages = "/admin (each campaign: /c/<folder name>/admin)"
    print(f"serving {what} on http://{host}:{port}; admin page {pages}: {admin}; Ctrl+C stops")
    if not is_loopback(host):
        print(f"warning: listening on {host}: anyone who reaches this port can load the app "
              "(answers still need an invite link); put a TLS proxy in front", file=sys.stderr)  # fmt: skip
    # no access log: invite tokens are part of every annotator URL
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
    return 0
