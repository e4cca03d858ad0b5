"""Shared fixtures: where the real data lives, and quiet isolated run folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "data"


def shared_data_dir() -> Path | None:
    """ERBENCH_DATA_DIR, else ../shared/data beside the repo; None when neither exists."""
    env = os.environ.get("ERBENCH_DATA_DIR")
    for candidate in (Path(env) if env else None, DEFAULT_SHARED):
        if candidate is not None and candidate.is_dir():
            return candidate
    return None


@pytest.fixture
def data_dir() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("real data not found: set ERBENCH_DATA_DIR to a folder like ../shared/data")
    return path


@pytest.fixture
def one_thread():
    """Tiny models run faster on one torch thread (and do not thrash a shared CPU); restored after.

    Use with `pytestmark = pytest.mark.usefixtures("one_thread")`.
    """
    from bench.api.threads import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture
def stub_factory():
    """make(respond) -> a loopback OpenAI-compatible server (tests.openai_stub.Stub), closed after."""
    from tests.openai_stub import Stub

    made = []

    def make(respond):
        s = Stub(respond)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()
