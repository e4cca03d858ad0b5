"""The annotation app over HTTP (Starlette's test client): tokens, forged and replayed answers,
CSRF, escaping of model output, the admin page."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from starlette.testclient import TestClient

from bench.annotate.app import create_app
from bench.annotate.campaign import create_campaign, invite
from tests.fixtures.annotate.client import SimulatedAnnotator
from tests.fixtures.annotate.runs import write_explaining_run

EVIL = '<script>window.pwned = 1</script><img src=x onerror="alert(1)">'


def answers_in_db(campaign) -> list[tuple]:
    with campaign.store.connect() as conn:
        return [tuple(r) for r in conn.execute(
            "SELECT a.name, x.item_id, x.answer FROM answers x JOIN annotators a ON a.id = x.annotator_id ORDER BY x.id")]  # fmt: skip


@pytest.fixture
def arena(tmp_path):
    runs = [
        write_explaining_run(tmp_path / "runs", "peter", lambda i: f"peter says {i} {EVIL}", n=4),
        write_explaining_run(tmp_path / "runs", "cer", lambda i: f"cer says {i}", n=4),
    ]
    for run in runs:  # a title with markup too: context is model/data text as well
        path = run / "predictions.jsonl"
        path.write_text(path.read_text().replace('"Item ', '"<b>Item</b> '))
    campaign = create_campaign("arena", [str(r) for r in runs], 4, seed=0, out=tmp_path / "c")
    links = [f"/a/{token}" for _name, token in invite(campaign, 2)]
    client = TestClient(create_app(campaign, admin_password="s3cret"))
    return campaign, client, links


def annotator(client, link) -> SimulatedAnnotator:
    return SimulatedAnnotator(TestClient(client.app), link)  # own cookie jar per annotator


def test_bad_token_is_403_and_reveals_nothing(arena):
    campaign, client, links = arena
    for response in (client.get("/a/not-a-token"), client.post("/a/not-a-token/answer", data={})):
        assert response.status_code == 403
        assert "not valid" in response.text and "says" not in response.text
    assert answers_in_db(campaign) == []


def test_model_output_is_shown_as_text(arena):
    campaign, client, links = arena
    page = annotator(client, links[0]).open()
    assert page.status == 200
    assert "<script>" not in page.text and "<b>Item</b>" not in page.text
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in page.text
    assert "&lt;b&gt;Item&lt;/b&gt;" in page.text
    assert "onerror=&#34;alert(1)&#34;" in page.text or "onerror=&quot;alert(1)&quot;" in page.text
    # and a strict CSP would stop an inline script even if one got through
    response = client.get(links[0])
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"  # tokens live in URLs
    assert "SECRET-REFERENCE" not in page.text and "rating" not in page.text.lower()


def test_answer_is_saved_then_the_next_item_is_served(arena):
    campaign, client, links = arena
    ann = annotator(client, links[0])
    first = ann.open()
    assert "1 of 4" in first.text
    response = ann.post(first.fields, "tie", comment="  both fine  ")
    assert response.status_code == 303 and response.headers["location"] == links[0]
    assert answers_in_db(campaign) == [("annotator-1", int(first.fields["item"]), "tie")]
    second = ann.open()
    assert "2 of 4" in second.text and second.fields["item"] != first.fields["item"]
    with campaign.store.connect() as conn:
        assert conn.execute("SELECT comment FROM answers").fetchone()[0] == "both fine"


def test_reload_serves_the_same_item_with_the_same_sides(arena):
    campaign, client, links = arena
    ann = annotator(client, links[0])
    first, again = ann.open(), ann.open()
    assert (
        first.fields["nonce"] == again.fields["nonce"]
        and first.fields["item"] == again.fields["item"]
    )
    strip = lambda text: text.split('name="csrf"')[0]  # noqa: E731 - the rest of the page is equal
    assert strip(first.text) == strip(again.text)


def test_replayed_answer_is_refused_and_not_counted(arena):
    campaign, client, links = arena
    ann = annotator(client, links[0])
    page = ann.open()
    assert ann.post(page.fields, "left").status_code == 303
    replay = ann.post(page.fields, "right")
    assert replay.status_code == 409 and "already recorded" in replay.text
    assert answers_in_db(campaign) == [("annotator-1", int(page.fields["item"]), "left")]


def test_forged_answers_are_refused(arena):
    campaign, client, links = arena
    alice, bob = annotator(client, links[0]), annotator(client, links[1])
    alice_page, bob_page = alice.open(), bob.open()
    unserved = next(i for i in range(4) if str(i) not in (alice_page.fields["item"],))
    cases = [
        {**alice_page.fields, "item": str(unserved)},  # an item never served to alice
        {**alice_page.fields, "nonce": "guessed"},  # the right item, a made-up nonce
        {**alice_page.fields, "item": bob_page.fields["item"], "nonce": bob_page.fields["nonce"]},
    ]
    for fields in cases:
        response = alice.post(fields, "left")
        assert response.status_code == 403 and "not served to you" in response.text
    bad = alice.post(alice_page.fields, "A_wins_by_a_lot")
    assert bad.status_code == 400
    assert (
        alice.post({**alice_page.fields, "item": "1; DROP TABLE answers"}, "left").status_code
        == 400
    )
    assert answers_in_db(campaign) == []


def test_csrf_token_must_match_the_cookie(arena):
    campaign, client, links = arena
    ann = annotator(client, links[0])
    page = ann.open()
    missing = {k: v for k, v in page.fields.items() if k != "csrf"}
    assert ann.post(missing, "left").status_code == 403
    assert ann.post({**page.fields, "csrf": "x" * 32}, "left").status_code == 403
    # a cross-site form: right token, right nonce, but the browser has no (or another) cookie
    foreign = TestClient(client.app)
    response = foreign.post(f"{links[0]}/answer", data={**page.fields, "answer": "left"},
                            follow_redirects=False)  # fmt: skip
    assert response.status_code == 403 and "another site" in response.text
    assert answers_in_db(campaign) == []
    assert ann.post(page.fields, "left").status_code == 303


def test_all_answered_shows_done(arena):
    campaign, client, links = arena
    ann = annotator(client, links[0])
    for _ in range(4):
        page, response = ann.answer("both_bad")
        assert response.status_code == 303
    final = ann.open()
    assert final.done and "All 4 done" in final.text and set(final.fields) == {"csrf"}  # undo only


def test_admin_page_needs_the_password_and_shows_progress(arena):
    campaign, client, links = arena
    assert client.get("/admin").status_code == 401
    assert client.get("/admin", auth=("admin", "wrong")).status_code == 401
    assert client.get("/admin/export.zip", auth=("admin", "wrong")).status_code == 401
    alice, bob = annotator(client, links[0]), annotator(client, links[1])
    for _ in range(2):
        alice.answer("left")
    bob.answer("tie")
    page = client.get("/admin", auth=("anyone", "s3cret"))
    assert page.status_code == 200
    assert "<td>annotator-1</td><td>2 of 4</td>" in page.text
    assert "<td>annotator-2</td><td>1 of 4</td>" in page.text
    assert "Krippendorff" in page.text
    archive = client.get("/admin/export.zip", auth=("admin", "s3cret"))
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        assert sorted(zipped.namelist()) == ["summary.json", "votes.jsonl"]
        votes = [json.loads(line) for line in zipped.read("votes.jsonl").decode().splitlines()]
    assert [(v["annotator"], v["answer"]) for v in votes] == [
        ("annotator-1", "left"), ("annotator-1", "left"), ("annotator-2", "tie")]  # fmt: skip


def test_admin_page_is_off_without_a_password(arena, monkeypatch):
    campaign, _client, _links = arena
    monkeypatch.delenv("ERBENCH_ANNOTATE_ADMIN_PASSWORD", raising=False)
    client = TestClient(create_app(campaign))
    response = client.get("/admin", auth=("admin", ""))
    assert response.status_code == 404 and "ERBENCH_ANNOTATE_ADMIN_PASSWORD" in response.text
    monkeypatch.setenv("ERBENCH_ANNOTATE_ADMIN_PASSWORD", "from-env")
    assert TestClient(create_app(campaign)).get("/admin", auth=("a", "from-env")).status_code == 200


def test_coherence_page_offers_ratings_and_cannot_tell(tmp_path):
    run = write_explaining_run(tmp_path / "runs", "cer", lambda i: f"cer says {i} {EVIL}", n=3)
    campaign = create_campaign("coherence", [str(run)], 3, seed=0, out=tmp_path / "c")
    ((_, token),) = invite(campaign, 1)
    ann = SimulatedAnnotator(TestClient(create_app(campaign, admin_password="")), f"/a/{token}")
    page = ann.open()
    for value in ("1", "2", "3", "4", "5", "cannot_tell"):
        assert f'value="{value}"' in page.text
    assert "&lt;script&gt;" in page.text and "<script>window" not in page.text
    assert "Item " not in page.text  # one explanation, nothing else about the record
    assert ann.post(page.fields, "left").status_code == 400  # an arena answer is not a rating
    assert ann.post(page.fields, "cannot_tell").status_code == 303
    assert ann.post(ann.open().fields, "4").status_code == 303
    assert answers_in_db(campaign)[-1][2] == "4"
