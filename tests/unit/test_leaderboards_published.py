"""The published rows are the papers' numbers: checked against the paper text itself."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from bench.api.registry import registry_for
from leaderboards.published import load_published
from leaderboards.spec import PUBLISHED_DIR, as_spec

PAPERS = Path(__file__).resolve().parents[3] / "shared" / "papers"


def paper_text(name: str) -> str:
    path = PAPERS / name
    if not path.exists():
        pytest.skip(f"paper text not found: {path}")
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"</?u>", "", text)  # ExpCTR underlines second-best cells with <u>
    return re.sub(r"[ \t]+", " ", text)  # ExpCTR Table 1 is tab-separated


def paper_row(text: str, label: str, nvalues: int, occurrence: int = 0) -> list[str]:
    """The numbers of the `occurrence`-th line of the paper that starts with `label`."""
    num = r"-?\d+(?:\.\d+)?"
    pattern = re.compile(
        rf"^(?:Ours )?{re.escape(label)} ({num}(?: {num}){{{nvalues - 1}}})$", re.M
    )
    matches = pattern.findall(text)
    assert len(matches) > occurrence, f"no line for {label!r} in the paper"
    return matches[occurrence].split()


@pytest.mark.parametrize(
    "csv_name, paper, label, occurrence, dataset, column, value",
    [
        # Table 2: row blocks Baby, Sports, Clothing; 13 columns split over header lines
        ("curr-rlcer-table2.csv", "curr-rlcer.txt", "PETER", 0, "amazon-baby", "gptscore", "45.11"),
        (
            "curr-rlcer-table2.csv",
            "curr-rlcer.txt",
            "XRec-3B",
            1,
            "amazon-sports",
            "bert_r",
            "0.4353",
        ),
        (
            "curr-rlcer-table2.csv",
            "curr-rlcer.txt",
            "Curr-RLCER-3B",
            2,
            "amazon-clothing",
            "bleurt_std",
            "0.0811",
        ),
        (
            "curr-rlcer-table2.csv",
            "curr-rlcer.txt",
            "Att2Seq",
            1,
            "amazon-sports",
            "bert_p",
            "-0.0326",
        ),
        # Table 3 (R, M per dataset); Table 4 (judge groups x datasets); Table 5 (Baby, Clothing)
        ("curr-rlcer-table3.csv", "curr-rlcer.txt", "Curr-RLCER", 0, "amazon-baby", "mae", "0.33"),
        (
            "curr-rlcer-table3.csv",
            "curr-rlcer.txt",
            "Qwen2.5-14B-Instruct",
            0,
            "amazon-clothing",
            "rmse",
            "0.8882",
        ),
        (
            "curr-rlcer-table4.csv",
            "curr-rlcer.txt",
            "CER",
            0,
            "amazon-sports",
            "coh_classifier",
            "0.8081",
        ),
        (
            "curr-rlcer-table4.csv",
            "curr-rlcer.txt",
            "NRT",
            0,
            "amazon-clothing",
            "coh_human",
            "0.7324",
        ),
        (
            "curr-rlcer-table5.csv",
            "curr-rlcer.txt",
            "w/o DPO Training",
            0,
            "amazon-clothing",
            "bert_f1",
            "0.3542",
        ),
        (
            "curr-rlcer-table5.csv",
            "curr-rlcer.txt",
            "w/o Coherence Reward",
            0,
            "amazon-baby",
            "acc",
            "0.8307",
        ),
        # ExpCTR Table 1: BookCrossing, ML-20M, Amazon Books x AUC, LogLoss, MAE, RMSE
        ("expctr-table1.csv", "expctr.txt", "ExpCTR-Aug", 0, "ml-20m", "auc", "0.6951"),
        ("expctr-table1.csv", "expctr.txt", "ICL", 0, "bookcrossing", "auc", "0.5663"),
        ("expctr-table1.csv", "expctr.txt", "DIN", 0, "ml-20m", "mae", "0.4449"),
        ("expctr-table1.csv", "expctr.txt", "GRU4Rec", 0, "bookcrossing", "logloss", "1.3650"),
    ],
)
def test_transcribed_cells_match_the_paper(
    csv_name, paper, label, occurrence, dataset, column, value
):
    cells = {
        (c.row, c.dataset, c.column): c.value for c in load_published(PUBLISHED_DIR / csv_name)
    }
    assert cells[(label, dataset, column)] == value
    ordered = [c for c in load_published(PUBLISHED_DIR / csv_name) if c.row == label]
    if csv_name.endswith("table2.csv"):
        ordered = [c for c in ordered if c.dataset == dataset]
    numbers = paper_row(paper_text(paper), label, len(ordered), occurrence)
    position = next(i for i, c in enumerate(ordered) if (c.dataset, c.column) == (dataset, column))
    assert numbers[position] == value


@pytest.mark.parametrize(
    "csv_name, paper, per_line",
    [
        ("curr-rlcer-table2.csv", "curr-rlcer.txt", 13),
        ("curr-rlcer-table3.csv", "curr-rlcer.txt", 6),
        ("curr-rlcer-table4.csv", "curr-rlcer.txt", 9),
        ("curr-rlcer-table5.csv", "curr-rlcer.txt", 10),
        ("expctr-table1.csv", "expctr.txt", 12),
    ],
)
def test_every_transcribed_row_is_a_line_of_the_paper(csv_name, paper, per_line):
    text = paper_text(paper)
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for c in load_published(PUBLISHED_DIR / csv_name):
        key = (c.row, c.dataset if per_line == 13 else "")
        groups[key].append(c.value)
    for (label, _), values in groups.items():
        assert len(values) == per_line
        line = re.compile(rf"^(?:Ours )?{re.escape(label)} {re.escape(' '.join(values))}$", re.M)
        assert line.search(text), f"{csv_name}: {label} {' '.join(values)} is not a line of {paper}"


def test_published_labels_and_columns_exist_in_the_specs():
    for entry in registry_for("tables").entries():
        spec = as_spec(entry.target)
        path = spec.published_path()
        if path is None:
            continue
        cells = load_published(path)
        columns = {c.id for c in spec.columns}
        labels = {r.published for r in spec.rows if r.published}
        assert {c.column for c in cells} <= columns, spec.name
        assert {c.dataset for c in cells} <= set(spec.datasets), spec.name
        assert {c.row for c in cells} == labels, spec.name
        assert all(c.source.startswith(("Curr-RLCER Table", "ExpCTR Table")) for c in cells)
