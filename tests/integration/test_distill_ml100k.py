"""Slow: the four RLAIF distillation rows end to end on ML-100K with the embedded backbone
(SmolLM2-135M-Instruct), then `bench judge` and `bench tables --spec rlaif-arena`.

Each row runs exactly as `bench run --method M --dataset ml-100k --profile P --set threads=1`
(P = $ERBENCH_DISTILL_PROFILE, default tiny; docs/results/2026-11-29-distill-cpu.md's numbers come from `cpu`). Run
folders go to $ERBENCH_SLOW_RUNS_DIR when set, so a second pass reuses finished runs.
With the cpu profile the SFT and ORPO students must align with the teacher better than the
base student (ROUGE-L F1), as in the paper (§2).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from bench.config import resolve
from bench.runner import execute

pytestmark = pytest.mark.slow

ROWS = ("distill-teacher", "distill-base", "sft-distill", "orpo-distill")


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    env = os.environ.get("ERBENCH_SLOW_RUNS_DIR")
    return Path(env) if env else tmp_path_factory.mktemp("distill-runs")


def test_four_rows_and_the_arena_table(runs_dir):
    pytest.importorskip("trl")
    pytest.importorskip("recbole")
    profile = os.environ.get("ERBENCH_DISTILL_PROFILE", "tiny")
    for method in ROWS:
        cfg = resolve(method, "ml-100k", profile=profile, sets=[f"runs_dir={runs_dir}", "threads=1"])
        result = execute(cfg, quiet=True)
        assert (result.run_dir / "DONE").exists()

    from leaderboards.commands import build, get_spec, open_store, render_all

    spec = get_spec("rlaif-arena")
    spec = dataclasses.replace(spec, arena={**spec.arena, "profile": profile})
    from bench.judge_step import judge

    judge(spec, runs_dir)  # bench judge --spec rlaif-arena: the table only reads its votes
    tables, _ = build(spec, open_store(runs_dir))
    text = render_all(spec, tables, None, ["md"], None)["md"]
    assert "BT score (Elo scale)" in text and "ROUGE-L F1 vs teacher" in text
    arena, _pairs, _matrix, alignment = tables.tables
    votes = {row.label: row.cells[-1].mean for row in arena.blocks[0].rows}
    assert all(v and v > 0 for v in votes.values())
    rouge = {row.label: row.cells[0].mean for row in alignment.blocks[0].rows}
    assert rouge["Teacher"] == pytest.approx(1.0)
    if profile == "cpu":
        assert rouge["SFT student"] > rouge["Base student"] and rouge["ORPO student"] > rouge["Base student"]
