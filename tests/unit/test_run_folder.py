"""One owner of the run folder: every file name is spelled in bench/api/run_folder.py only, and
RunFolder's writers and readers agree (atomic, JSON objects, file:line on bad lines)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from bench.api import run_folder
from bench.api.errors import ConfigError, DataError
from bench.api.run_folder import RunFolder, finished_runs

ROOT = Path(__file__).resolve().parents[2]
OWNER = ROOT / "bench" / "api" / "run_folder.py"
NAMES = {
    run_folder.CONFIG, run_folder.PROVENANCE, run_folder.SPLITS, run_folder.EVAL_SAMPLE,
    run_folder.FEATURE_VOCABULARY, run_folder.STAGES, run_folder.TRAIN_LOG, run_folder.BACKBONE,
    run_folder.PREDICTIONS, run_folder.PER_EXAMPLE, run_folder.METRICS, run_folder.RUN_LOG, run_folder.DONE,
}  # fmt: skip


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def spelled_names(path: Path) -> set[str]:
    """Run-folder file names a module spells in code: a path join `x / "DONE"`, a glob or path
    string with the name as one of its parts ("*/DONE"), or a string that is a file name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and side.value in NAMES:
                    found.add(side.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            parts = set(node.value.split("/")) if "/" in node.value else set()
            found |= parts & NAMES
            if node.value in NAMES and node.value != run_folder.STAGES:  # "stages" is also a JSON key
                found.add(node.value)
    return found


def test_every_run_folder_file_name_is_spelled_in_one_module():
    spelled = {
        str(path.relative_to(ROOT)): names
        for folder in ("bench", "baselines", "methods", "metrics", "leaderboards", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != OWNER and (names := spelled_names(path))
    }
    assert spelled == {}
    assert spelled_names(OWNER) >= NAMES - {run_folder.STAGES}  # the owner spells each once


def test_spelled_names_finds_joins_globs_and_names(tmp_path):
    source = tmp_path / "m.py"
    source.write_text('"""DONE and stages/x in a docstring."""\nA = run / "DONE"\nB = glob("*/DONE")\n'
                      'C = "predictions.jsonl"\nD = {"stages": 1}\n')  # fmt: skip
    assert spelled_names(source) == {"DONE", "predictions.jsonl"}


def test_writers_and_readers_round_trip(tmp_path):
    folder = RunFolder(tmp_path / "m__d__s0__abc")
    assert not folder.is_done() and folder.read_predictions() == [] and folder.read_provenance() == {}
    folder.write_config("method: m\ndataset: d\n")
    folder.write_provenance({"seed": 0})
    folder.write_predictions([{"idx": 0, "user_id": "u", "item_id": "i"}])
    folder.write_per_example([{"idx": 0, "rmse": 0.5}])
    folder.mark_stage_done("1_fit", {"stage": "1_fit", "seconds": 1.5})
    folder.mark_done("2026-12-07T18:00:00+0000")
    assert folder.read_config() == {"method": "m", "dataset": "d"}
    assert folder.read_provenance() == {"seed": 0}
    assert folder.read_predictions() == [{"idx": 0, "user_id": "u", "item_id": "i"}]
    assert folder.read_per_example() == [{"idx": 0, "rmse": 0.5}]
    assert folder.finished_stages() == ["1_fit"] and folder.read_stage_marker("1_fit")["seconds"] == 1.5
    assert folder.is_done() and folder.done.read_text() == "2026-12-07T18:00:00+0000\n"
    assert [f.run_id for f in finished_runs(tmp_path)] == ["m__d__s0__abc"]
    assert not list(folder.path.glob(".*.tmp"))  # atomic writes leave no temp file


def test_bad_lines_fail_with_file_and_line(tmp_path):
    folder = RunFolder(tmp_path)
    folder.predictions.write_text('{"idx": 0}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"predictions.jsonl:2: expected a JSON object"):
        folder.read_predictions()
    folder.provenance.write_text("{\n  broken", encoding="utf-8")
    with pytest.raises(DataError, match=r"provenance.json:2: not valid JSON"):
        folder.read_provenance()
    folder.config.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        folder.read_config()
    folder.per_example.write_text(json.dumps({"idx": 0}) + "\n{torn", encoding="utf-8")
    with pytest.raises(DataError, match=r"per_example.jsonl:2: not valid JSON"):
        folder.read_per_example()
