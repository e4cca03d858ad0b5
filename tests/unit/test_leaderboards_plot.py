"""Figures: the plotted data (read back from the axes) and valid PNG/SVG files of known size."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from bench.results import ResultsStore, default_store_path
from leaderboards import plot
from leaderboards.build import build_table
from leaderboards.curves import curve_data, curves_csv, curves_table
from leaderboards.render import render
from leaderboards.spec import spec_from_dict
from tests.fixtures.leaderboards.synthetic import write_run

BERT = "bertscore_f1[roberta-large]"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def sweep_store(tmp_path):
    for ratio, value in ((0.0, 0.40), (0.1, 0.35), (0.3, 0.20)):
        for seed, delta in ((0, 0.01), (1, -0.01)):
            write_run(
                tmp_path,
                "currrl",
                "amazon-baby",
                seed,
                {BERT: value + delta},
                sets=[f"eval.mask_ratio={ratio}"],
            )
    # a run with another setting of the axis key that the figure does not ask for
    write_run(tmp_path, "currrl", "amazon-baby", 0, {BERT: 0.99}, sets=["eval.mask_ratio=0.5"])
    return ResultsStore(default_store_path(tmp_path))


def sweep_spec():
    return spec_from_dict({
        "name": "fig-test", "title": "Robustness", "kind": "sweep", "datasets": ["amazon-baby"],
        "dataset_labels": {"amazon-baby": "Baby"},
        "axes": [{"key": "eval.mask_ratio", "values": [0.0, 0.1, 0.2, 0.3], "label": "mask ratio"}],
        "columns": [{"id": "bert_f1", "metric": "bertscore_f1", "checkpoint": "roberta-large", "label": "BERT-F1"}],
        "rows": [{"id": "currrl", "method": "currrl", "label": "Curr-RLCER"}],
        "figure": {"panel_width": 3.0, "panel_height": 2.0, "dpi": 80},
    })  # fmt: skip


def test_sweep_figure_plots_the_cell_means(sweep_store, tmp_path):
    table = build_table(sweep_spec(), sweep_store)
    fig = plot.sweep_figure(table)
    (ax,) = fig.axes
    (line,) = ax.lines
    xs, ys = line.get_xdata(), line.get_ydata()
    assert list(xs) == [0.0, 0.1, 0.2, 0.3]
    assert (
        ys[0] == pytest.approx(0.40)
        and ys[1] == pytest.approx(0.35)
        and ys[3] == pytest.approx(0.20)
    )
    assert ys[2] != ys[2]  # 0.2 was never run: NaN, a gap in the line (and a listed missing cell)
    assert any("mask ratio=0.2" in m for m in table.missing)
    assert ax.get_title() == "Baby: BERT-F1" and ax.get_xlabel() == "mask ratio"
    path = plot.save_figure(fig, tmp_path / "out" / "fig.png", "png")
    assert png_size(path) == (240, 160) == plot.figure_size_px(table.spec, 1, 1)
    svg = plot.save_figure(fig, tmp_path / "out" / "fig.svg", "svg").read_text(encoding="utf-8")
    assert "<svg" in svg and "</svg>" in svg


def test_sweep_spec_renders_its_data_as_a_table(sweep_store):
    md = render(build_table(sweep_spec(), sweep_store), "md")
    assert "| Curr-RLCER, mask ratio=0.1 | 0.3500 ± 0.0141 |" in md
    assert "0.99" not in md  # the mask_ratio=0.5 run belongs to no cell


def curves_spec():
    return spec_from_dict({
        "name": "curves-test", "title": "Rewards", "kind": "curves", "datasets": ["ml-20m", "bookcrossing"],
        "rows": [{"id": "expctr", "method": "expctr", "label": "ExpCTR"}],
        "curves": [{"label": "LC", "keys": ["reward_lc", "lc_reward"]}, {"label": "IC", "keys": ["reward_ic"], "stage": "ic"}],
        "figure": {"panel_width": 2.0, "panel_height": 1.5, "dpi": 50},
    })  # fmt: skip


def test_curves_from_train_log(tmp_path):
    log0 = [{"stage": "lc", "step": i, "reward_lc": 0.1 * i} for i in range(3)] + [
        {"stage": "ic", "step": 0, "reward_ic": 1.0}, {"stage": "other", "step": 1, "reward_ic": 9.0},
        {"stage": "ic", "step": 1, "reward_ic": 2.0},
    ]  # fmt: skip
    log1 = [{"stage": "lc", "step": i, "lc_reward": 0.1 * i + 0.2} for i in range(3)]
    write_run(tmp_path, "expctr", "ml-20m", 0, {"auc": 0.6}, train_log=log0)
    write_run(tmp_path, "expctr", "ml-20m", 1, {"auc": 0.6}, train_log=log1)
    spec = curves_spec()
    curves = curve_data(spec, ResultsStore(default_store_path(tmp_path)))
    lc = next(c for c in curves if c.dataset == "ml-20m" and c.label == "LC")
    assert (
        lc.xs == [1, 2, 3] and lc.means == pytest.approx([0.1, 0.2, 0.3]) and lc.counts == [2, 2, 2]
    )
    ic = next(c for c in curves if c.dataset == "ml-20m" and c.label == "IC")
    assert ic.means == pytest.approx([1.0, 2.0]) and ic.counts == [1, 1]  # stage filter drops 9.0
    fig = plot.curves_figure(spec, curves)
    assert len(fig.axes) == 4
    assert list(fig.axes[0].lines[0].get_ydata()) == pytest.approx([0.1, 0.2, 0.3])
    assert png_size(plot.save_figure(fig, tmp_path / "c.png", "png")) == (200, 150)
    table = curves_table(spec, curves)
    assert [m.split(":")[0] for m in table.missing] == [
        "ExpCTR / bookcrossing / LC",
        "ExpCTR / bookcrossing / IC",
    ]
    assert "expctr,ml-20m,LC,3,0.3,0.1414213562,2" in curves_csv(curves)  # seeds 0.2 and 0.4


def test_one_at_a_time_sweep_shares_its_default_point(tmp_path):
    """expctr.yaml sets beta 0.05 and delta 1.0: the run with --set model.beta=0.05 is also the
    delta=1.0 point. It fills one cell per axis; the other points fill one cell each."""
    for sets, auc in (
        (["model.beta=0.05"], 0.66),
        (["model.beta=0.5"], 0.60),
        (["model.delta=5.0"], 0.62),
    ):
        write_run(tmp_path, "expctr", "bookcrossing", 0, {"auc": auc}, sets=sets)
    spec = spec_from_dict({
        "name": "fig4-test", "title": "Sensitivity", "kind": "sweep", "datasets": ["bookcrossing"],
        "axes": [{"key": "model.beta", "values": [0.05, 0.5], "label": "β"},
                 {"key": "model.delta", "values": [1.0, 5.0], "label": "δ"}],
        "columns": [{"id": "auc", "metric": "auc", "label": "AUC"}],
        "rows": [{"id": "expctr", "method": "expctr", "label": "ExpCTR"}],
    })  # fmt: skip
    table = build_table(spec, ResultsStore(default_store_path(tmp_path)))
    series = plot.sweep_series(table)
    assert series[("model.beta", "bookcrossing", "auc", "expctr")][1] == pytest.approx([0.66, 0.60])
    assert series[("model.delta", "bookcrossing", "auc", "expctr")][1] == pytest.approx(
        [0.66, 0.62]
    )
    assert table.missing == []
    fig = plot.sweep_figure(table)
    assert [list(ax.lines[0].get_xdata()) for ax in fig.axes] == [[0.05, 0.5], [1.0, 5.0]]
