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
from tests.fixtures.annotate.runs import DEMO_EXPLANATIONS, MARKUP, demo_runs, write_explaining_run
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


# -- a study: crowd link, consent, practice, gold, undo, completion; K per item; adaptive -------

PROLIFIC = {"PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e", "STUDY_ID": "s42", "SESSION_ID": "x9"}
DONE_URL = "https://app.prolific.com/submissions/complete?cc=C0DE42"
GOLD = {"explanation_a": "Bright, warm strings that held their tuning through a long gig.",
        "explanation_b": "strings strings strings", "answer": "a"}  # fmt: skip


def start_simulated(session, base: str, token: str) -> SimulatedAnnotator:
    """An annotator over plain HTTP who agrees to the consent and reads the instructions."""
    for step in ("consent", "instructions"):
        page = SimulatedAnnotator(session, f"{base}/a/{token}").open()
        session.post(f"{base}/a/{token}/{step}", data={"csrf": page.fields["csrf"]})
    return SimulatedAnnotator(session, f"{base}/a/{token}")


def test_a_prolific_study_in_a_browser_with_k_per_item(browser, tmp_path):
    from bench.annotate.analyze import analyze
    from bench.annotate.assignment import Policy
    from bench.annotate.campaign import study_link

    runs = demo_runs(tmp_path / "runs")
    (tmp_path / "consent.md").write_text("# Consent\n\nYou agree to compare **explanations**.\n")
    (tmp_path / "instructions.md").write_text("Pick the explanation that would convince you.\n")
    (tmp_path / "practice.jsonl").write_text(json.dumps({**GOLD, "answer": "a"}) + "\n")
    (tmp_path / "gold.jsonl").write_text(json.dumps(GOLD) + "\n")
    campaign = create_campaign(
        "arena", [str(p) for p in runs.values()], 6, seed=0, out=tmp_path / "study",
        policy=Policy(per_item=2, quota=3, gold_rate=0.5),
        practice=tmp_path / "practice.jsonl", gold=tmp_path / "gold.jsonl",
        pages={"consent": tmp_path / "consent.md", "instructions": tmp_path / "instructions.md"},
        completion={"code": "C0DE42", "url": DONE_URL},
    )  # fmt: skip
    link = study_link(campaign, "prolific")
    query = "&".join(f"{k}={v}" for k, v in PROLIFIC.items())
    with live_server(create_app(campaign, admin_password="")) as base:
        context = browser.new_context(viewport={"width": 1100, "height": 760})
        page = context.new_page()
        page.route("https://app.prolific.com/**", lambda route: route.fulfill(body="prolific ok"))
        page.goto(f"{base}/s/{link}?{query}")
        assert "compare explanations" in page.inner_text("#consent")
        screenshot(page, tmp_path, "annotate-consent.png")
        with page.expect_navigation():
            page.click("#agree")
        assert "convince you" in page.inner_text("#instructions")
        with page.expect_navigation():
            page.click("#start")
        assert page.is_visible("#practice")  # practice first, marked as such
        with page.expect_navigation():
            page.click("#answer-tie")
        assert "the expected answer was" in page.inner_text("#message")
        with page.expect_navigation():
            page.click("#continue")
        kinds, undone = [], False
        while page.query_selector("#done") is None:
            left, right = page.inner_text("#explanation-a p"), page.inner_text("#explanation-b p")
            gold = GOLD["explanation_a"] in (left, right)
            kinds.append("gold" if gold else "real")
            if gold:  # answered wrong on purpose: the check must catch it
                wrong = "right" if left == GOLD["explanation_a"] else "left"
                with page.expect_navigation():
                    page.click(f"#answer-{wrong}")
                continue
            if not undone and kinds.count("real") == 2:  # a misclick, taken back
                with page.expect_navigation():
                    page.click("#answer-both_bad")
                with page.expect_navigation():
                    page.click("#undo")
                assert (
                    page.inner_text("#explanation-a p"),
                    page.inner_text("#explanation-b p"),
                ) == (left, right)
                undone = True
            with page.expect_navigation():
                page.keyboard.press("a")
        assert kinds == ["real", "real", "gold", "real"]  # a gold after every 2 real; quota 3
        assert page.inner_text("#completion-code") == "C0DE42"
        screenshot(page, tmp_path, "annotate-done.png")
        with page.expect_navigation():
            page.click("#complete")
        assert page.url == DONE_URL and "prolific ok" in page.content()
        context.close()
        with requests.Session() as session:  # three more annotators share out the rest, K = 2
            for _name, token in invite(campaign, 3):
                other = start_simulated(session, base, token)
                while not (current := other.open()).done:
                    text = current.text
                    good = "tie"  # the gold answered right: A's text is on the left or right
                    if GOLD["explanation_a"] in text:
                        on_left = text.index(GOLD["explanation_a"]) < text.index(
                            'id="explanation-b"'
                        )
                        good = "left" if on_left else "right"
                    other.post(current.fields, good)
    with campaign.store.connect() as conn:
        served = [dict(r) for r in conn.execute(
            "SELECT s.item_id, s.a_on_left, i.run_a, i.run_b FROM served s JOIN items i"
            " ON i.id = s.item_id WHERE i.kind = 'real'")]  # fmt: skip
    per_item = {}
    for row in served:
        per_item[row["item_id"]] = per_item.get(row["item_id"], 0) + 1
    assert sorted(per_item.values()) == [2] * 6  # every battle seen by exactly K = 2
    pairs: dict[tuple, list[int]] = {}
    for row in served:
        pair = tuple(sorted((row["run_a"], row["run_b"])))
        left = row["run_a"] if row["a_on_left"] else row["run_b"]
        pairs.setdefault(pair, [0, 0])[0 if left == pair[0] else 1] += 1
    assert len(pairs) == 3
    assert all(abs(lefts - rights) <= 1 for lefts, rights in pairs.values())  # sides, per pair
    exposures = [sum(v) for v in pairs.values()]
    assert max(exposures) - min(exposures) <= 1  # exposure per model pair
    answers = campaign.store.answers()
    mine = [a for a in answers if a["annotator"] == "annotator-1"]
    assert len(mine) == 3 and all(a["crowd"] == PROLIFIC for a in mine)
    assert all(a["answer"] != "both_bad" for a in mine)  # the undone misclick is gone
    qc = analyze(campaign, bootstrap=5, min_seconds=0)["quality_control"]  # a robot is fast
    assert qc["annotator-1"]["flags"] == ["failed-gold"] and qc["annotator-1"]["practice"] == 1
    assert all(qc[f"annotator-{k}"]["gold_failed"] == 0 for k in (2, 3, 4))


def test_adaptive_first_pair_and_a_100k_explanation_at_390px(browser, tmp_path):
    from bench.annotate.assignment import Policy

    runs = {m: write_explaining_run(tmp_path / "runs", m, lambda i, m=m: f"{m} says {i}", n=6)
            for m in ("peter", "cer", "currrl")}  # fmt: skip
    campaign = create_campaign("arena", [str(p) for p in runs.values()], 9, seed=0,
                               out=tmp_path / "adaptive", policy=Policy(adaptive=True))  # fmt: skip
    ((_, seeder_token), (_, token)) = invite(campaign, 2)
    # constructed: 3 answered battles each of peter-cer and peter-currrl, none of cer-currrl,
    # so Var(θcer − θcurrrl) is the largest and cer-currrl must come first
    with campaign.store.connect() as conn:
        items = [dict(r) for r in conn.execute("SELECT id, run_a, run_b FROM items")]
        seeded = [
            it
            for it in items
            if {it["run_a"], it["run_b"]} != {runs["cer"].name, runs["currrl"].name}
        ]
        assert len(seeded) == 6
        for k, it in enumerate(seeded):
            conn.execute(
                "INSERT INTO served VALUES (1, ?, ?, 1, '2026-01-01T00:00:00.000Z')",
                (it["id"], f"n{k}"),
            )
            conn.execute("INSERT INTO answers (annotator_id, item_id, answer, answered_at) VALUES"
                         " (1, ?, ?, '2026-01-01T00:00:05.000Z')", (it["id"], "left" if k % 2 else "tie"))  # fmt: skip
    long_run = write_explaining_run(
        tmp_path / "long", "cer", lambda i: "x" * 100_000 if i == 0 else "", n=2
    )
    long_campaign = create_campaign("coherence", [str(long_run)], 1, out=tmp_path / "long-c")
    ((_, long_token),) = invite(long_campaign, 1)
    with live_server(create_app(campaign, admin_password="")) as base, \
            live_server(create_app(long_campaign, admin_password="")) as long_base:  # fmt: skip
        context = browser.new_context(viewport={"width": 1100, "height": 760})
        page = context.new_page()
        page.goto(f"{base}/a/{token}")
        shown = {
            page.inner_text("#explanation-a p").split()[0],
            page.inner_text("#explanation-b p").split()[0],
        }
        assert shown == {"cer", "currrl"}
        context.close()
        narrow = browser.new_context(viewport={"width": 390, "height": 844})
        page = narrow.new_page()
        page.goto(f"{long_base}/a/{long_token}")
        layout = page.evaluate("""() => {
            const box = document.querySelector('#explanation').getBoundingClientRect();
            const nav = performance.getEntriesByType('navigation')[0];
            return {width: box.width, height: box.height, page_width: document.documentElement.scrollWidth,
                    shown: document.querySelector('#explanation > p').textContent.length,
                    open: document.querySelector('#explanation details').open,
                    dom_complete_ms: nav.domComplete};
        }""")  # fmt: skip
        print(f"100,000-character explanation at 390 px: {layout}")  # docs/results records it
        assert layout["shown"] == 1500 and layout["open"] is False
        assert layout["page_width"] <= 390 and layout["width"] <= 390  # no sideways scrolling
        assert layout["height"] < 1600  # 1,500 characters wrapped (all 100,000 would be ~40,000 px)
        screenshot(page, tmp_path, "annotate-long-390px.png")
        page.click("#explanation summary")
        rest = page.inner_text("#explanation details p")
        assert len(rest) == 20_000 - 1500 + len(" […]")  # cut at create to 20,000 characters
        narrow.close()
