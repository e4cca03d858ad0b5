"""Spec files: every built-in spec loads, and mistakes in a spec are clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.api.errors import BenchError
from bench.api.registry import registry_for
from leaderboards.spec import SPEC_DIR, as_spec, spec_from_dict

EXPECTED = {
    "currrl-table2", "currrl-table3", "currrl-table4", "currrl-table5", "currrl-fig2",
    "expctr-table1", "expctr-fig3", "expctr-fig4", "reference-rows",
}  # fmt: skip


def test_builtin_specs_are_registered_and_load():
    tables = registry_for("tables")
    assert EXPECTED <= set(tables.names())
    methods = set(registry_for("methods").names())
    datasets = set(registry_for("datasets").names())
    for path in SPEC_DIR.glob("*.yaml"):
        spec = as_spec(tables.get(path.stem))
        assert spec.name == path.stem
        assert tables.entry(path.stem).summary == spec.title
        assert {r.method for r in spec.rows if r.method} <= methods, spec.name
        assert set(spec.datasets) <= datasets, spec.name


def test_importing_leaderboards_is_light():
    code = (
        "import sys, leaderboards, leaderboards.commands; from bench.api.registry import registry_for;"
        "registry_for('tables').names();"
        "heavy = [m for m in ('matplotlib', 'torch', 'scipy') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_reference_rows_spec_matches_the_readme_demo():
    spec = as_spec(registry_for("tables").get("reference-rows"))
    assert [r.method for r in spec.rows] == ["mf-bias", "retrieval"]
    assert spec.datasets == ["amazon-instruments", "ml-100k"]
    assert [c.metric for c in spec.columns] == ["rmse", "mae", "usr", "bleu4_peter"]


def test_ablation_rows_select_by_config():
    spec = as_spec(registry_for("tables").get("currrl-table5"))
    sets = {r.id: r.sets for r in spec.rows}
    assert sets["currrl"] == {} and sets["currrl-no-dpo"] == {"model.use_dpo": False}
    assert set(spec.axis_keys()) == {
        "eval.mask_ratio",
        "model.use_dpo",
        "model.use_coherence_reward",
    }


def test_sweep_rows_expand_over_the_axis():
    spec = as_spec(registry_for("tables").get("currrl-fig2"))
    rows = spec.cell_rows()
    for method in ("currrl", "xrec"):  # Curr-RLCER and XRec, as the paper's figure
        ratios = [r.sets["eval.mask_ratio"] for r in rows if r.method == method]
        assert ratios == [0.0, 0.05, 0.1, 0.2, 0.3]
    assert all(r.sets["eval.max_records"] == 500 for r in rows)


BASE = {
    "name": "t",
    "datasets": ["ml-100k"],
    "columns": [{"metric": "rmse"}],
    "rows": [{"method": "mf-bias"}],
}


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"colums": []}, "unknown key(s) colums"),
        ({"kind": "chart"}, "kind must be one of"),
        ({"rows": [{"label": "x"}]}, "needs a method, a published label"),
        ({"reference": "nope"}, "reference 'nope' must be the id of a row"),
        ({"rows": [{"method": "mf-bias", "na": ["bleu"]}]}, "`na` names unknown column"),
        ({"rows": [{"method": "mf-bias"}, {"method": "mf-bias"}]}, "duplicate row id"),
        ({"kind": "sweep"}, "needs axes"),
    ],
)
def test_spec_mistakes_are_bench_errors(patch, message):
    with pytest.raises(BenchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        spec_from_dict({**BASE, **patch})
