"""Cell values of a leaderboard built from a synthetic results store."""

from __future__ import annotations

import math

import pytest

from bench.api.errors import BenchError
from bench.results import ResultsStore, default_store_path
from leaderboards.build import build_table
from leaderboards.table import MISSING_MARK, cell_text
from tests.fixtures.leaderboards.synthetic import build_synthetic_store, synthetic_spec, write_run


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    store = build_synthetic_store(tmp_path_factory.mktemp("runs"))
    return build_table(synthetic_spec(), store)


def cell(table, row_id, dataset, column_id):
    j = next(
        i for i, c in enumerate(table.columns) if c.dataset == dataset and c.spec.id == column_id
    )
    row = next(r for b in table.blocks for r in b.rows if r.id == row_id)
    return row.cells[j], table.columns[j]


def test_mean_and_std_over_seeds(table):
    c, col = cell(table, "peter", "amazon-instruments", "rmse")
    assert c.n == 2
    assert c.mean == pytest.approx(1.00)
    assert c.std == pytest.approx(math.sqrt(2 * 0.02**2))  # sample std of 0.98, 1.02
    assert cell_text(c, col) == "1.0000 ± 0.0283"
    c, col = cell(table, "currrl", "ml-100k", "rmse")  # one seed: no std
    assert (c.mean, c.std, cell_text(c, col)) == (pytest.approx(0.85), None, "0.8500")


def test_best_bold_second_underlined_by_direction(table):
    # RMSE: lower is better -> Curr-RLCER (0.91) best, PETER (1.00) second, MF-bias neither;
    # w/o DPO (0.50, one seed against two) is on other test records: not ranked
    assert cell(table, "currrl", "amazon-instruments", "rmse")[0].bold
    assert cell(table, "peter", "amazon-instruments", "rmse")[0].underline
    mf = cell(table, "mf-bias", "amazon-instruments", "rmse")[0]
    assert not (mf.bold or mf.underline)
    # BERTScore: higher is better -> Curr-RLCER (0.42) best, PETER (0.32) second
    assert cell(table, "currrl", "amazon-instruments", "bert_f1")[0].bold
    assert cell(table, "peter", "amazon-instruments", "bert_f1")[0].underline
    no_dpo = cell(table, "currrl-no-dpo", "amazon-instruments", "bert_f1")[0]
    assert not (no_dpo.bold or no_dpo.underline) and no_dpo.unranked
    # published rows are never ranked
    assert not any(
        c.bold or c.underline for b in table.blocks for r in b.rows if r.published for c in r.cells
    )


def test_significance_mark_only_when_p_below_alpha(table):
    sig = cell(table, "peter", "amazon-instruments", "bert_f1")[0]
    assert sig.mark and sig.p < 0.05  # constructed: currrl = peter + 0.1 on every record
    not_sig = cell(table, "mf-bias", "amazon-instruments", "rmse")[0]
    assert not_sig.p is not None and not_sig.p > 0.05 and not not_sig.mark
    # no per-example scores -> no test, no mark
    no_samples = cell(table, "peter", "amazon-instruments", "bert_f1@all-MiniLM-L6-v2")[0]
    assert no_samples.p is None and not no_samples.mark
    # the reference row is never marked
    assert not any(
        c.mark for b in table.blocks for r in b.rows if r.id == "currrl" for c in r.cells
    )


def test_significance_matches_scipy(table):
    from scipy import stats

    from tests.fixtures.leaderboards.synthetic import CURR_RMSE, MF_RMSE

    c = cell(table, "mf-bias", "amazon-instruments", "rmse")[0]
    expected = stats.ttest_rel(CURR_RMSE * 2, MF_RMSE * 2).pvalue  # two seeds, paired per seed
    assert c.p == pytest.approx(expected)


def test_missing_cells_show_dash_and_are_listed(table):
    c, col = cell(table, "peter", "ml-100k", "rmse")
    assert c.missing and cell_text(c, col) == MISSING_MARK
    assert "PETER / ML-100K / RMSE↓: no finished run" in table.missing
    assert any(
        "Curr-RLCER / ML-100K / BERTScore-F1: metric bertscore_f1[roberta-large]" in m
        for m in table.missing
    )
    # n/a cells (the method cannot produce the metric) and variant columns are not "missing"
    assert not any(m.startswith("MF-bias") for m in table.missing)
    assert not any("all-MiniLM" in m for m in table.missing)
    assert len(table.missing) == 5


def test_other_checkpoint_gets_its_own_column(table):
    official, _ = cell(table, "peter", "amazon-instruments", "bert_f1")
    variant, col = cell(table, "peter", "amazon-instruments", "bert_f1@all-MiniLM-L6-v2")
    assert official.mean == pytest.approx(0.32)  # roberta-large only, never the MiniLM 0.55/0.57
    assert variant.mean == pytest.approx(0.56)
    assert col.label == "BERTScore-F1 (all-MiniLM-L6-v2)" and not col.official


def test_selectors_put_each_run_in_one_row(table):
    # the use_dpo=false run is only in its ablation row; the masked run (mask_ratio=0.1) in none
    assert cell(table, "currrl-no-dpo", "amazon-instruments", "rmse")[0].values == [0.5]
    assert cell(table, "currrl", "amazon-instruments", "rmse")[0].values == [0.90, 0.92]


def test_published_rows_beside_reproduced(table):
    labels = [r.label for r in table.blocks[0].rows]
    assert labels == [
        "MF-bias",
        "PETER",
        "PETER (paper)",
        "XRec-3B (paper)",
        "Curr-RLCER",
        "Curr-RLCER (paper)",
        "w/o DPO",
    ]
    c, col = cell(table, "currrl@paper", "ml-100k", "rmse")
    assert cell_text(c, col) == "0.70"  # as printed


def test_published_can_be_hidden(tmp_path):
    store = build_synthetic_store(tmp_path)
    t = build_table(synthetic_spec(), store, published=False)
    assert all(not r.published for b in t.blocks for r in b.rows)
    assert [r.id for r in t.blocks[0].rows] == ["mf-bias", "peter", "currrl", "currrl-no-dpo"]


def test_duplicate_seed_keeps_latest_and_notes_it(tmp_path):
    write_run(
        tmp_path, "peter", "amazon-instruments", 0, {"rmse": 1.5}, finished_at="2025-01-01T00:00:00"
    )
    write_run(
        tmp_path, "peter", "amazon-instruments", 0, {"rmse": 0.7}, sets=["eval.max_records=50"],
        finished_at="2025-02-01T00:00:00",
    )  # fmt: skip
    t = build_table(synthetic_spec(), ResultsStore(default_store_path(tmp_path)))
    c, _ = cell(t, "peter", "amazon-instruments", "rmse")
    assert c.values == [0.7]
    assert len(t.notes) == 1 and "later run is used" in t.notes[0]


def test_a_run_on_the_spec_data_beats_a_later_run_on_modified_data(tmp_path):
    write_run(tmp_path, "peter", "amazon-instruments", 0, {"rmse": 0.9},
              finished_at="2025-01-01T00:00:00", data_report={"sha256_mismatches": []})  # fmt: skip
    truncated = {"sha256_mismatches": ["/d/amazon2014/reviews_Musical_Instruments_5.json.gz"]}
    write_run(tmp_path, "peter", "amazon-instruments", 0, {"rmse": 0.8},
              finished_at="2025-02-01T00:00:00", data_report=truncated)  # fmt: skip
    t = build_table(synthetic_spec(), ResultsStore(default_store_path(tmp_path)))
    c, _ = cell(t, "peter", "amazon-instruments", "rmse")
    assert c.values == [0.9]  # the later run read a truncated copy: never the one shown
    [note] = t.notes
    assert "read modified data (reviews_Musical_Instruments_5.json.gz: sha256 differs from the dataset spec)" in note


def test_a_cell_only_modified_data_filled_says_so(tmp_path):
    write_run(tmp_path, "peter", "amazon-instruments", 0, {"rmse": 0.8},
              data_report={"bad_lines": 3, "sha256_mismatches": []})  # fmt: skip
    t = build_table(synthetic_spec(), ResultsStore(default_store_path(tmp_path)))
    assert cell(t, "peter", "amazon-instruments", "rmse")[0].values == [0.8]
    assert any("3 bad or duplicate line(s) skipped" in n and "may not compare" in n for n in t.notes)


def test_blocks_layout_one_block_per_dataset(tmp_path):
    store = build_synthetic_store(tmp_path)
    t = build_table(synthetic_spec(layout="blocks"), store)
    assert [b.title for b in t.blocks] == ["Instruments", "ML-100K"]
    assert [c.spec.id for c in t.columns] == ["rmse", "bert_f1", "bert_f1@all-MiniLM-L6-v2"]
    assert t.blocks[1].rows[0].cells[0].mean == pytest.approx(0.95)  # mf-bias on ML-100K


def test_rows_selecting_the_same_runs_are_rejected():
    with pytest.raises(BenchError, match="select the same runs"):
        synthetic_spec(reference=None, rows=[
            {"id": "x", "method": "peter", "set": {"model.a": 1}},
            {"id": "y", "method": "peter", "set": {"model": {"a": 1}}},
        ])  # fmt: skip


def test_selector_value_and_other_axis_keys_at_default(tmp_path):
    """A row fixes its selector keys; every other selector key of the spec must be at default."""
    write_run(
        tmp_path, "currrl", "amazon-instruments", 0, {"rmse": 0.1}, sets=["model.use_dpo=false"]
    )
    write_run(
        tmp_path,
        "currrl",
        "amazon-instruments",
        0,
        {"rmse": 0.2},
        sets=["model.use_coherence_reward=false"],
    )
    write_run(tmp_path, "currrl", "amazon-instruments", 0, {"rmse": 0.3},
              sets=["model.use_dpo=false", "model.use_coherence_reward=false"])  # fmt: skip
    write_run(tmp_path, "currrl", "amazon-instruments", 0, {"rmse": 0.4})
    spec = synthetic_spec(reference="full", published_file=None, rows=[
        {"id": "full", "method": "currrl"},
        {"id": "no-dpo", "method": "currrl", "set": {"model.use_dpo": False}},
        {"id": "no-coh", "method": "currrl", "set": {"model.use_coherence_reward": False}},
    ])  # fmt: skip
    t = build_table(spec, ResultsStore(default_store_path(tmp_path)))
    got = {r.id: r.cells[0].values for r in t.blocks[0].rows}
    assert got == {"full": [0.4], "no-dpo": [0.1], "no-coh": [0.2]}  # the run with both set: none


def test_an_ablation_run_never_fills_the_default_row_of_a_spec_without_that_ablation(tmp_path):
    """Curr-RLCER Table 2 has no ablation rows: its Curr-RLCER cell is the default run, not the
    later w/o-coherence run (which once filled it with the ablation's numbers)."""
    write_run(tmp_path, "currrl", "amazon-instruments", 0, {"rmse": 0.4})
    write_run(tmp_path, "currrl", "amazon-instruments", 0, {"rmse": 0.2}, sets=["model.use_coherence_reward=false"])
    write_run(tmp_path, "currrl", "amazon-instruments", 0, {"rmse": 0.3}, sets=["model.learning_rate=0.5"])
    spec = synthetic_spec(reference="full", published_file=None, rows=[{"id": "full", "method": "currrl"}])
    t = build_table(spec, ResultsStore(default_store_path(tmp_path)))
    assert {r.id: r.cells[0].values for r in t.blocks[0].rows} == {"full": [0.4]}


def test_a_set_sweep_fills_the_rows_of_its_own_table(tmp_path):
    """`bench sweep --set K=V` and `bench tables --set K=V`: the spec's rows select K=V."""
    write_run(tmp_path, "currrl", "amazon-instruments", 0, {"rmse": 0.4})
    write_run(tmp_path, "currrl", "amazon-instruments", 0, {"rmse": 0.3}, sets=["model.learning_rate=0.5"])
    spec = synthetic_spec(reference="full", published_file=None, rows=[{"id": "full", "method": "currrl"}])
    store = ResultsStore(default_store_path(tmp_path))
    swept = build_table(spec.with_selectors({"model.learning_rate": 0.5}), store)
    assert {r.id: r.cells[0].values for r in swept.blocks[0].rows} == {"full": [0.3]}
    plain = build_table(spec, store)
    assert {r.id: r.cells[0].values for r in plain.blocks[0].rows} == {"full": [0.4]}


def test_run_selected_by_two_table_rows_is_an_error(tmp_path):
    # expctr.yaml sets beta 0.05 and delta 1.0, so both selectors pick the plain run
    write_run(tmp_path, "expctr", "bookcrossing", 0, {"auc": 0.6})
    spec = synthetic_spec(datasets=["bookcrossing"], reference=None, published_file=None, rows=[
        {"id": "b", "method": "expctr", "set": {"model.beta": 0.05}},
        {"id": "d", "method": "expctr", "set": {"model.delta": 1.0}},
    ])  # fmt: skip
    with pytest.raises(BenchError, match="matches rows b, d .* exactly one cell"):
        build_table(spec, ResultsStore(default_store_path(tmp_path)))


def _ablation(tmp_path):
    write_run(tmp_path, "currrl", "amazon-instruments", 0, {"rmse": 0.1}, sets=["model.use_dpo=false"])
    write_run(tmp_path, "currrl", "amazon-instruments", 0, {"rmse": 0.4})
    return synthetic_spec(reference="full", published_file=None, rows=[
        {"id": "full", "method": "currrl"},
        {"id": "no-dpo", "method": "currrl", "set": {"model.use_dpo": False}},
    ])  # fmt: skip


def test_rows_are_selected_from_the_store_alone(tmp_path, monkeypatch):
    spec = _ablation(tmp_path)
    store = ResultsStore(default_store_path(tmp_path))
    for config in tmp_path.glob("*/config.resolved.yaml"):
        config.unlink()  # tables never reopen run folders

    def no_yaml(*args, **kwargs):
        raise AssertionError("a table read today's yaml files")

    monkeypatch.setattr("bench.config.resolve", no_yaml)
    t = build_table(spec, store)
    assert {r.id: r.cells[0].values for r in t.blocks[0].rows} == {"full": [0.4], "no-dpo": [0.1]}


def test_a_folder_without_its_recorded_changes_is_indexed_from_its_config(tmp_path):
    import json

    spec = _ablation(tmp_path)
    for provenance in tmp_path.glob("*/provenance.json"):  # as runs wrote it before
        data = json.loads(provenance.read_text())
        del data["changed_from_defaults"]
        provenance.write_text(json.dumps(data))
    store = ResultsStore(default_store_path(tmp_path))
    store.rebuild(tmp_path)
    runs = {r["run_id"].split("__")[-1]: r["changed_from_defaults"] for r in store.runs()}
    assert sorted(runs.values(), key=len) == [{}, {"model.use_dpo": True}]
    t = build_table(spec, store)
    assert {r.id: r.cells[0].values for r in t.blocks[0].rows} == {"full": [0.4], "no-dpo": [0.1]}


def test_a_missing_cell_names_the_run_set_aside_and_why(tmp_path):
    # issue 25.8: "no finished run" although a run existed, excluded for a changed setting
    run = write_run(tmp_path, "peter", "amazon-instruments", 0, {"rmse": 0.8}, sets=["model.lr=0.5"])
    t = build_table(synthetic_spec(), ResultsStore(default_store_path(tmp_path)))
    [line] = [m for m in t.missing if m.startswith("PETER / Instruments / RMSE")]
    assert f"no finished run with the row's settings; {run.name} set aside: it changed model.lr to 0.5" in line
