"""`bench results list`: rows of one (method, dataset, seed) cell stay distinguishable."""

from __future__ import annotations

from bench.cli import main
from tests.fixtures.leaderboards.synthetic import write_run

INST = "amazon-instruments"


def test_list_shows_run_id_n_and_profile(tmp_path, capsys):
    full = write_run(tmp_path, "peter", INST, 0, {"rmse": 0.91})
    tiny = write_run(tmp_path, "peter", INST, 0, {"rmse": 0.97}, profile="tiny", records=range(6))
    assert full.name != tiny.name  # same method, dataset and seed; another config
    assert main(["results", "list", "--runs-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    by_run = {line.split()[-1]: line.split() for line in lines}
    assert set(by_run) == {full.name, tiny.name}
    assert by_run[full.name][:7] == ["peter", INST, "s0", "rmse", "0.9100", "n=20", "profile=-"]
    assert by_run[tiny.name][:7] == ["peter", INST, "s0", "rmse", "0.9700", "n=6", "profile=tiny"]
    # --runs-dir is read before or after the subcommand, and filters still apply
    assert main(["results", "--runs-dir", str(tmp_path), "list", "--metric", "mae"]) == 0
    assert capsys.readouterr().out.startswith("no results in")


def test_rows_of_runs_on_modified_data_are_marked(tmp_path, capsys):
    # issue 25.8: `bench results list` did not mark a run that read modified data
    clean = write_run(tmp_path, "peter", INST, 0, {"rmse": 0.91})
    skipped = write_run(tmp_path, "mf-bias", INST, 0, {"rmse": 0.8085},
                        data_report={"bad_lines": 3, "sha256_mismatches": []})  # fmt: skip
    assert main(["results", "list", "--runs-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = {line.split()[-1]: line for line in lines if line.startswith(("peter", "mf-bias"))}
    assert "0.8085§" in row[skipped.name] and "0.9100 " in row[clean.name]
    assert [line for line in lines if line.startswith("§ ")] == [
        f"§ {skipped.name}: modified data (3 bad or duplicate line(s) skipped (--on-bad-line skip))"
    ]
