"""The results explorer at scale: build the site for N runs x M test records, then time the
instance browser in Chromium (all N runs side by side, opened from file://).

    python benchmarks/site_bench.py [--runs 10] [--records 10000] [--work DIR] [--repeat 3]

Writes fake finished runs (one dataset, one test sample, so every run pairs with every other:
the heaviest case) whose records carry a ~25-word explanation, a reference, an item title and
a profile, and two per-example metrics. Prints: seconds to write the runs (not the site's),
`bench site build` wall and CPU seconds, the number and the largest size of its data files,
and in Chromium (Playwright, /usr/bin/chromium or $ERBENCH_CHROMIUM): the first open of the
browser with all runs (loading every chunk), then each sort (a run's metric, the disagreement
of the first two runs, a full-text search) from the select's change to the redrawn list,
median of --repeat. The load average is printed alongside: on a shared machine it moves them.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WORDS = ("tone strings tuning stage bright warm cable noise quiet capo picks grip solid cheap "
         "price sound amp pedal buzz fret neck strap case light heavy easy clear loud").split()  # fmt: skip
METRIC = "bertscore_f1[all-MiniLM-L6-v2]"


def write_runs(runs_dir: Path, n_runs: int, n_records: int) -> list[str]:
    from bench.api.run_folder import RunFolder
    from bench.results import ResultsStore, default_store_path
    from tests.fixtures.leaderboards.synthetic import write_run

    store = ResultsStore(default_store_path(runs_dir))
    ids = []
    for r in range(n_runs):
        run = write_run(runs_dir, "peter", "amazon-instruments", r, {"rmse": 1.0, METRIC: 0.5, "coh_accuracy": 0.7},
                        index=False, n_test=n_records)  # fmt: skip
        rng = random.Random(r)
        rows, scores = [], []
        for i in range(n_records):
            words = " ".join(rng.choice(WORDS) for _ in range(25))
            rows.append({
                "idx": i, "user_id": f"u{i}", "item_id": f"i{i}", "rating_true": 1.0 + i % 5, "label": None,
                "reference": f"reference {i}: " + " ".join(WORDS[(i + k) % len(WORDS)] for k in range(12)),
                "feature_true": None, "rating": 1.0 + rng.random() * 4, "ctr_score": None,
                "explanation": f"run {r} record {i}: {words}",
                "extras": {"title": f"Item {i}", "user_profile": f"Average rating 4.{i % 10} over {i % 30} reviews."},
            })  # fmt: skip
            scores.append({"idx": i, METRIC: rng.random(), "coh_accuracy": float(rng.random() < 0.7)})
        RunFolder(run).write_predictions(rows)
        RunFolder(run).write_per_example(scores)
        store.add_run(run)
        ids.append(run.name)
    return ids


def time_browser(site: Path, ids: list[str], repeat: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("ERBENCH_CHROMIUM", "/usr/bin/chromium")
    out: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        url = (site / "index.html").resolve().as_uri() + "#/browse?g=g0&runs=" + ",".join(ids)

        def ready() -> None:
            page.wait_for_selector("body[data-ready='browse']", state="attached", timeout=120_000)

        started = time.perf_counter()
        page.goto(url)
        ready()
        out["open (load every chunk, first sort and draw)"] = [time.perf_counter() - started]
        actions = {
            f"sort by {METRIC} of run 1": lambda: page.select_option("#sort", f"m:{ids[0]}:{METRIC}"),
            "sort by disagreement of runs 1 and 2": lambda: page.select_option("#sort", f"d:{METRIC}"),
            "sort descending": lambda: page.select_option("#dir", "desc"),
            "sort back to record order": lambda: page.select_option("#sort", "idx"),
        }
        for _ in range(repeat):
            for name, act in actions.items():
                started = time.perf_counter()
                act()
                ready()
                out.setdefault(name, []).append(time.perf_counter() - started)
            page.select_option("#dir", "asc")
            ready()
            started = time.perf_counter()
            page.fill("#search", "capo grip")
            page.press("#search", "Enter")
            ready()
            out.setdefault("full-text search", []).append(time.perf_counter() - started)
            page.fill("#search", "")
            page.press("#search", "Enter")
            ready()
        assert page.locator("#records .record").count() > 0
        browser.close()
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", help="folder for the runs and the site (default: a temp folder)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="site-bench-"))
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; work folder {work}")

    started = time.perf_counter()
    ids = write_runs(work / "runs", args.runs, args.records)
    print(f"wrote {args.runs} runs x {args.records:,} records in {time.perf_counter() - started:.1f} s")

    from bench.site.build import build_site

    wall, cpu = time.perf_counter(), time.process_time()
    report = build_site(work / "runs", work / "site", specs=["reference-rows"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    size, largest = report.largest
    total = sum(p.stat().st_size for p in (work / "site").rglob("*") if p.is_file())
    print(f"bench site build: {wall:.1f} s wall, {cpu:.1f} s CPU; {report.files} data files, "
          f"{total / 1e6:.1f} MB in all, largest {largest} {size / 1e6:.2f} MB; "
          f"{report.comparisons} comparisons precomputed")  # fmt: skip
    for name, seconds in time_browser(work / "site", ids, args.repeat).items():
        print(f"chromium, {args.runs} runs x {args.records:,} records: {name}: {seconds:.3f} s")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
