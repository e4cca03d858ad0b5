"""The README is a short door into docs/: at most 300 lines, it states the test command CI runs,
and every relative link in it and in docs/**/*.md (anchors included) reaches a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.markdown_links import anchors, relative_links

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]


def test_readme_is_a_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines; topics belong in docs/"


def test_readme_states_the_test_command_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/test.sh" in ci
    assert "bash scripts/test.sh" in README.read_text(encoding="utf-8")


def test_readme_holds_no_test_counts_or_timings():
    # both go stale with every commit; docs/results/ keeps dated measurements
    text = README.read_text(encoding="utf-8")
    assert not re.search(r"\b\d[\d,]*\s+(?:CPU\s+|default\s+)?tests\b", text)
    duration = re.search(r"\b\d+(?:[.,]\d+)?\s*(?:s|sec|seconds?|min|minutes?|h|hours?)\b", text)
    assert not duration, f"a timing in README.md: {duration.group(0)!r}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for line, target in relative_links(page.read_text(encoding="utf-8")):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{page.relative_to(ROOT)}:{line}: {target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text(encoding="utf-8")):
            broken.append(f"{page.relative_to(ROOT)}:{line}: {target}: no heading #{anchor}")
    assert not broken, "\n".join(broken)
