"""BERTScore's encoder on ONNX Runtime: the same fp32 forward as torch's, exported once.

The encoder bert_score loaded (already cut to `num_layers`, as bert_score's get_model cuts it)
is exported with torch.onnx.export (batch and sequence axes dynamic; output: the last kept
layer's hidden states, the `out[0]` bert_score's bert_encode reads) and run by an
onnxruntime InferenceSession on the CPU provider, with torch's thread count and every graph
optimization on (its embeddings stay within 5e-6 of torch's; the tests hold them to 1e-5).

The .onnx file lives in cache_dir()/bertscore-onnx/, named by a digest of what decides the
graph: the checkpoint's files (config and weights), the layer count, the opset and the torch,
transformers and onnx versions. It is written atomically under an OS lock (two processes export
it once); a cached file that onnxruntime cannot load (a torn copy, a disk error) is exported
again, never fatal. A checkpoint the exporter cannot export raises OnnxUnavailable, and the
caller stays on torch (metrics/bertscore.py says so once).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

OPSET = 17
# files of a checkpoint folder that decide the exported graph (tokenizer files do not)
_GRAPH_FILES = ("config.json", "*.safetensors", "pytorch_model*.bin")


class OnnxUnavailable(Exception):
    """onnxruntime is missing, or this checkpoint cannot be exported or run by it."""


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {}
    for pkg in ("torch", "transformers", "onnx", "onnxruntime"):
        try:
            out[pkg] = version(pkg)
        except Exception:
            out[pkg] = "-"
    return out


def checkpoint_digest(folder: Path) -> str:
    """sha256 over the checkpoint's config and weight files (each file's digest cached by
    bench.data.digests, so a 1.3 GB roberta-large is read once)."""
    from bench.data.digests import cached_sha256

    files = sorted({p for pattern in _GRAPH_FILES for p in Path(folder).glob(pattern)})
    if not files:
        raise OnnxUnavailable(f"no config or weights in {folder}")
    blob = json.dumps([[p.name, cached_sha256(p)] for p in files])
    return hashlib.sha256(blob.encode()).hexdigest()


def onnx_path(folder: Path, num_layers: int, name: str | None = None) -> Path:
    """Where the export of `folder` cut to `num_layers` layers is cached (`name`, for people
    reading the folder: the checkpoint's label, else the folder's name)."""
    from bench.api.paths import cache_dir

    key = json.dumps(
        {
            "checkpoint": checkpoint_digest(folder),
            "layers": num_layers,
            "opset": OPSET,
            **_versions(),
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    name = name or Path(folder).name or "model"
    return cache_dir() / "bertscore-onnx" / f"{name}-L{num_layers}-{digest}.onnx"


def _last_hidden(model: Any) -> Any:
    """The module torch.onnx.export traces: (input_ids, attention_mask) -> out[0]."""
    import torch

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.model(input_ids, attention_mask=attention_mask)[0]

    return LastHidden().eval()


def export(model: Any, target: Path) -> None:
    """torch.onnx.export of `model`'s out[0] to `target`, written atomically."""
    import warnings

    import torch

    from bench.api.run_folder import written_atomically

    vocab = int(getattr(model.config, "vocab_size", 0) or 1000)
    ids = torch.full((2, 8), vocab // 2, dtype=torch.long)  # any real token: the trace's input
    mask = torch.ones_like(ids)
    axes = {0: "batch", 1: "tokens"}
    with written_atomically(target) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's tracer warnings: shapes are dynamic
        torch.onnx.export(
            _last_hidden(model), (ids, mask), str(tmp),
            input_names=["input_ids", "attention_mask"], output_names=["hidden"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "hidden": axes},
            opset_version=OPSET, dynamo=False,
        )  # fmt: skip


class OnnxEncoder:
    """`encoder(input_ids, attention_mask)` -> the float32 (batch, tokens, width) torch tensor
    the torch model's out[0] would be (within 1e-5)."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # all graph optimizations: measured within 5e-6 of torch at every level (docs/results/
        # 2026-12-07-speed-bertscore-onnx.md); the tests hold this one to 1e-5
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        self.path = path
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: Any, attention_mask: Any) -> Any:
        import torch

        feed = {
            "input_ids": input_ids.cpu().numpy(),
            "attention_mask": attention_mask.cpu().numpy(),
        }
        return torch.from_numpy(self.session.run(None, feed)[0])


def load_encoder(
    model: Any, folder: str | Path, num_layers: int, name: str | None = None
) -> OnnxEncoder:
    """The ONNX Runtime encoder of `model` (bert_score's, cut to `num_layers`) from the cache,
    exported first when the cache has none or an unreadable one. OnnxUnavailable when
    onnxruntime is missing, the export fails or the cache cannot be written."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise OnnxUnavailable(f"onnxruntime is not installed ({exc})") from None
    import torch

    from bench.api.file_lock import target_lock

    try:
        target = onnx_path(Path(folder), num_layers, name)
        with target_lock(target, doing="exporting", folder="onnx-locks"):
            return _load_locked(model, target, torch.get_num_threads(), Path(folder).name)
    except OSError as exc:  # an unwritable cache dir, a weights file gone: torch instead
        raise OnnxUnavailable(f"no ONNX cache for {Path(folder).name}: {exc}") from None


def _load_locked(model: Any, target: Path, threads: int, label: str) -> OnnxEncoder:
    """The encoder from `target`, exported there first when missing or unreadable; the
    caller holds the lock of `target`."""
    if target.exists():
        try:
            return OnnxEncoder(target, threads)
        except Exception as exc:  # a torn or corrupt file: export it again
            log.warning("cached ONNX encoder %s unreadable (%s); exporting it again", target, exc)
            target.unlink(missing_ok=True)
    try:
        export(model, target)
        return OnnxEncoder(target, threads)
    except Exception as exc:
        target.unlink(missing_ok=True)
        raise OnnxUnavailable(f"export of {label} failed: {exc}") from None
