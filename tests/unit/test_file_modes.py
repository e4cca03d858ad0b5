"""Run-folder files honour the umask like any other tool's output (not mkstemp's 0600)."""

from __future__ import annotations

import os
import stat

import pytest

from bench.api import run_folder


@pytest.fixture
def umask():
    """Set the process umask for one test (and the writer's cached copy of it)."""
    old = os.umask(0o022)

    def use(mask: int) -> None:
        os.umask(mask)
        run_folder._umask.cache_clear()

    yield use
    os.umask(old)
    run_folder._umask.cache_clear()


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_get_the_umask_mode(tmp_path, umask, mask, mode):
    umask(mask)
    run_folder.atomic_write_text(tmp_path / "metrics.json", "{}\n")
    run_folder.atomic_write_jsonl(tmp_path / "predictions.jsonl", [{"idx": 0}])
    for name in ("metrics.json", "predictions.jsonl"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
