"""XRec rows of Curr-RLCER Table 2 and Fig. 2: planned as runs, filled from them beside the paper."""

from __future__ import annotations

import bench.data
from bench.api.registry import registry_for
from bench.results import ResultsStore, default_store_path
from leaderboards.build import build_table
from leaderboards.spec import as_spec
from tests.fixtures.leaderboards.synthetic import fake_data_digests, write_run

BERT_F1 = "bertscore_f1[roberta-large]"


def test_fig2_sweep_plans_the_xrec_cells(tmp_path, monkeypatch, capsys):
    from bench.cli import main

    monkeypatch.setattr(bench.data, "data_file_digests", fake_data_digests)
    assert main(["sweep", "--spec", "currrl-fig2", "--dry-run", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    planned = [line for line in out.splitlines() if "xrec__amazon-baby__s0" in line]
    assert len(planned) == 5  # one cell per mask ratio
    assert all("--set eval.max_records=500" in line for line in planned)


def test_table2_xrec_row_is_filled_from_runs_beside_the_published_row(tmp_path):
    for seed, value in enumerate((0.40, 0.42, 0.44)):
        write_run(tmp_path, "xrec", "amazon-baby", seed, {BERT_F1: value}, profile="cpu")
    table = build_table(as_spec(registry_for("tables").get("currrl-table2")), ResultsStore(default_store_path(tmp_path)))
    baby = next(block for block in table.blocks if block.dataset == "amazon-baby")  # one block per dataset
    labels = [r.label for r in baby.rows]
    assert labels.index("XRec (paper)") == labels.index("XRec") + 1  # published beside reproduced
    j = next(i for i, c in enumerate(table.columns) if c.spec.id == "bert_f1")
    row = next(r for r in baby.rows if r.id == "xrec")
    assert row.cells[j].mean == 0.42 and row.cells[j].n == 3
    published = next(r for r in baby.rows if r.label == "XRec (paper)")
    assert published.cells[j].mean == 0.4354  # XRec-3B, Curr-RLCER Table 2 (Baby)
