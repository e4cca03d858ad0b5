"""BARTScore (Yuan et al., 2021) as XRec and Curr-RLCER report it.

score(prediction, reference) = (1/|y|) * sum_t log p(y_t | y_<t, x) under a BART
sequence-to-sequence model, with x = the generated explanation (encoder input) and y = the
reference explanation (decoder target, with BART's <s> ... </s>): the mean token log-likelihood
of regenerating the reference from the prediction. Higher (closer to 0) is better.
This is neulab/BARTScore's `BARTScorer.score(srcs=predictions, tgts=references)`: NLL with the
pad token ignored, summed per target and divided by the number of non-pad target tokens;
inputs truncated to max_length 1024. XRec (evaluation/metrics.py, later version) calls it with
facebook/bart-large-cnn, optionally loading the ParaBank-finetuned weights `bart_score.pth`
(`--parabank`), batch size 4; Curr-RLCER's BARTScore column (-3.5 .. -5.7) is on that scale.

Configuration: eval.bartscore_checkpoint = a local folder or an HF id (facebook/bart-large-cnn);
optional eval.bartscore_weights (or keyword `weights`) = the ParaBank state dict (.pth loaded
with torch.load(weights_only=True), or .safetensors). The checkpoint label in the reported name
is the folder/model name, "+parabank" when those weights are loaded:
bartscore[bart-large-cnn+parabank]. Without a loadable checkpoint the metric is unavailable
with the reason; nothing else is ever reported under this name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from metrics.base import Batch, Metric, MetricUnavailable, MetricValue

DEFAULT_MAX_LENGTH = 1024
DEFAULT_BATCH_SIZE = 4


class CheckpointUnavailable(MetricUnavailable):
    """A scorer checkpoint could not be loaded here; the message says why."""


def hub_offline() -> bool:
    return any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def looks_like_path(ref: str) -> bool:
    return ref.startswith(("/", "./", "../", "~")) or os.sep + os.sep in ref or Path(ref).exists()


def load_hf_checkpoint(ref: str, load: Callable[..., Any], what: str) -> Any:
    """Call load(ref, **kw) for a local folder or an HF id, turning failures into reasons.

    A hub id is first looked up in the local HF cache only; the network is tried afterwards
    unless HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is set (offline retries take ~45 s).
    """
    if looks_like_path(ref):
        path = Path(ref).expanduser()
        if not path.is_dir():
            raise CheckpointUnavailable(f"{what} checkpoint folder {str(path)!r} does not exist")
        if not (path / "config.json").exists():
            raise CheckpointUnavailable(f"{what} checkpoint folder {str(path)!r} has no config.json")
        try:
            return load(str(path))
        except CheckpointUnavailable:
            raise
        except Exception as exc:  # corrupt or incompatible files
            raise CheckpointUnavailable(
                f"{what} checkpoint {str(path)!r} failed to load: {type(exc).__name__}: {exc}"
            ) from exc
    try:
        return load(ref, local_files_only=True)
    except CheckpointUnavailable:
        raise
    except Exception as exc:
        cached_error = exc
    if hub_offline():
        raise CheckpointUnavailable(
            f"{what} checkpoint {ref!r} is not in the local Hugging Face cache and the hub is "
            f"offline (HF_HUB_OFFLINE set): {type(cached_error).__name__}"
        )
    try:
        return load(ref)
    except Exception as exc:
        raise CheckpointUnavailable(
            f"{what} checkpoint {ref!r} is neither cached locally nor downloadable: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc


def resolve_device(device: str) -> str:
    """"auto" -> "cuda" when a CUDA device is present, else "cpu"; anything else unchanged."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def file_digest(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_state_dict_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A state dict from .safetensors, or from a torch .pth/.bin with the safe unpickler."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    import torch

    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    return state


class BARTScorer:
    """The BARTScore computation for any BART-like seq2seq model and its tokenizer."""

    def __init__(self, model: Any, tokenizer: Any, *, max_length: int = DEFAULT_MAX_LENGTH,
                 batch_size: int = DEFAULT_BATCH_SIZE, device: str = "cpu"):
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device

    def score(self, srcs: Sequence[str], tgts: Sequence[str]) -> list[float]:
        """Mean log p(tgt token | src, tgt prefix) per pair."""
        import torch
        from transformers.models.bart.modeling_bart import shift_tokens_right

        if len(srcs) != len(tgts):
            raise ValueError(f"{len(srcs)} sources but {len(tgts)} targets")
        cfg = self.model.config
        pad = cfg.pad_token_id
        out: list[float] = []
        for i in range(0, len(srcs), self.batch_size):
            src = self.tokenizer(list(srcs[i:i + self.batch_size]), max_length=self.max_length,
                                 truncation=True, padding=True, return_tensors="pt")
            tgt = self.tokenizer(list(tgts[i:i + self.batch_size]), max_length=self.max_length,
                                 truncation=True, padding=True, return_tensors="pt")
            tgt_ids = tgt["input_ids"].to(self.device)
            tgt_mask = tgt["attention_mask"].to(self.device)
            decoder_input_ids = shift_tokens_right(tgt_ids, pad, cfg.decoder_start_token_id)
            with torch.inference_mode():
                logits = self.model(
                    input_ids=src["input_ids"].to(self.device),
                    attention_mask=src["attention_mask"].to(self.device),
                    decoder_input_ids=decoder_input_ids,
                ).logits
                logp = torch.log_softmax(logits.float(), dim=-1)
                token_logp = logp.gather(-1, tgt_ids.unsqueeze(-1)).squeeze(-1)
                token_logp = token_logp * tgt_mask
                mean = token_logp.sum(dim=1) / tgt_mask.sum(dim=1)
            out.extend(float(v) for v in mean.cpu())
        return out


def load_bartscorer(checkpoint: str, weights: str | None = None, **kw: Any) -> BARTScorer:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = load_hf_checkpoint(checkpoint, AutoTokenizer.from_pretrained, "BARTScore")
    model = load_hf_checkpoint(checkpoint, AutoModelForSeq2SeqLM.from_pretrained, "BARTScore")
    if weights:
        if not Path(weights).is_file():
            raise CheckpointUnavailable(f"BARTScore weights file {weights!r} does not exist")
        state = load_state_dict_file(weights)
        missing, unexpected = model.load_state_dict(state, strict=False)
        # tied or buffer entries may legitimately be absent; real mismatches are refused
        missing = [k for k in missing if not k.endswith(("embed_tokens.weight", "lm_head.weight",
                                                           "final_logits_bias"))]
        if missing or unexpected:
            raise CheckpointUnavailable(
                f"BARTScore weights {weights!r} do not fit {checkpoint!r}: missing {missing[:5]}, "
                f"unexpected {unexpected[:5]}"
            )
    return BARTScorer(model, tokenizer, **kw)


class BARTScore(Metric):
    """BARTScore: mean log-likelihood of the reference given the prediction (bart-large-cnn)."""

    name = "bartscore"
    needs = frozenset({"explanation", "reference"})
    level = "sample"
    higher_is_better = True

    def __init__(self, eval_cfg: Any = None, *, checkpoint: str | None = None,
                 weights: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                 max_length: int = DEFAULT_MAX_LENGTH, device: str = "auto",
                 scorer: BARTScorer | None = None, **context: Any):
        super().__init__(eval_cfg, **context)
        self.checkpoint_ref = checkpoint or getattr(eval_cfg, "bartscore_checkpoint", None)
        self.weights = weights or getattr(eval_cfg, "bartscore_weights", None)
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = resolve_device(context.get("device") or device)
        self._scorer = scorer
        self._error: str | None = None
        self._weights_sha: str | None = None

    @property
    def checkpoint(self) -> str | None:
        if not self.checkpoint_ref:
            return None
        label = Path(str(self.checkpoint_ref).rstrip("/")).name
        return label + ("+parabank" if self.weights else "")

    def version(self) -> dict[str, Any]:
        if self.weights and self._weights_sha is None and Path(self.weights).is_file():
            self._weights_sha = file_digest(self.weights)
        return {
            **super().version(),
            "checkpoint": self.checkpoint_ref,
            "weights": self.weights,
            "weights_sha256": self._weights_sha,
            "direction": "log p(reference | prediction)",
            "reduction": "mean token log-prob",
            "max_length": self.max_length,
        }

    def scorer(self) -> BARTScorer:
        if self._scorer is None:
            if self._error:
                raise CheckpointUnavailable(self._error)
            if not self.checkpoint_ref:
                raise CheckpointUnavailable(
                    "bartscore_checkpoint is unset; set eval.bartscore_checkpoint to a local "
                    "facebook/bart-large-cnn folder (or the HF id where the hub is reachable)"
                )
            try:
                self._scorer = load_bartscorer(self.checkpoint_ref, self.weights,
                                               batch_size=self.batch_size,
                                               max_length=self.max_length, device=self.device)
            except CheckpointUnavailable as exc:
                self._error = str(exc)
                raise
        return self._scorer

    def available(self) -> tuple[bool, str]:
        try:
            self.scorer()
        except CheckpointUnavailable as exc:
            return False, str(exc)
        return True, ""

    def compute(self, batch: Batch) -> list[MetricValue]:
        scores = self.scorer().score(batch.texts("explanation"), batch.texts("reference"))
        return [self.value_from_samples(self.name, scores)]
