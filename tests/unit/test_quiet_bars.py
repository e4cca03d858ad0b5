"""Issue 25.8: transformers' "Loading weights" bar printed under --quiet and into log files;
runs hide Hugging Face tqdm bars there (bench.api.progress.third_party_bars_off)."""

from __future__ import annotations

import os

from bench.api.progress import third_party_bars_off


def test_hf_bars_are_off_inside_and_restored_after(monkeypatch):
    from transformers.utils import logging as hf_logging

    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    hf_logging.enable_progress_bar()
    with third_party_bars_off():
        assert not hf_logging.is_progress_bar_enabled()
        assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"  # read by libraries imported now
    assert hf_logging.is_progress_bar_enabled()
    assert "HF_HUB_DISABLE_PROGRESS_BARS" not in os.environ
    hf_logging.disable_progress_bar()  # a user's own choice is kept
    with third_party_bars_off():
        pass
    assert not hf_logging.is_progress_bar_enabled()
    hf_logging.enable_progress_bar()

