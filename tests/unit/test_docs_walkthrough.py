"""The human-evaluation walkthrough names the run folders its first command makes: every run id
in docs/human-evaluation.md is one that tests.fixtures.annotate.runs.demo_runs writes (the ids
hash the methods' effective configs, so a changed default moves them; issue 27 found a stale one)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.fixtures.annotate.runs import demo_runs

PAGE = Path(__file__).resolve().parents[2] / "docs" / "human-evaluation.md"
RUN_ID = re.compile(r"\b(?:peter|cer|currrl)__amazon-instruments__s0__[0-9a-f]{8}\b")


def test_walkthrough_run_ids_are_the_ones_demo_runs_writes(tmp_path):
    named = set(RUN_ID.findall(PAGE.read_text(encoding="utf-8")))
    written = {path.name for path in demo_runs(tmp_path / "runs").values()}
    assert named, "the walkthrough names no run id"
    assert named <= written, f"named but not written: {sorted(named - written)}; demo_runs writes {sorted(written)}"
