"""Run ids do not move: the config hash of one default and one named profile per method (on
amazon-sports, with a fixed data digest) is the one recorded in tests/fixtures/run_ids.json.

A moved module, a renamed setting or a changed default that changes a hash input would make
every existing run folder unreachable. If a hash input must change, that is a migration:
document it, add one line to the changelog and regenerate the fixture in the same commit."""

from __future__ import annotations

import json
from pathlib import Path

from bench.config import config_hash, resolve
from bench.identity import effective_config

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "run_ids.json"
DIGESTS = {"ratings.jsonl": "0" * 64}  # data digests are hashed too; fixed here, tested elsewhere


def test_recorded_run_ids_are_unchanged():
    cases = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert len({c["method"] for c in cases}) >= 30
    moved = {}
    for case in cases:
        effective, _ = effective_config(resolve(case["method"], case["dataset"], profile=case["profile"]))
        now = config_hash(effective, DIGESTS)
        if now != case["hash"]:
            moved[f"{case['method']}/{case['dataset']}/{case['profile']}"] = (case["hash"], now)
    assert moved == {}
