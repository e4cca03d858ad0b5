"""Issue 25.5: a cell filled by a run on modified data is marked § in every format, and the
note saying how the data differs is printed by every renderer (HTML and LaTeX printed none)."""

from __future__ import annotations

import csv
import io

import pytest

from bench.results import ResultsStore, default_store_path
from leaderboards.build import build_table
from leaderboards.render import render
from tests.fixtures.leaderboards.synthetic import synthetic_spec, write_run

SKIPPED = "3 bad or duplicate line(s) skipped"


@pytest.fixture
def table(tmp_path):
    write_run(tmp_path, "peter", "amazon-instruments", 0, {"rmse": 0.8085},
              data_report={"bad_lines": 3, "sha256_mismatches": []})  # fmt: skip
    write_run(tmp_path, "mf-bias", "amazon-instruments", 0, {"rmse": 0.9512})
    return build_table(synthetic_spec(), ResultsStore(default_store_path(tmp_path)))


def test_markdown_marks_the_cell(table):
    text = render(table, "md")
    assert "| **0.8085**§ |" in text and "<u>0.9512</u> |" in text and SKIPPED in text


def test_html_marks_the_cell_and_prints_the_note(table):
    text = render(table, "html")
    assert '0.8085<span class="modified">§</span>' in text
    assert "0.9512<span" not in text
    assert SKIPPED in text and "modified data" in text


def test_latex_marks_the_cell_and_prints_the_note(table):
    text = render(table, "tex")
    assert r"\textbf{0.8085}$^{\S}$ &" in text and r"\underline{0.9512} &" in text
    assert SKIPPED in text and r"$^{\S}$ computed on modified data" in text


def test_csv_has_a_modified_data_column(table):
    rows = list(csv.DictReader(io.StringIO(render(table, "csv"))))
    by_row = {r["row"]: r for r in rows if r["dataset"] == "amazon-instruments" and r["column"] == "rmse"}
    assert SKIPPED in by_row["peter"]["modified_data"]
    assert by_row["mf-bias"]["modified_data"] == ""
