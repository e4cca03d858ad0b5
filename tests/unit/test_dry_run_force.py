"""Issue 25.8: `bench run --dry-run --force` on a finished run said "finished (would be
reused)"; --force deletes the folder and starts over, and the dry run now says so."""

from __future__ import annotations

from types import SimpleNamespace

from bench.cli import print_identity
from bench.config import RunConfig


def identity(run_dir):  # noqa: ANN001, ANN201
    return SimpleNamespace(run_id=run_dir.name, run_dir=run_dir, data_digests={},
                           cfg=RunConfig(method="mf-bias", dataset="amazon-instruments"))  # fmt: skip


def test_dry_run_says_what_force_would_do(tmp_path, capsys):
    run_dir = tmp_path / "mf-bias__amazon-instruments__s0__abc"
    run_dir.mkdir()
    (run_dir / "DONE").write_text("")
    print_identity(identity(run_dir))
    assert "finished (would be reused)" in capsys.readouterr().out
    print_identity(identity(run_dir), force=True)
    assert f"# run {run_dir.name}: exists; --force would delete it and start over" in capsys.readouterr().out
    print_identity(identity(tmp_path / "new"), force=True)
    assert "# run new: new" in capsys.readouterr().out
