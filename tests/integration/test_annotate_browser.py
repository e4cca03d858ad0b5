"""An annotator in a real headless browser (Debian's Chromium driven by Playwright): opens an
invite link, answers arena battles and coherence items with mouse and keyboard, reloads
midway, finishes; the export holds exactly what was clicked.

Needs /usr/bin/chromium (apt-get install chromium) and the playwright Python package (no
`playwright install`: the system Chromium is used). Without them the tests skip with the
reason; with CI set (as .ci/run runs) a missing browser fails instead. With
ERBENCH_UPDATE_SCREENSHOTS=1 the pages are also saved into docs/img/ for docs/human-evaluation.md.
"""

from __future__ import annotations

import csv
import json

import pytest
import requests

from bench.annotate.app import create_app
from bench.annotate.campaign import create_campaign, invite
from bench.annotate.export import export_campaign
from tests.fixtures.annotate.client import SimulatedAnnotator
from tests.fixtures.annotate.live_server import live_server
from tests.fixtures.annotate.runs import DEMO_EXPLANATIONS, MARKUP, demo_runs
from tests.fixtures.browser import chromium, screenshot

# explanation text -> (method, record position); the marked-up one is matched by prefix
WHO_WROTE = {t: (m, i) for m, texts in DEMO_EXPLANATIONS.items() for i, t in enumerate(texts)}


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module; each test opens its own context (cookies) and page."""
    yield from chromium()


def who_wrote(text: str) -> tuple[str, int]:
    return WHO_WROTE.get(text) or next(v for t, v in WHO_WROTE.items() if text.startswith(t + " "))


def test_arena_in_a_browser(browser, tmp_path):
    runs = demo_runs(tmp_path / "runs", with_markup=True)
    campaign = create_campaign(
        "arena", [str(p) for p in runs.values()], 6, seed=0, out=tmp_path / "c"
    )
    ((_, token),) = invite(campaign, 1)
    # what the annotator does at each battle: (how, answer, comment); "reload" first reloads
    steps = [("mouse", "left", "the tone bit is specific"), ("key", "right", None),
             ("reload+key", "tie", None), ("mouse", "both_bad", None), ("key", "left", None),
             ("mouse", "right", "<b>bold</b> claim")]  # fmt: skip
    keys = {"left": "a", "right": "b", "tie": "t", "both_bad": "x"}
    seen, pictured, markup_shown = [], False, False
    with live_server(create_app(campaign, admin_password="")) as base:
        context = browser.new_context(viewport={"width": 1100, "height": 760})
        page = context.new_page()
        page.goto(f"{base}/a/{token}")
        for number, (how, answer, comment) in enumerate(steps, 1):
            assert page.inner_text("#progress").startswith(f"{number} of 6")
            shown = (page.inner_text("#explanation-a p"), page.inner_text("#explanation-b p"))
            if how.startswith("reload"):
                page.reload()  # resumes: same battle, same sides, same progress
                assert page.inner_text("#progress").startswith(f"{number} of 6")
                assert (
                    page.inner_text("#explanation-a p"),
                    page.inner_text("#explanation-b p"),
                ) == shown
            markup_shown |= any(text.endswith(MARKUP) for text in shown)  # shown as text
            if not pictured and not any(MARKUP in text for text in shown):
                screenshot(page, tmp_path, "annotate-arena.png")
                pictured = True
            left, right = who_wrote(shown[0]), who_wrote(shown[1])
            assert left[1] == right[1] and left[0] != right[0]  # one record, two models
            assert (
                page.inner_text("#item-title")
                == json.loads(
                    (runs["peter"] / "predictions.jsonl").read_text().splitlines()[left[1]]
                )["extras"]["title"]
            )
            if comment:
                page.click("#comment")
                page.keyboard.type(comment)  # typing a, b, t, x here must not answer
                assert page.inner_text("#progress").startswith(f"{number} of 6")
            with page.expect_navigation():
                if how.endswith("key"):
                    page.keyboard.press(keys[answer])
                else:
                    page.click(f"#answer-{answer}")
            seen.append((left[0], right[0], answer, comment or ""))
        assert page.inner_text("#done") == "All 6 done. Thank you!"
        page.goto(f"{base}/a/{token}")  # coming back later: nothing is served twice
        assert page.inner_text("#done") == "All 6 done. Thank you!"
        assert markup_shown and page.evaluate("typeof window.pwned") == "undefined"
        context.close()
    export_campaign(campaign)
    votes = [json.loads(line) for line in open(campaign.path / "export" / "votes.jsonl")]
    assert [(v["left_method"], v["right_method"], v["answer"], v["comment"]) for v in votes] == seen
    assert len({v["battle"] for v in votes}) == 6


def test_coherence_in_a_browser(browser, tmp_path):
    runs = demo_runs(tmp_path / "runs")
    picked = {m: runs[m] for m in ("cer", "currrl")}
    campaign = create_campaign("coherence", [str(p) for p in picked.values()], 6, seed=0,
                               out=tmp_path / "coherence-demo")  # fmt: skip
    (_, token), (_, other_token) = invite(campaign, 2)
    steps = [("mouse", "4"), ("key", "2"), ("reload+key", "cannot_tell"), ("mouse", "5"),
             ("key", "1"), ("mouse", "3")]  # fmt: skip
    clicked = []
    with live_server(create_app(campaign, admin_password="pw")) as base:
        context = browser.new_context(viewport={"width": 1100, "height": 560})
        page = context.new_page()
        page.goto(f"{base}/a/{token}")
        for number, (how, answer) in enumerate(steps, 1):
            assert page.inner_text("#progress").startswith(f"{number} of 6")
            text = page.inner_text("#explanation p")
            if how.startswith("reload"):
                page.reload()
                assert page.inner_text("#explanation p") == text
            if number == 1:
                screenshot(page, tmp_path, "annotate-coherence.png")
            with page.expect_navigation():
                if how.endswith("key"):
                    page.keyboard.press("c" if answer == "cannot_tell" else answer)
                else:
                    page.click(f"#answer-{answer}")
            clicked.append((*who_wrote(text), answer))
        assert page.inner_text("#done") == "All 6 done. Thank you!"
        with requests.Session() as session:  # a second annotator, so agreement is defined
            other = SimulatedAnnotator(session, f"{base}/a/{other_token}")
            for _ in range(6):
                other.answer("4")
        admin = browser.new_context(http_credentials={"username": "admin", "password": "pw"},
                                    viewport={"width": 1100, "height": 560})  # fmt: skip
        admin_page = admin.new_page()
        admin_page.goto(f"{base}/admin")
        assert admin_page.inner_text("#annotators").count("6 of 6") == 2
        assert "Krippendorff's alpha (interval): -" in admin_page.inner_text("#alpha")
        screenshot(admin_page, tmp_path, "annotate-admin.png")
        admin.close()
        context.close()
    export_campaign(campaign)
    for method, run in picked.items():
        with open(campaign.path / "export" / f"ratings__{run.name}.csv", newline="") as handle:
            rows = [(int(r["idx"]), r["rating"]) for r in csv.DictReader(handle)
                    if r["annotator"] == "annotator-1"]  # fmt: skip
        assert sorted(rows) == sorted(
            (i, a) for m, i, a in clicked if m == method and a != "cannot_tell"
        )
    summary = json.loads((campaign.path / "export" / "summary.json").read_text())
    assert summary["annotators"]["annotator-1"] == {"answered": 6, "ratings": 5, "cannot_tell": 1}
