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

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api.settings import Settings
from bench.data.digests import sha256_file
from metrics.base import Batch, MetricValue
from metrics.checkpoint import CheckpointMetric, CheckpointUnavailable, load_hf_checkpoint


@dataclass
class BARTScoreSettings(Settings):
    section = "bartscore"
    always_hashed = True
    bartscore_checkpoint: str | None = None  # facebook/bart-large-cnn dir or id
    bartscore_weights: str | None = None  # ParaBank fine-tuned weights file (bartscore[...+parabank])


DEFAULT_MAX_LENGTH = 1024
DEFAULT_BATCH_SIZE = 4


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


class BARTScore(CheckpointMetric):
    """BARTScore: mean log-likelihood of the reference given the prediction (bart-large-cnn)."""

    name = "bartscore"
    needs = frozenset({"explanation", "reference"})
    level = "sample"
    higher_is_better = True
    settings = BARTScoreSettings
    settings_classes = (BARTScoreSettings,)
    checkpoint_key = "bartscore_checkpoint"
    checkpoint_hint = ("a local facebook/bart-large-cnn folder (or the HF id where the hub is "
                       "reachable)")

    def __init__(self, eval_cfg: Any = None, *, checkpoint: str | None = None,
                 weights: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                 max_length: int = DEFAULT_MAX_LENGTH, device: str = "auto",
                 scorer: BARTScorer | None = None, **context: Any):
        super().__init__(eval_cfg, checkpoint=checkpoint, device=device, scorer=scorer, **context)
        self.weights = weights or BARTScoreSettings.of(eval_cfg).bartscore_weights
        self.batch_size = batch_size
        self.max_length = max_length
        self._weights_sha: str | None = None

    @property
    def checkpoint(self) -> str | None:
        label = super().checkpoint
        return label + "+parabank" if label and self.weights else label

    def version(self) -> dict[str, Any]:
        if self.weights and self._weights_sha is None and Path(self.weights).is_file():
            self._weights_sha = sha256_file(self.weights)
        return {
            **super().version(),
            "weights": self.weights,
            "weights_sha256": self._weights_sha,
            "direction": "log p(reference | prediction)",
            "reduction": "mean token log-prob",
            "max_length": self.max_length,
        }

    def load_scorer(self) -> BARTScorer:
        return load_bartscorer(self.checkpoint_ref, self.weights, batch_size=self.batch_size,
                               max_length=self.max_length, device=self.device)

    def compute(self, batch: Batch) -> list[MetricValue]:
        scores = self.scorer().score(batch.texts("explanation"), batch.texts("reference"))
        return [self.value_from_samples(self.name, scores)]
