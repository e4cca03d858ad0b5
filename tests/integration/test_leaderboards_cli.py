"""`bench tables` and `bench sweep` end to end on synthetic run folders (no training)."""

from __future__ import annotations

from pathlib import Path

import pytest

import bench.runner
from bench.cli import main
from tests.fixtures.leaderboards.synthetic import fake_data_digests, fake_identity, write_run

INST, ML = "amazon-instruments", "ml-100k"


@pytest.fixture(autouse=True)
def fake_digests(monkeypatch):
    """Plan against fake data digests, as the fake run folders are named (no raw files needed)."""
    import bench.data

    monkeypatch.setattr(bench.data, "data_file_digests", fake_data_digests)


def fill_reference_rows(runs_dir: Path, skip: tuple[str, str] | None = None) -> None:
    values = {
        ("mf-bias", INST): {"rmse": 0.95, "mae": 0.74},
        ("mf-bias", ML): {"rmse": 0.93, "mae": 0.73},
        ("retrieval", INST): {"rmse": 1.10, "mae": 0.85, "usr": 0.61, "bleu4_peter": 1.23},
        ("retrieval", ML): {"rmse": 1.05, "mae": 0.82, "usr": 0.55, "bleu4_peter": 0.98},
    }
    for (method, dataset), metrics in values.items():
        if (method, dataset) != skip:
            write_run(runs_dir, method, dataset, 0, metrics)


def test_tables_prints_markdown_with_values(tmp_path, capsys):
    fill_reference_rows(tmp_path)
    assert (
        main(["tables", "--spec", "reference-rows", "--runs-dir", str(tmp_path), "--strict"]) == 0
    )
    out = capsys.readouterr().out
    assert (
        "| MF-bias | **0.9500** | **0.7400** | n/a | n/a | **0.9300** | **0.7300** | n/a | n/a |"
        in out
    )
    assert "| Retrieval | <u>1.1000</u> | <u>0.8500</u> | 0.6100 | 1.23 |" in out


def test_tables_missing_cell_and_strict(tmp_path, capsys):
    fill_reference_rows(tmp_path, skip=("mf-bias", ML))
    assert main(["tables", "--spec", "reference-rows", "--runs-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    # rmse/mae are missing for MF-bias on ML-100K; its text columns stay n/a, not missing
    assert "| MF-bias | **0.9500** | **0.7400** | n/a | n/a | — | — | n/a | n/a |" in captured.out
    assert "- MF-bias / ML-100K / RMSE: no finished run" in captured.out
    assert "2 missing cell(s)" in captured.err
    assert (
        main(["tables", "--spec", "reference-rows", "--runs-dir", str(tmp_path), "--strict"]) == 2
    )
    err = capsys.readouterr().err
    assert "error: --strict: spec 'reference-rows' has 2 missing cell(s)" in err
    assert "bench sweep --spec reference-rows" in err


def test_tables_writes_every_format(tmp_path, capsys):
    fill_reference_rows(tmp_path)
    out = tmp_path / "out"
    args = ["tables", "--spec", "reference-rows", "--runs-dir", str(tmp_path), "--out", str(out)]
    for fmt in ("md", "tex", "csv", "html"):
        args += ["--format", fmt]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        f"reference-rows.{f}" for f in ("csv", "html", "md", "tex")
    ]
    assert (
        main(["tables", "--spec", "reference-rows", "--runs-dir", str(tmp_path), "--format", "png"])
        == 2
    )
    assert "is a table; --format png is for figure specs" in capsys.readouterr().err


def test_published_rows_shown_and_hidden(tmp_path, capsys):
    assert main(["tables", "--spec", "currrl-table3", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| Curr-RLCER (paper) | 0.6899 | 0.33 | 0.6943 | 0.3340 | 0.6099 | 0.3080 |" in out
    assert (
        main(["tables", "--spec", "currrl-table3", "--runs-dir", str(tmp_path), "--no-published"])
        == 0
    )
    assert "(paper)" not in capsys.readouterr().out


def test_unknown_spec_suggests(tmp_path, capsys):
    assert main(["tables", "--spec", "currrl-tabel2", "--runs-dir", str(tmp_path)]) == 2
    assert "did you mean 'currrl-table2'" in capsys.readouterr().err


def test_sweep_dry_run_plans_selectors_and_skips_published(tmp_path, capsys):
    write_run(tmp_path, "currrl", "amazon-baby", 0, {"mae": 0.3}, sets=["model.use_dpo=false"])
    assert (
        main(
            [
                "sweep",
                "--spec",
                "currrl-table5",
                "--seeds",
                "2",
                "--dry-run",
                "--runs-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "12 planned run(s)" in out  # 3 rows (2 with selectors) x 2 datasets x 2 seeds
    assert "done: 1  resume: 0  new: 11" in out
    assert "model.use_dpo=false" in out and "model.use_coherence_reward=false" in out


def test_sweep_runs_what_is_missing_resumes_and_renders(tmp_path, capsys, monkeypatch):
    fill_reference_rows(tmp_path, skip=("retrieval", INST))
    # an unfinished folder for (retrieval, instruments): must be resumed, not restarted
    (tmp_path / fake_identity(tmp_path, "retrieval", INST, 0)[2]).mkdir()
    # and (mf-bias, ml-100k) is not done either
    done_dir = tmp_path / fake_identity(tmp_path, "mf-bias", ML, 0)[2]
    (done_dir / "DONE").unlink()

    calls = []

    def fake_execute(cfg, *, resume=False, force=False, quiet=False):
        calls.append((cfg.method, cfg.dataset, cfg.seed, resume))
        metrics = (
            {"rmse": 1.2, "mae": 0.9, "usr": 0.7, "bleu4_peter": 2.0}
            if cfg.method == "retrieval"
            else {"rmse": 0.9, "mae": 0.7}
        )
        write_run(Path(cfg.runs_dir), cfg.method, cfg.dataset, cfg.seed, metrics)

    monkeypatch.setattr(bench.runner, "execute", fake_execute)
    assert main(["sweep", "--spec", "reference-rows", "--runs-dir", str(tmp_path)]) == 0
    assert sorted(calls) == [("mf-bias", ML, 0, True), ("retrieval", INST, 0, True)]
    out = capsys.readouterr().out
    assert "| Retrieval | <u>1.2000</u> | <u>0.9000</u> | 0.7000 | 2.00 |" in out
    assert (tmp_path / "tables" / "reference-rows.md").exists() and (
        tmp_path / "tables" / "reference-rows.csv"
    ).exists()


def test_sweep_reports_failures(tmp_path, capsys, monkeypatch):
    def boom(cfg, **kw):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(bench.runner, "execute", boom)
    assert main(["sweep", "--spec", "reference-rows", "--runs-dir", str(tmp_path)]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]  # retrieval x ML-100K is never planned
    assert last.startswith("sweep: 0 run, 0 already done, 0 skipped (unavailable), 3 failed — ")
    assert last.count("RuntimeError: out of memory") == 3


def test_sweep_checks_every_cells_data_before_starting_any(tmp_path, capsys, monkeypatch):
    import bench.data
    from bench.api.errors import DataError

    def digests(dataset, cfg):
        if dataset == INST:
            raise DataError(f"{tmp_path}/amazon2014/reviews_Musical_Instruments_5.json.gz is missing")
        return fake_data_digests(dataset)

    calls = []
    monkeypatch.setattr(bench.data, "data_file_digests", digests)
    monkeypatch.setattr(bench.runner, "execute", lambda cfg, **kw: calls.append(cfg.method))
    assert main(["sweep", "--spec", "reference-rows", "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert calls == [] and len(err.strip().splitlines()) == 1  # nothing started, one line
    assert "sweep not started: 2 cell(s)" in err and "reviews_Musical_Instruments_5.json.gz is missing" in err
    # --skip-unavailable runs the ML-100K cell and counts the two others as skipped
    assert main(["sweep", "--spec", "reference-rows", "--skip-unavailable", "--runs-dir", str(tmp_path)]) == 2
    assert calls == ["mf-bias"]
    err = capsys.readouterr().err  # the cells never run stay missing: --strict fails (exit 2)
    assert "sweep: 1 run, 0 already done, 2 skipped (unavailable), 0 failed" in err
    assert f"wrote {tmp_path}/tables/reference-rows.md" in err  # paths are never wrapped mid-word


@pytest.mark.parametrize(
    "name", ["currrl-table2", "currrl-fig2", "expctr-fig4", "expctr-fig3", "expctr-table1"]
)
def test_every_builtin_spec_plans(name, tmp_path, capsys):
    assert main(["sweep", "--spec", name, "--dry-run", "--runs-dir", str(tmp_path)]) == 0
    assert "planned run(s)" in capsys.readouterr().out


def test_sweep_never_plans_a_cell_whose_columns_are_all_na(tmp_path, capsys):
    # retrieval has no ratings and ML-100K has no review text: every ML-100K column is n/a
    assert main(["sweep", "--spec", "reference-rows", "--dry-run", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 planned run(s)" in out
    assert "retrieval__amazon-instruments__" in out and "retrieval__ml-100k__" not in out
