"""`bench annotate create | serve | invite | export`: what each subcommand does and prints."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench.annotate.campaign import create_campaign, invite, open_campaign
from bench.annotate.security import ADMIN_PASSWORD_ENV
from bench.errors import BenchError
from bench.loopback import is_loopback

DEFAULT_HOST = "127.0.0.1"  # loopback unless told otherwise: the app has no TLS of its own
DEFAULT_PORT = 8000


def create_command(
    task: str, runs: list[str], n: int, seed: int, out: str | None, with_data: bool
) -> int:
    campaign = create_campaign(task, runs, n, seed=seed, out=out, with_data=with_data)
    unit = "battles" if task == "arena" else "items"
    print(
        f"created {task} campaign {campaign.path}: {n} {unit} from {len(runs)} run(s), seed {seed}"
    )
    print(f"next: bench annotate invite {campaign.path} --annotators 5")
    return 0


def invite_command(campaign_dir: str, annotators: int, base_url: str) -> int:
    campaign = open_campaign(campaign_dir)
    base = base_url.rstrip("/")
    for name, token in invite(campaign, annotators):
        print(f"{name}\t{base}/a/{token}")
    print("each link is shown only now (the campaign keeps its sha256); send one per person",
          file=sys.stderr)  # fmt: skip
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


def serve_command(campaign_dir: str, host: str, port: int) -> int:
    import uvicorn

    from bench.annotate.app import create_app

    campaign = open_campaign(campaign_dir)
    if not 0 < port < 65536:
        raise BenchError(f"--port must be between 1 and 65535, got {port}")
    app = create_app(campaign)
    admin = "on" if os.environ.get(ADMIN_PASSWORD_ENV) else f"off (set {ADMIN_PASSWORD_ENV})"
    print(f"serving {campaign.task.name} campaign {Path(campaign.path)} on http://{host}:{port}; "
          f"admin page /admin: {admin}; Ctrl+C stops")  # fmt: skip
    if not is_loopback(host):
        print(f"warning: listening on {host}: anyone who reaches this port can load the app "
              "(answers still need an invite link); put a TLS proxy in front", file=sys.stderr)  # fmt: skip
    # no access log: invite tokens are part of every annotator URL
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
    return 0
