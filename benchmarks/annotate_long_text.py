"""How an arena page with one very long explanation loads in Chromium at a phone's width.

    python benchmarks/annotate_long_text.py [--chars 30000 100000] [--width 390] [--no-screenshot]

For each N: two small runs (tests.fixtures.annotate.runs) whose one record's `peter`
explanation is N characters of "x" (no spaces), an arena campaign of that record, the app on a
loopback port, a fresh page at the width given opening the invite link, then (unless
--no-screenshot) a full-page screenshot. Prints one JSON line per N: wall seconds for
goto (+ screenshot), the navigation's domComplete, and the page's scroll width and height.
Needs the annotate extra and Debian's Chromium (ERBENCH_CHROMIUM for another path); the repo
on PYTHONPATH. docs/results/2026-12-07-annotate-study.md has a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def measure(chars: int, width: int, screenshot: bool, folder: Path) -> dict:
    from playwright.sync_api import sync_playwright

    from bench.annotate.app import create_app
    from bench.annotate.campaign import create_campaign, invite
    from tests.fixtures.annotate.live_server import live_server
    from tests.fixtures.annotate.runs import write_explaining_run

    runs = [
        write_explaining_run(folder / "runs", m, (lambda i: "x" * chars) if m == "peter"
                             else (lambda i, m=m: f"{m} says {i}"), n=1)
        for m in ("peter", "cer")
    ]  # fmt: skip
    campaign = create_campaign("arena", [str(r) for r in runs], 1, out=folder / "campaign")
    ((_, token),) = invite(campaign, 1)
    chromium = os.environ.get("ERBENCH_CHROMIUM", "/usr/bin/chromium")
    with live_server(create_app(campaign, admin_password="")) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True)
        page = browser.new_page(viewport={"width": width, "height": 844})
        page.set_default_timeout(300_000)
        start = time.monotonic()
        page.goto(f"{base}/a/{token}")
        if screenshot:
            page.screenshot(path=str(folder / "page.png"), full_page=True)
        wall = time.monotonic() - start
        nav = page.evaluate("() => performance.getEntriesByType('navigation')[0].domComplete")
        size = page.evaluate("() => [document.documentElement.scrollWidth,"
                             " document.documentElement.scrollHeight]")  # fmt: skip
        browser.close()
    return {"chars": chars, "width": width, "screenshot": screenshot, "wall_s": round(wall, 3),
            "dom_complete_ms": round(nav, 1), "page_width": size[0], "page_height": size[1]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, nargs="+", default=[30_000, 100_000])
    parser.add_argument("--width", type=int, default=390)
    parser.add_argument("--no-screenshot", action="store_true")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    for chars in args.chars:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(measure(chars, args.width, not args.no_screenshot, Path(tmp))))


if __name__ == "__main__":
    main()
