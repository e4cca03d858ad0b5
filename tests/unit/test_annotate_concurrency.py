"""20 annotators voting at once over real HTTP (uvicorn on loopback): no vote lost, none twice.

The default run votes for VOTE_SECONDS (brief); the slow variant votes for a full minute."""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bench.annotate.app import create_app
from bench.annotate.campaign import create_campaign, invite
from tests.fixtures.annotate.client import SimulatedAnnotator
from tests.fixtures.annotate.live_server import live_server
from tests.fixtures.annotate.runs import three_runs

ANNOTATORS = 20
VOTE_SECONDS = 2.0


def vote_until(link: str, deadline: float, seed: int) -> dict[str, int]:
    """One annotator: answer items until the deadline (or the end); every fifth answer is
    sent twice, as a double click or a resubmitted form would. Returns what the server said."""
    rng = random.Random(seed)
    said = Counter()
    with requests.Session() as session:
        ann = SimulatedAnnotator(session, link)
        while time.monotonic() < deadline:
            page = ann.open()
            if page.done:
                break
            response = ann.post(page.fields, rng.choice(["left", "right", "tie", "both_bad"]))
            said[response.status_code] += 1
            if said[303] % 5 == 0:
                said[f"repeat {ann.post(page.fields, 'tie').status_code}"] += 1
    return dict(said)


def run_campaign(tmp_path, seconds: float, records: int) -> None:
    """records x 3 pairs battles: enough that no annotator runs out before `seconds`."""
    runs = three_runs(tmp_path / "runs", n=records)
    campaign = create_campaign(
        "arena", [str(r) for r in runs], 3 * records, seed=0, out=tmp_path / "c"
    )
    tokens = [token for _name, token in invite(campaign, ANNOTATORS)]
    with live_server(create_app(campaign, admin_password="")) as base:
        deadline = time.monotonic() + seconds
        with ThreadPoolExecutor(max_workers=ANNOTATORS) as pool:
            said = list(pool.map(lambda k: vote_until(f"{base}/a/{tokens[k]}", deadline, k),
                                 range(ANNOTATORS)))  # fmt: skip
    with campaign.store.connect() as conn:
        per_annotator = dict(conn.execute(
            "SELECT a.name, COUNT(x.id) FROM annotators a LEFT JOIN answers x"
            " ON x.annotator_id = a.id GROUP BY a.id").fetchall())  # fmt: skip
        distinct = conn.execute(
            "SELECT COUNT(DISTINCT annotator_id || '/' || item_id) FROM answers"
        ).fetchone()[0]
        total = conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
    accepted = [s.get(303, 0) for s in said]
    assert all(set(s) <= {303, "repeat 409"} for s in said), said  # no error, every repeat refused
    assert [per_annotator[f"annotator-{k + 1}"] for k in range(ANNOTATORS)] == accepted
    assert total == distinct == sum(accepted) > ANNOTATORS  # every annotator got votes in
    assert sum(s.get("repeat 409", 0) for s in said) == sum(a // 5 for a in accepted)


def test_twenty_annotators_lose_no_vote_and_duplicate_none(tmp_path):
    run_campaign(tmp_path, VOTE_SECONDS, records=60)


@pytest.mark.slow
def test_twenty_annotators_for_a_minute(tmp_path):
    run_campaign(tmp_path, 60.0, records=400)
