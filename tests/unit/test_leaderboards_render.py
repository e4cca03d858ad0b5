"""Golden files for the text renderers (Markdown, LaTeX, CSV, HTML).

Regenerate after an intended change with:  UPDATE_GOLDEN=1 pytest tests/unit/test_leaderboards_render.py
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pytest

from leaderboards.build import build_table
from leaderboards.render import render
from tests.fixtures.leaderboards.synthetic import build_synthetic_store
from tests.fixtures.leaderboards.synthetic import synthetic_spec as _spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "leaderboards"




@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_synthetic_store(tmp_path_factory.mktemp("runs"))


def check_golden(name: str, text: str) -> None:
    path = FIXTURES / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file {path} missing; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["md", "tex", "csv", "html"])
def test_wide_table_matches_golden(store, fmt):
    check_golden(f"synthetic-wide.{fmt}.golden", render(build_table(_spec(), store), fmt))


@pytest.mark.parametrize("fmt", ["md", "tex", "html"])
def test_blocks_table_matches_golden(store, fmt):
    spec = _spec(layout="blocks", columns=[
        {"id": "rmse", "metric": "rmse", "label": "RMSE↓", "decimals": 3, "higher_is_better": False, "group": "Rating"},
        {"id": "bert_f1", "metric": "bertscore_f1", "checkpoint": "roberta-large", "label": "BERT-F1", "group": "Text"},
    ])  # fmt: skip
    check_golden(f"synthetic-blocks.{fmt}.golden", render(build_table(spec, store), fmt))


def test_markdown_marks(store):
    md = render(build_table(_spec(), store), "md")
    # second best (lower RMSE; higher BERTScore) and significant against Curr-RLCER
    assert "| PETER | <u>1.0000 ± 0.0283</u> | <u>0.3200 ± 0.0000</u>† |" in md
    assert "| Curr-RLCER | **0.9100 ± 0.0141** | **0.4205 ± 0.0000** |" in md  # best
    # one seed beside two: other test records, so marked and never bold though its value is best
    assert "| w/o DPO | 0.5000‡ | 0.9000‡ |" in md
    assert "n = test records scored per run: Instruments 20; ML-100K 20." in md
    assert "| XRec-3B (paper) | — | 0.4354 |" in md


def test_latex_is_booktabs_with_escapes(store):
    tex = render(build_table(_spec(), store), "tex")
    for needle in (r"\toprule", r"\midrule", r"\bottomrule", r"\multicolumn{3}{c}{Instruments}",
                   r"\cmidrule(lr){2-4}", r"\textbf{0.9100 $\pm$ 0.0141}", r"\underline{1.0000 $\pm$ 0.0283}",
                   r"\underline{0.3200 $\pm$ 0.0000}$^{\dagger}$", "RMSE$\\downarrow$", "---",
                   r"0.5000$^{\ddagger}$"):  # fmt: skip
        assert needle in tex, needle


def test_csv_round_trips_values(store):
    rows = list(csv.DictReader(io.StringIO(render(build_table(_spec(), store), "csv"))))
    peter = next(
        r
        for r in rows
        if r["row"] == "peter" and r["dataset"] == "amazon-instruments" and r["column"] == "rmse"
    )
    assert float(peter["mean"]) == pytest.approx(1.0) and peter["n_seeds"] == "2"
    sig = next(
        r
        for r in rows
        if r["row"] == "peter" and r["column"] == "bert_f1" and r["dataset"] == "amazon-instruments"
    )
    assert sig["significant"] == "1" and float(sig["p"]) < 0.05
    pub = next(
        r
        for r in rows
        if r["row"] == "currrl@paper" and r["dataset"] == "ml-100k" and r["column"] == "rmse"
    )
    assert (pub["kind"], pub["text"], pub["mean"]) == ("published", "0.70", "")


def test_html_is_a_standalone_page(store):
    page = render(build_table(_spec(), store), "html")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in page and "<style>" in page
    assert '<td class="best" title="n = 20">0.9100 ± 0.0141</td>' in page
    assert 'class="missing">—</td>' in page


def test_text_from_specs_is_escaped_in_every_format(store):
    label = "A|B <script>alert(1)</script> *x_y*"
    spec = _spec(
        title="T|1 <b>", published_file=None, reference=None,
        rows=[{"id": "peter", "method": "peter", "label": label}],
    )  # fmt: skip
    table = build_table(spec, store)
    md = render(table, "md")
    row = next(line for line in md.splitlines() if line.startswith("| A"))
    assert row.startswith(r"| A\|B \<script\>alert(1)\</script\> \*x\_y\* | ")
    assert len(re.findall(r"(?<!\\)\|", row)) == len(table.columns) + 2  # the row keeps its cells
    assert md.startswith(r"## T\|1 \<b\>")
    assert "<script>" not in md and "<b>" not in md
    page = render(table, "html")
    assert "<td>A|B &lt;script&gt;alert(1)&lt;/script&gt; *x_y*</td>" in page
    assert "<script>" not in page and "<title>T|1 &lt;b&gt;</title>" in page
    tex = render(table, "tex")
    assert r"A\textbar{}B $<$script$>$alert(1)$<$/script$>$ *x\_y* &" in tex
    assert r"\caption{T\textbar{}1 $<$b$>$}" in tex
