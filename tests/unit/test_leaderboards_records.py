"""Table cells are compared only when they were scored on the same test records."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.results import ResultsStore, default_store_path
from leaderboards.build import build_table
from leaderboards.render import render
from leaderboards.spec import spec_from_dict
from tests.fixtures.leaderboards.synthetic import write_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "leaderboards"
INST = "amazon-instruments"
# per-record absolute errors, multiples of 1/16 so paired differences are exact
ERRORS = [0.25, 0.875, 0.5, 0.75, 0.125, 1.0, 0.375, 0.625, 0.5, 0.0]


def spec(**overrides):
    data = yaml.safe_load((FIXTURES / "synthetic-table.yaml").read_text(encoding="utf-8"))
    data.update(datasets=[INST], published_file=None, reference="currrl", columns=[
        {"id": "mae", "metric": "mae", "label": "MAE", "decimals": 2, "higher_is_better": False},
    ], rows=[
        {"id": "mf-bias", "method": "mf-bias", "label": "MF-bias"},
        {"id": "peter", "method": "peter", "label": "PETER"},
        {"id": "currrl", "method": "currrl", "label": "Curr-RLCER"},
    ])  # fmt: skip
    data.update(overrides)
    return spec_from_dict(data)


def mae(errors):
    return (sum(errors) / len(errors), errors)


def cells(table):
    return {r.id: r.cells[0] for r in table.blocks[0].rows}


def test_a_row_on_a_few_records_is_neither_ranked_nor_tested(tmp_path):
    # the issue: Curr-RLCER on 6 of the 10 test records beside PETER and MF-bias on all 10
    write_run(tmp_path, "mf-bias", INST, 0, {"mae": mae(ERRORS)}, n_test=10)
    write_run(tmp_path, "peter", INST, 0, {"mae": mae([e - 0.0625 for e in ERRORS])}, n_test=10)
    write_run(tmp_path, "currrl", INST, 0, {"mae": mae([0.01] * 6)}, n_test=10, records=range(6))
    table = build_table(spec(), ResultsStore(default_store_path(tmp_path)))
    got = cells(table)
    small = got["currrl"]
    assert small.mean == pytest.approx(0.01) and not (small.bold or small.underline)
    assert small.unranked == "scored on n=6 of 10 test records (compared rows: n=10); not ranked"
    assert got["peter"].bold and got["mf-bias"].underline  # ranked among themselves
    # the reference row is on other records: no p-value and no † anywhere in the column
    assert all(c.p is None and not c.mark for c in got.values())
    md = render(table, "md")
    assert "| Curr-RLCER | 0.01‡ |" in md and "| PETER | **0.44** |" in md
    assert "n = test records scored per run: Instruments 10." in md
    assert "- Curr-RLCER / Instruments / MAE: scored on n=6 of 10 test records" in md


def test_same_n_on_other_records_is_not_compared(tmp_path):
    # PETER and Curr-RLCER score records 0-5; MF-bias 6 others (e.g. another sample)
    write_run(tmp_path, "mf-bias", INST, 0, {"mae": mae([0.01] * 6)}, n_test=20, records=range(10, 16))
    write_run(tmp_path, "peter", INST, 0, {"mae": mae(ERRORS[:6])}, n_test=20, records=range(6))
    write_run(tmp_path, "currrl", INST, 0, {"mae": mae([e + 0.5 for e in ERRORS[:6]])}, n_test=20,
              records=range(6))  # fmt: skip
    got = cells(build_table(spec(), ResultsStore(default_store_path(tmp_path))))
    assert got["mf-bias"].unranked == (
        "scored on other test records (n=6: another split or sample); not ranked"
    )
    assert not got["mf-bias"].bold and got["peter"].bold and got["currrl"].underline
    assert got["peter"].mark and got["peter"].p == 0.0  # paired by record: every diff is -0.5
    assert got["mf-bias"].p is None


def test_csv_and_html_carry_n_and_the_reason(tmp_path):
    write_run(tmp_path, "peter", INST, 0, {"mae": 0.5}, n_test=10)
    write_run(tmp_path, "mf-bias", INST, 0, {"mae": 0.6}, n_test=10)
    write_run(tmp_path, "currrl", INST, 0, {"mae": 0.1}, n_test=10, records=range(6))
    table = build_table(spec(), ResultsStore(default_store_path(tmp_path)))
    csv_text = render(table, "csv")
    assert ",1,6,0.10,0,0,0,,scored on n=6 of 10 test records (compared rows: n=10); not ranked" in csv_text
    assert ",1,10,0.50,1,0,0,," in csv_text  # PETER: n=10, best
    page = render(table, "html")
    assert 'title="n = 6; scored on n=6 of 10 test records (compared rows: n=10); not ranked"' in page
    assert '<span class="unranked">‡</span>' in page
