"""Shared caches written by two processes at once stay whole (unique temp names, then rename)."""

from __future__ import annotations

import hashlib

import numpy as np

from bench import encoders
from bench.api.run_folder import written_atomically


class FakeEncoder(encoders.SentenceEncoder):
    """A sentence encoder that needs no checkpoint: a vector derived from the text's hash."""

    def __init__(self) -> None:
        super().__init__("fake-encoder")

    def _compute(self, texts: list[str]) -> np.ndarray:
        return np.stack([
            np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], dtype=np.uint8).astype(np.float32)
            for t in texts
        ])  # fmt: skip


def test_interleaved_writers_of_the_embedding_cache_leave_a_valid_entry(tmp_path, monkeypatch):
    """Run A has written its temp file when run B, sharing the cache folder, writes and renames
    its own; then A renames. With one fixed temp name A's file was gone (or B's was torn)."""
    real_savez = np.savez
    b_done: list[bool] = []

    def savez_then_run_b(file, **arrays):
        real_savez(file, **arrays)
        if not b_done:  # B: another process with a cold in-memory cache
            b_done.append(True)
            monkeypatch.setitem(encoders._SHARED, "fake-encoder", FakeEncoder())
            encoders.embed(["b's text"], path="fake-encoder", cache_dir=tmp_path)

    monkeypatch.setattr(np, "savez", savez_then_run_b)
    monkeypatch.setitem(encoders._SHARED, "fake-encoder", FakeEncoder())
    a_vectors = encoders.embed(["a's text"], path="fake-encoder", cache_dir=tmp_path)

    assert b_done and [p.name for p in tmp_path.iterdir()] == [
        f"embeddings_{hashlib.sha256(b'fake-encoder').hexdigest()[:8]}.npz"
    ]  # one whole cache file, no temp left behind
    # a third run reads A's vector (A renamed last) from disk, without encoding it again
    reader = FakeEncoder()
    reader._compute = lambda texts: (_ for _ in ()).throw(AssertionError(f"encoded {texts}"))
    monkeypatch.setitem(encoders._SHARED, "fake-encoder", reader)
    np.testing.assert_array_equal(
        encoders.embed(["a's text"], path="fake-encoder", cache_dir=tmp_path), a_vectors
    )


def test_written_atomically_leaves_the_target_untouched_on_error(tmp_path):
    target = tmp_path / "classifier.npz"
    target.write_bytes(b"old")
    try:
        with written_atomically(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    except RuntimeError:
        pass
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["classifier.npz"]
