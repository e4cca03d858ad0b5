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
    assert named <= written, (
        f"named but not written: {sorted(named - written)}; demo_runs writes {sorted(written)}"
    )


def walkthrough(text: str) -> tuple[list[str], list[str]]:
    """(commands, expected output lines) of the page's <!-- walkthrough --> console block."""
    block = text.split("<!-- walkthrough -->", 1)[1].split("<!-- /walkthrough -->", 1)[0]
    body = block.split("```console\n", 1)[1].split("```", 1)[0]
    commands, expected = [], []
    for line in body.splitlines():
        if commands and commands[-1].endswith("\\"):
            commands[-1] += "\n" + line
        elif line.startswith("$ "):
            commands.append(line[2:])
        elif line.strip():
            expected.append(line)
    return commands, expected


def test_the_study_walkthrough_runs_as_written(tmp_path):
    """Every command of docs/human-evaluation.md's study walkthrough, unchanged, in one bash
    (the server in the background, as written), in an empty folder; each output line the page
    shows must appear, in order (… matches anything)."""
    import os
    import subprocess
    import sys

    commands, expected = walkthrough(PAGE.read_text(encoding="utf-8"))
    assert any(c.startswith("bench annotate analyze") for c in commands) and len(expected) > 5
    repo = PAGE.parents[1]
    env = {**os.environ, "REPO": str(repo),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")])),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}  # fmt: skip
    env.pop("ERBENCH_ANNOTATE_TRUST_PROXY", None)
    done = subprocess.run(["bash", "-c", "set -e\n" + "\n".join(commands)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    at = 0
    for line in expected:
        pattern = ".*?".join(re.escape(part) for part in line.split("…"))
        found = re.compile(pattern).search(output, at)
        assert found, f"not in the output (after position {at}): {line!r}\n{output}"
        at = found.end()
    assert (tmp_path / "report.html").read_text().count("<tr>") > 5
