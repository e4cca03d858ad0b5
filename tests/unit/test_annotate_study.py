"""A campaign run as a study, over HTTP (Starlette's test client): crowd study links with
Prolific / MTurk ids kept with each answer, consent and instructions pages (Markdown, no raw
HTML), practice feedback, undo, completion code and redirect, invite --csv / --revoke /
--reissue, the admin login limit, Secure cookies behind a TLS proxy, the favicon."""

from __future__ import annotations

import csv
import json

import pytest
from starlette.testclient import TestClient

from bench.annotate.app import create_app
from bench.annotate.campaign import create_campaign, invite, open_campaign, revoke, study_link
from bench.annotate.security import LoginLimiter
from bench.cli import main
from tests.fixtures.annotate.client import SimulatedAnnotator
from tests.fixtures.annotate.runs import write_explaining_run

CONSENT = "# Consent\n\nYou agree to **rate** texts. <script>window.pwned = 1</script>\n\n" \
    "[evil](javascript:alert(1)) [ok](https://example.org/info)\n"  # fmt: skip
PROLIFIC = {
    "PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e",
    "STUDY_ID": "study42",
    "SESSION_ID": "sess9",
}


@pytest.fixture
def study(tmp_path):
    run = write_explaining_run(tmp_path / "runs", "cer", lambda i: f"cer says {i}", n=4)
    (tmp_path / "consent.md").write_text(CONSENT)
    (tmp_path / "instructions.md").write_text("Read each explanation, then pick a rating.\n")
    (tmp_path / "practice.jsonl").write_text(
        json.dumps({"explanation": "Awful.", "answer": "1"}) + "\n"
    )
    campaign = create_campaign(
        "coherence", [str(run)], 3, seed=0, out=tmp_path / "c",
        practice=tmp_path / "practice.jsonl",
        pages={"consent": tmp_path / "consent.md", "instructions": tmp_path / "instructions.md"},
        completion={"code": "C1A2B3", "url": "https://app.prolific.com/submissions/complete?cc=C1A2B3"},
    )  # fmt: skip
    return campaign, TestClient(create_app(campaign, admin_password="pw"))


def csrf_of(text: str) -> str:
    return text.split('name="csrf" value="')[1].split('"')[0]


def test_prolific_study_link_consent_practice_items_and_completion(study):
    campaign, client = study
    link = study_link(campaign, "prolific")
    assert client.get(f"/s/{link}").status_code == 400  # no participant id: refused
    assert client.get("/s/not-a-study?PROLIFIC_PID=x").status_code == 403
    first = client.get(f"/s/{link}", params=PROLIFIC, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/a/")
    path = first.headers["location"].split("?")[0]
    consent = client.get(first.headers["location"])
    assert 'id="consent"' in consent.text and "<strong>rate</strong>" in consent.text
    assert "<script>window" not in consent.text and "&lt;script&gt;" in consent.text
    assert (
        'href="javascript:' not in consent.text
        and 'href="https://example.org/info"' in consent.text
    )
    # items need the consent first: answering is impossible before (nothing served yet)
    assert client.post(f"{path}/consent", data={"csrf": csrf_of(consent.text)},
                       follow_redirects=False).status_code == 303  # fmt: skip
    instructions = client.get(path)
    assert 'id="instructions"' in instructions.text and "pick a rating" in instructions.text
    client.post(f"{path}/instructions", data={"csrf": csrf_of(instructions.text)})
    ann = SimulatedAnnotator(client, path)
    practice = ann.open()
    assert 'id="practice"' in practice.text and "Awful." in practice.text
    feedback = ann.post(practice.fields, "4")
    assert feedback.status_code == 200 and "the expected answer was 1" in feedback.text
    for answer in ("2", "3", "5"):
        page, response = ann.answer(answer)
        assert 'id="practice"' not in page.text and response.status_code == 303
    done = ann.open()
    assert "All 3 done" in done.text and "C1A2B3" in done.text
    assert 'content="5;url=https://app.prolific.com/submissions/complete?cc=C1A2B3"' in done.text
    answers = campaign.store.answers()
    assert [a["answer"] for a in answers] == ["2", "3", "5"]  # practice is not an answer
    assert all(a["crowd"] == PROLIFIC for a in answers)
    assert all(a["seconds"] is not None and a["seconds"] >= 0 for a in answers)
    # the same participant coming back resumes as the same annotator
    again = client.get(f"/s/{link}", params=PROLIFIC, follow_redirects=False)
    assert "All 3 done" in client.get(again.headers["location"]).text
    assert [p["participant_id"] for p in campaign.store.progress()] == [PROLIFIC["PROLIFIC_PID"]]


def test_mturk_preview_is_not_an_annotator_and_workers_are(study):
    campaign, client = study
    link = study_link(campaign, "mturk")
    preview = client.get(
        f"/s/{link}", params={"workerId": "W1", "assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"}
    )
    assert "Accept the task" in preview.text and campaign.store.progress() == []
    accepted = client.get(f"/s/{link}", params={"workerId": "W1", "assignmentId": "A7", "hitId": "H3"},
                          follow_redirects=False)  # fmt: skip
    assert accepted.status_code == 303
    bad = client.get(f"/s/{link}", params={"workerId": "<script>"})
    assert bad.status_code == 400  # an id that is not an id is ignored: no participant
    assert [(p["platform"], p["participant_id"]) for p in campaign.store.progress()] == [
        ("mturk", "W1")
    ]


def test_undo_takes_back_the_last_answer_only(tmp_path):
    run = write_explaining_run(tmp_path / "runs", "cer", lambda i: f"cer says {i}", n=4)
    campaign = create_campaign("coherence", [str(run)], 3, seed=0, out=tmp_path / "c")
    ((_, token),) = invite(campaign, 1)
    client = TestClient(create_app(campaign, admin_password=""))
    ann = SimulatedAnnotator(client, f"/a/{token}")
    first = ann.open()
    assert 'id="undo"' not in first.text  # nothing to undo yet
    ann.post(first.fields, "2")
    second = ann.open()
    ann.post(second.fields, "5")  # a misclick
    third = ann.open()
    assert 'id="undo"' in third.text
    assert client.post(f"/a/{token}/undo", data={"csrf": "forged"}).status_code == 403
    client.post(f"/a/{token}/undo", data={"csrf": third.fields["csrf"]})
    back = ann.open()
    assert (
        back.fields["item"] == second.fields["item"]
        and back.fields["nonce"] == second.fields["nonce"]
    )
    ann.post(back.fields, "3")
    assert [a["answer"] for a in campaign.store.answers()] == ["2", "3"]
    with campaign.store.connect() as conn:
        assert [tuple(r) for r in conn.execute("SELECT answer FROM undone")] == [("5",)]


def test_invite_csv_revoke_and_reissue(tmp_path, capsys):
    run = write_explaining_run(tmp_path / "runs", "cer", lambda i: f"cer says {i}", n=4)
    create_campaign("coherence", [str(run)], 2, seed=0, out=tmp_path / "c")
    out = tmp_path / "links.csv"
    assert main(["annotate", "invite", str(tmp_path / "c"), "--annotators", "3", "--csv", str(out),
                 "--base-url", "https://eval.example.org"]) == 0  # fmt: skip
    rows = list(csv.DictReader(out.open()))
    assert [r["annotator"] for r in rows] == ["annotator-1", "annotator-2", "annotator-3"]
    assert all(r["link"].startswith("https://eval.example.org/a/") for r in rows)
    client = TestClient(create_app(open_campaign(tmp_path / "c"), admin_password=""))
    path = lambda link: link.split("example.org")[1]  # noqa: E731
    assert client.get(path(rows[1]["link"])).status_code == 200
    capsys.readouterr()
    assert main(["annotate", "invite", str(tmp_path / "c"), "--revoke", "annotator-2"]) == 0
    assert client.get(path(rows[1]["link"])).status_code == 403
    assert capsys.readouterr().out.startswith("annotator-2\trevoked")
    assert main(["annotate", "invite", str(tmp_path / "c"), "--reissue", "annotator-1",
                 "--base-url", "https://eval.example.org"]) == 0  # fmt: skip
    name, new = capsys.readouterr().out.strip().split("\t")
    assert name == "annotator-1" and client.get(path(new)).status_code == 200
    assert client.get(path(rows[0]["link"])).status_code == 403  # the old link is dead
    assert main(["annotate", "invite", str(tmp_path / "c"), "--study", "prolific"]) == 0
    study = capsys.readouterr().out.strip().split("\t")[1]
    assert "/s/" in study and study.endswith(
        "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
    )
    assert main(["annotate", "invite", str(tmp_path / "c"), "--revoke", "nobody"]) == 2


def test_admin_login_is_rate_limited_per_client():
    now = [0.0]
    limiter = LoginLimiter(failures=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.blocked_for("1.2.3.4") == 0
        limiter.failed("1.2.3.4")
    assert limiter.blocked_for("1.2.3.4") == 60 and limiter.blocked_for("5.6.7.8") == 0
    now[0] = 59.5
    assert limiter.blocked_for("1.2.3.4") == 1
    now[0] = 60.0
    assert limiter.blocked_for("1.2.3.4") == 0


def test_wrong_passwords_get_429_then_even_the_right_one_waits(study):
    campaign, client = study
    codes = [client.get("/admin", auth=("a", f"guess{k}")).status_code for k in range(7)]
    assert codes == [401] * 5 + [429] * 2
    blocked = client.get("/admin", auth=("a", "pw"))
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0


def test_secure_cookie_only_over_tls_and_proxy_header_only_when_trusted(study):
    campaign, _client = study
    ((_, token),) = invite(campaign, 1)
    proxied = {"X-Forwarded-Proto": "https"}
    plain = TestClient(create_app(campaign, admin_password="", trust_proxy=False))
    assert "secure" not in plain.get(f"/a/{token}", headers=proxied).headers["set-cookie"].lower()
    trusted = TestClient(create_app(campaign, admin_password="", trust_proxy=True))
    assert "secure" in trusted.get(f"/a/{token}", headers=proxied).headers["set-cookie"].lower()
    assert "secure" not in trusted.get(f"/a/{token}").headers["set-cookie"].lower()
    tls = TestClient(create_app(campaign, admin_password=""), base_url="https://testserver")
    assert "secure" in tls.get(f"/a/{token}").headers["set-cookie"].lower()


def test_favicon_is_served(study):
    _campaign, client = study
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert client.get("/static/favicon.svg").text.startswith("<svg")


def test_one_server_serves_several_campaigns(tmp_path):
    from bench.annotate.server import create_server

    run = write_explaining_run(tmp_path / "runs", "cer", lambda i: f"cer says {i}", n=4)
    other = write_explaining_run(tmp_path / "runs", "peter", lambda i: f"peter says {i}", n=4)
    first = create_campaign("coherence", [str(run)], 2, seed=0, out=tmp_path / "first")
    second = create_campaign("arena", [str(run), str(other)], 3, seed=0, out=tmp_path / "second")
    ((_, token_1),), ((_, token_2),) = invite(first, 1), invite(second, 1)
    client = TestClient(create_server([first, second], admin_password="pw"))
    one = SimulatedAnnotator(client, f"/a/{token_1}")
    two = SimulatedAnnotator(TestClient(client.app), f"/a/{token_2}")
    assert 'id="explanation"' in one.open().text and "1 of 2" in one.open().text
    assert 'id="explanation-a"' in two.open().text and "1 of 3" in two.open().text
    assert one.answer("4")[1].status_code == 303 and two.answer("left")[1].status_code == 303
    assert [a["answer"] for a in first.store.answers()] == ["4"]
    assert [a["answer"] for a in second.store.answers()] == ["left"]
    assert client.get("/a/unknown-token").status_code == 403
    assert client.get("/admin").status_code == 401
    listing = client.get("/admin", auth=("a", "pw")).text
    assert 'href="/c/first/admin"' in listing and 'href="/c/second/admin"' in listing
    admin = client.get("/c/second/admin", auth=("a", "pw"))
    assert admin.status_code == 200 and 'href="/c/second/admin/export.zip"' in admin.text
    assert (
        client.get("/c/second/admin/export.zip", auth=("a", "pw")).headers["content-type"]
        == "application/zip"
    )
    assert client.get("/c/nothing/admin").status_code == 404
    assert client.get("/favicon.ico").status_code == 200


def test_admin_page_shows_participants_and_revoked_links(study):
    campaign, client = study
    link = study_link(campaign, "prolific")
    client.get(f"/s/{link}", params=PROLIFIC)
    ((name, _token),) = invite(campaign, 1)
    revoke(campaign, name)
    rows = client.get("/admin", auth=("a", "pw")).text.split('<table id="annotators">')[1]
    assert f"<td>prolific: {PROLIFIC['PROLIFIC_PID']}</td><td>active</td>" in rows
    assert f"<td>{name}</td><td>0 of 3</td><td>—</td><td>—</td><td>revoked</td>" in rows
