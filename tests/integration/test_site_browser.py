"""The results explorer in a real headless browser (Debian's Chromium driven by Playwright,
tests/fixtures/browser.py), opened from file:// as a reader would open a downloaded site:
sort a leaderboard, follow a cell to its run, browse two runs' explanations sorted by a
per-example metric, search, reopen a permalink, compare the runs; a model output holding a
<script> shows as text; no request leaves the site folder. With ERBENCH_UPDATE_SCREENSHOTS=1
the three main pages are saved into docs/img/ (docs/results-explorer.md shows them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.annotate.campaign import create_campaign
from bench.annotate.export import export_campaign
from bench.compare import compare_runs
from bench.site.build import build_site
from tests.fixtures.annotate.runs import MARKUP
from tests.fixtures.browser import chromium, screenshot
from tests.fixtures.site.store import BERT, explorer_store, spec_file


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    _store, runs = explorer_store(root / "runs")
    campaign = create_campaign("coherence", [str(runs["cer"]), str(runs["currrl"])], 4, seed=0,
                               out=root / "coherence-demo")  # fmt: skip
    export_campaign(campaign)
    build_site(root / "runs", root / "site", specs=[str(spec_file(root))], campaigns=[str(campaign.path)])
    return root / "site", runs


def open_page(browser, site_dir: Path):
    """A page whose every request (file:// ones too) is listed in `requests`: files of the site
    folder load, anything else is aborted."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    prefix = site_dir.resolve().as_uri() + "/"
    requests: list[str] = []

    def check(route):
        requests.append(route.request.url)
        if route.request.url.startswith(prefix):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", check)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # CSP too
    return context, page, prefix + "index.html", requests, errors


def only_inside(requests: list[str], site_dir: Path) -> bool:
    """Every request went to a file of the site folder, record chunks among them."""
    prefix = site_dir.resolve().as_uri() + "/"
    return all(u.startswith(prefix) for u in requests) and any("/data/records/" in u for u in requests)


def ready(page, what: str) -> None:
    page.wait_for_selector(f"body[data-ready='{what}']", state="attached")


def go(page, url: str, what: str) -> None:
    page.evaluate("document.body.removeAttribute('data-ready')")
    page.goto(url)
    ready(page, what)


def row_labels(page, table: str) -> list[str]:
    return page.eval_on_selector_all(f"#table-{table} tbody tr[data-row] td:first-child", "tds => tds.map(t => t.textContent)")


def test_leaderboard_sort_and_run_page(browser, site, tmp_path):
    site_dir, runs = site
    context, page, index, requests, errors = open_page(browser, site_dir)
    page.goto(index)
    ready(page, "tables")
    spec_order = row_labels(page, "synthetic-table")
    assert spec_order[:3] == ["MF-bias", "PETER", "PETER (paper)"]
    screenshot(page, tmp_path, "site-leaderboards.png")
    page.click("#table-synthetic-table th[data-col='0']")  # Instruments RMSE, lower is better: best first
    ready(page, "tables")
    assert row_labels(page, "synthetic-table") == [
        "w/o DPO", "Curr-RLCER (paper)", "Curr-RLCER", "PETER", "MF-bias", "PETER (paper)", "XRec-3B (paper)",
    ]  # 0.50, 0.6899, 0.96, 1.01, 1.05, 1.0625, none last  # fmt: skip
    page.click("#table-synthetic-table th[data-col='0']")
    ready(page, "tables")
    assert row_labels(page, "synthetic-table")[0] == "PETER (paper)"
    # marks as bench tables sets them: † on PETER's BERTScore (p < 0.05 against Curr-RLCER),
    # ‡ (other test records) on the demo runs' cells, n per cell
    peter = page.locator("#table-synthetic-table tr[data-row='peter'] td").nth(2)
    assert peter.inner_text().startswith("0.3200†") and "n=20" in peter.inner_text()
    # follow Curr-RLCER's MiniLM BERTScore cell (the demo run, n=6) to its run page
    page.click("#table-synthetic-table tr[data-row='currrl'] td:nth-child(4) a.cell-link")
    ready(page, "run")
    assert page.inner_text("#run-title") == runs["currrl"].name
    metrics = page.inner_text("#metrics")
    assert f"{BERT}\ttest\t0.6083\t6" in metrics and "checkpoint=all-MiniLM-L6-v2" in metrics
    assert "bleurt: no BLEURT checkpoint" in page.inner_text("#unavailable")
    assert page.locator("#curves figure").count() == 4  # 2 stages x (loss, reward)
    assert MARKUP in page.inner_text("#explanations")  # shown as text
    screenshot(page, tmp_path, "site-run.png")
    assert page.evaluate("typeof window.pwned") == "undefined"
    page.click("#nav-human")
    ready(page, "human")
    assert page.inner_text("main h2") == "coherence-demo (coherence)"
    assert "task\tcoherence" in page.inner_text("#campaign-coherence-demo")
    assert only_inside(requests, site_dir) and errors == []
    context.close()


def test_instance_browser_permalink_and_compare(browser, site, tmp_path):
    site_dir, runs = site
    peter, currrl = runs["peter"].name, runs["currrl"].name
    context, page, index, requests, errors = open_page(browser, site_dir)
    go(page, f"{index}#/run/{currrl}", "run")
    page.click("#browse-run")
    ready(page, "browse")
    page.check(f"input.run-pick[value='{peter}']")
    ready(page, "browse")
    assert page.locator("#records .record tr[data-run]").count() == 12  # 6 records x 2 runs

    def shown() -> list[str]:
        return page.eval_on_selector_all("#records .record", "rs => rs.map(r => r.dataset.idx)")

    page.select_option("#sort", f"m:{currrl}:{BERT}")  # currrl's BERTScore, worst first
    ready(page, "browse")
    assert shown() == ["0", "1", "2", "3", "4", "5"]
    page.select_option("#sort", f"d:{BERT}")  # largest |currrl - peter| first
    ready(page, "browse")
    page.select_option("#dir", "desc")
    ready(page, "browse")
    assert shown() == ["5", "0", "4", "1", "3", "2"]  # 0.85, 0.7, 0.5, 0.3, 0.3, 0.1
    markup_cell = page.locator("#rec-5 tr[data-run] td.explanation").first
    assert MARKUP in markup_cell.inner_text()
    assert page.evaluate("typeof window.pwned") == "undefined"
    screenshot(page, tmp_path, "site-browser.png")
    page.fill("#search", "crackl")
    page.press("#search", "Enter")
    ready(page, "browse")
    assert shown() == ["5"] and page.inner_text("#count").startswith("1 of 6 records")
    permalink = page.input_value("#permalink")

    other = context.new_page()
    other.goto(permalink)
    ready(other, "browse")
    assert other.eval_on_selector_all("#records .record", "rs => rs.map(r => r.dataset.idx)") == ["5"]
    assert other.input_value("#search") == "crackl" and other.input_value("#dir") == "desc"
    assert other.eval_on_selector_all("input.run-pick:checked", "bs => bs.map(b => b.value)") == [currrl, peter]
    # filter: the records where peter's rating and explanation disagree (coherence 0), same sort
    other.fill("#search", "")
    other.select_option("#filter", f"m:{peter}:coh_accuracy")
    other.fill("#fmax", "0")
    other.click("#apply")
    ready(other, "browse")
    assert other.eval_on_selector_all("#records .record", "rs => rs.map(r => r.dataset.idx)") == ["4", "2"]

    go(page, f"{index}#/compare/{currrl}/{peter}", "compare")
    expected = next(m for m in compare_runs(runs["currrl"], runs["peter"]).metrics if m.metric == BERT)
    row = page.locator("#compare-table tr", has_text=BERT).inner_text().split("\t")
    assert row[3] == f"{expected.diff:+.4f}" and float(row[4]) == pytest.approx(expected.p_ttest, rel=5e-3)
    assert row[5] == f"[{expected.ci_low:.4f}, {expected.ci_high:.4f}]"
    first_changed = page.locator("table.changed-most").first.locator("tbody tr").first.inner_text()
    assert first_changed.startswith("5\t")
    assert only_inside(requests, site_dir) and errors == []
    context.close()
