"""A kill -9 inside an atomic write leaves its temp file (or folder) beside the target; the
resumed run deletes them under the run lock, so a finished folder holds no partial file
(found by the kill campaign: `.metrics.json.<random>.tmp` and a stage's `.DONE.<random>.tmp`
stayed in the folder after --resume)."""

from __future__ import annotations

import os
import tempfile

from bench.api.run_folder import atomic_write_text, remove_stale_temps


def test_stale_temps_of_atomic_writes_are_removed_and_nothing_else(tmp_path):
    atomic_write_text(tmp_path / "metrics.json", "{}\n")
    stage = tmp_path / "stages" / "s1"
    stage.mkdir(parents=True)
    fd, file_tmp = tempfile.mkstemp(prefix=".DONE.", suffix=".tmp", dir=stage)  # as atomic_write_text
    os.close(fd)
    folder_tmp = tempfile.mkdtemp(prefix=".model.npz.", suffix=".tmp", dir=stage)  # as written_atomically
    keep = [tmp_path / ".hidden.tmp", tmp_path / "notes.tmp", stage / "model.npz"]
    for path in keep:
        path.write_text("x")
    removed = remove_stale_temps(tmp_path)
    assert sorted(p.name for p in removed) == sorted([file_tmp.rsplit("/", 1)[1], folder_tmp.rsplit("/", 1)[1]])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        ".hidden.tmp", "metrics.json", "notes.tmp", "stages/s1/model.npz"
    ]


def test_resume_removes_them(tmp_path):
    from bench import runner

    run_dir = tmp_path / "runs" / "x"
    (run_dir / "stages" / "s1").mkdir(parents=True)
    (run_dir / "stages" / "s1" / "DONE").write_text("{}")
    os.close(tempfile.mkstemp(prefix=".metrics.json.", suffix=".tmp", dir=run_dir)[0])
    assert runner._reuse_or_prepare(run_dir, resume=True, force=False) is False
    assert [p.name for p in run_dir.iterdir()] == ["stages"]
