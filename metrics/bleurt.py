"""BLEURT through the bleurt-pytorch package (PyTorch port of google-research/bleurt).

score(prediction, reference) = the regression head's output for the pair encoded as
[CLS] reference [SEP] prediction [SEP] (google-research/bleurt's order; bleurt-pytorch's
README: tokenizer(references, candidates)). Sample-level; the reported value is the mean,
BLEURTstd the population std.

Checkpoint: eval.bleurt_checkpoint = a local folder of a converted checkpoint or its HF id where
the hub is reachable; its folder name is part of the reported name: bleurt[BLEURT-20],
bleurt[bleurt-base-128]. No BLEURT checkpoint is reachable on the offline machine, so there the
metric is reported unavailable with the reason.
Which checkpoint the papers used (PAPERS_CHECKPOINT, the official checkpoint of the leaderboard
specs): Curr-RLCER §4.1 "followed XRec" and names none, and XRec's released evaluation
(HKUDS/XRec evaluation/metrics.py) computes GPTScore, BERTScore and USR only -- it loads no BLEURT
checkpoint at all. The published values (-1.13 .. 0.24, mostly negative) rule out BLEURT-20,
whose scores lie roughly in 0..1; they are on the scale of the original 2020 checkpoints. We take
bleurt-base-128 (port: lucadiliello/bleurt-base-128), the checkpoint the Hugging Face `evaluate`
BLEURT module loads by default -- the library XRec's script already uses for BERTScore. This is
an inference, not a documented fact: the 2020 tiny test checkpoint (bleurt/test_checkpoint) gives
values of the same kind. BLEURT-20, the checkpoint google-research/bleurt recommends today,
reports under its own name and never shares the papers' column.

bleurt-pytorch 0.0.1 was written for transformers 4.x and does not import with transformers 5.
`install_shims()` below (the only place that patches anything) restores what it needs:
  1. transformers.pytorch_utils.find_pruneable_heads_and_indices (removed in v5): re-added with
     the v4 semantics (only used by head pruning, never while scoring);
  2. the module transformers.models.bert.tokenization_bert_fast (v5 merged it into
     tokenization_bert; BertTokenizerFast is now an alias of BertTokenizer): registered as an
     alias module exposing BertTokenizerFast;
  3. PreTrainedModel.get_extended_attention_mask / get_head_mask (removed from v5's
     ModuleUtilsMixin): added to BleurtPreTrainedModel only, with the v4 encoder-only behaviour
     (mask (B, L) -> additive (B, 1, 1, L) of 0 / dtype-min; no head mask -> [None] * layers).
  4. after from_pretrained, the embeddings' buffers position_ids (arange) and token_type_ids
     (zeros, non-persistent) are rebuilt: v5 materialises models from the meta device, so a
     non-persistent buffer created in __init__ is left uninitialised (garbage indices).
  5. tokenisation does not go through bleurt-pytorch's tokenizer classes: v5 rebuilds
     BleurtSPTokenizer (a DebertaV2Tokenizer) as a `tokenizers` Unigram model that drops
     SentencePiece's dummy-prefix "▁" at the start of each segment, so its ids differ from
     BLEURT-20's. `PairEncoder` instead reproduces google-research/bleurt's
     encoding.encode_example exactly: sentencepiece EncodeAsPieces (BLEURT-20 family, spm.model)
     or BERT WordPiece from vocab.txt, [CLS] ref [SEP] cand [SEP], segment ids 0/1, pair
     truncation that pops from the longer side (the candidate on ties), pad id 0.
Shims 1-3 are applied only when the symbol is missing, so transformers 4.x is left untouched;
4 recomputes constants and is harmless on any version.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api.settings import Settings
from metrics.base import Batch, MetricValue
from metrics.checkpoint import CheckpointMetric, CheckpointUnavailable, load_hf_checkpoint


@dataclass
class BLEURTSettings(Settings):
    section = "bleurt"
    always_hashed = True
    # converted BLEURT dir or HF id (papers' columns: bleurt-base-128); unset: BLEURT unavailable
    bleurt_checkpoint: str | None = None


DEFAULT_BATCH_SIZE = 16
DEFAULT_MAX_LENGTH = 512
# The checkpoint the papers' BLEURT columns are taken to come from (see the module docstring);
# leaderboard specs name it as their official BLEURT checkpoint.
PAPERS_CHECKPOINT = "bleurt-base-128"


# -- transformers 5 shims for bleurt-pytorch 0.0.1 ---------------------------------------------


def _find_pruneable_heads_and_indices(heads, n_heads, head_size, already_pruned_heads):
    import torch

    mask = torch.ones(n_heads, head_size)
    heads = set(heads) - already_pruned_heads
    for head in heads:
        head = head - sum(1 if h < head else 0 for h in already_pruned_heads)
        mask[head] = 0
    mask = mask.view(-1).contiguous().eq(1)
    index = torch.arange(len(mask))[mask].long()
    return heads, index


def _get_extended_attention_mask(self, attention_mask, input_shape, device=None, dtype=None):
    import torch

    dtype = dtype or self.dtype
    if attention_mask.dim() == 3:
        extended = attention_mask[:, None, :, :]
    elif attention_mask.dim() == 2:
        extended = attention_mask[:, None, None, :]
    else:
        raise ValueError(f"wrong shape for attention_mask {tuple(attention_mask.shape)}")
    extended = extended.to(dtype=dtype)
    return (1.0 - extended) * torch.finfo(dtype).min


def _get_head_mask(self, head_mask, num_hidden_layers, is_attention_chunked=False):
    if head_mask is None:
        return [None] * num_hidden_layers
    if head_mask.dim() == 1:
        head_mask = head_mask[None, None, :, None, None].expand(num_hidden_layers, -1, -1, -1, -1)
    elif head_mask.dim() == 2:
        head_mask = head_mask[:, None, :, None, None]
    return head_mask.to(dtype=self.dtype)


_SHIMS_INSTALLED = False


def install_shims() -> None:
    """Make bleurt-pytorch 0.0.1 importable and runnable on transformers 5 (idempotent)."""
    global _SHIMS_INSTALLED
    if _SHIMS_INSTALLED:
        return
    import transformers
    import transformers.pytorch_utils as pytorch_utils

    if not hasattr(pytorch_utils, "find_pruneable_heads_and_indices"):
        pytorch_utils.find_pruneable_heads_and_indices = _find_pruneable_heads_and_indices
    name = "transformers.models.bert.tokenization_bert_fast"
    try:
        __import__(name)
    except ImportError:
        alias = types.ModuleType(name)
        alias.BertTokenizerFast = transformers.BertTokenizerFast
        sys.modules[name] = alias
    from bleurt_pytorch.bleurt import modeling_bleurt

    base = modeling_bleurt.BleurtPreTrainedModel
    if not hasattr(base, "get_extended_attention_mask"):
        base.get_extended_attention_mask = _get_extended_attention_mask
    if not hasattr(base, "get_head_mask"):
        base.get_head_mask = _get_head_mask
    _SHIMS_INSTALLED = True


def bleurt_classes() -> tuple[Any, Any, Any, Any]:
    """(BleurtConfig, BleurtForSequenceClassification, BleurtTokenizerFast, BleurtSPTokenizer)."""
    if importlib.util.find_spec("bleurt_pytorch") is None:
        raise CheckpointUnavailable("BLEURT needs the package bleurt-pytorch (pip install bleurt-pytorch)")
    install_shims()
    from bleurt_pytorch.bleurt.configuration_bleurt import BleurtConfig
    from bleurt_pytorch.bleurt.modeling_bleurt import BleurtForSequenceClassification
    from bleurt_pytorch.bleurt.tokenization_bleurt_fast import BleurtTokenizerFast
    from bleurt_pytorch.bleurt.tokenization_bleurt_sp import BleurtSPTokenizer

    return BleurtConfig, BleurtForSequenceClassification, BleurtTokenizerFast, BleurtSPTokenizer


def reset_embedding_buffers(model: Any) -> Any:
    """Shim 4: rebuild the constant buffers of BleurtEmbeddings after loading."""
    import torch

    emb = model.bleurt.embeddings if hasattr(model, "bleurt") else model.embeddings
    n = emb.position_embeddings.num_embeddings
    device = emb.position_embeddings.weight.device
    emb.position_ids = torch.arange(n, device=device).expand((1, -1))
    emb.token_type_ids = torch.zeros((1, n), dtype=torch.long, device=device)
    return model


# -- encoding: google-research/bleurt's encode_example --------------------------------------------


class PairEncoder:
    """Encode (reference, candidate) pairs the way google-research/bleurt does."""

    def __init__(self, tokenize: Any, to_ids: Any, cls_id: int, sep_id: int, pad_id: int = 0,
                 kind: str = ""):
        self.tokenize = tokenize
        self.to_ids = to_ids
        self.cls_id, self.sep_id, self.pad_id = cls_id, sep_id, pad_id
        self.kind = kind

    @classmethod
    def sentencepiece(cls, model_file: str | Path) -> PairEncoder:
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor()
        sp.Load(str(model_file))
        cls_id, sep_id = sp.PieceToId("[CLS]"), sp.PieceToId("[SEP]")
        if sp.IdToPiece(cls_id) != "[CLS]" or sp.IdToPiece(sep_id) != "[SEP]":
            raise CheckpointUnavailable(f"{model_file} has no [CLS]/[SEP] pieces; not a BLEURT spm.model")
        return cls(sp.EncodeAsPieces, lambda toks: [sp.PieceToId(t) for t in toks], cls_id, sep_id,
                   kind="sentencepiece")

    @classmethod
    def wordpiece(cls, folder: str | Path, **hub_kw: Any) -> PairEncoder:
        from transformers import BertTokenizer  # v5: the tokenizers-backed WordPiece

        tok = BertTokenizer.from_pretrained(str(folder), **hub_kw)
        return cls(tok.tokenize, tok.convert_tokens_to_ids, tok.cls_token_id, tok.sep_token_id,
                   kind="wordpiece")

    def encode(self, reference: str, candidate: str, max_length: int) -> tuple[list[int], list[int]]:
        ref, cand = list(self.tokenize(reference)), list(self.tokenize(candidate))
        while len(ref) + len(cand) > max_length - 3:
            (ref if len(ref) > len(cand) else cand).pop()
        return [self.cls_id, *self.to_ids(ref), self.sep_id], [*self.to_ids(cand), self.sep_id]

    def __call__(self, references: Sequence[str], candidates: Sequence[str], max_length: int):
        import torch

        pairs = [self.encode(r, c, max_length) for r, c in zip(references, candidates, strict=True)]
        width = max(len(a) + len(b) for a, b in pairs)
        ids, mask, segments = [], [], []
        for a, b in pairs:
            n = len(a) + len(b)
            ids.append(a + b + [self.pad_id] * (width - n))
            mask.append([1] * n + [0] * (width - n))
            segments.append([0] * len(a) + [1] * len(b) + [0] * (width - n))
        return {
            "input_ids": torch.tensor(ids, dtype=torch.long),
            "attention_mask": torch.tensor(mask, dtype=torch.long),
            "token_type_ids": torch.tensor(segments, dtype=torch.long),
        }


# -- scoring ---------------------------------------------------------------------------------------


class BleurtScorer:
    """BLEURT scores for (reference, candidate) pairs with a loaded model and a PairEncoder."""

    def __init__(self, model: Any, tokenizer: PairEncoder, *, batch_size: int = DEFAULT_BATCH_SIZE,
                 max_length: int = DEFAULT_MAX_LENGTH, device: str = "cpu"):
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = min(max_length, int(model.config.max_position_embeddings))
        self.device = device

    def score(self, references: Sequence[str], candidates: Sequence[str]) -> list[float]:
        import torch

        if len(references) != len(candidates):
            raise ValueError(f"{len(references)} references but {len(candidates)} candidates")
        out: list[float] = []
        for i in range(0, len(references), self.batch_size):
            enc = self.tokenizer(
                list(references[i:i + self.batch_size]), list(candidates[i:i + self.batch_size]),
                self.max_length,
            )
            enc = {k: v.to(self.device) for k, v in enc.items()}
            with torch.inference_mode():
                logits = self.model(**enc).logits
            out.extend(float(v) for v in logits.flatten().cpu())
        return out


def load_bleurt(checkpoint: str, **kw: Any) -> BleurtScorer:
    """Tokenizer (PairEncoder) and BleurtForSequenceClassification from a folder or HF id."""

    def load_model(ref: str, **hub_kw: Any) -> Any:
        model_cls = bleurt_classes()[1]  # bleurt-pytorch with the shims
        return model_cls.from_pretrained(ref, **hub_kw)

    def load_tokenizer(ref: str, **hub_kw: Any) -> PairEncoder:
        folder = Path(ref)
        if not folder.is_dir():  # an HF id: fetch (or find in the HF cache) the vocabulary file
            from huggingface_hub import hf_hub_download

            for name in ("spm.model", "vocab.txt"):
                try:
                    path = Path(hf_hub_download(ref, name, **hub_kw))
                except Exception:  # noqa: BLE001 - try the other vocabulary kind
                    continue
                folder = path.parent
                break
            else:
                raise OSError(f"no spm.model or vocab.txt for {ref!r}")
        if (folder / "spm.model").exists():  # BLEURT-20 family
            return PairEncoder.sentencepiece(folder / "spm.model")
        if (folder / "vocab.txt").exists():  # bleurt-base/large/tiny: BERT WordPiece
            return PairEncoder.wordpiece(folder)
        raise CheckpointUnavailable(f"BLEURT checkpoint {ref!r} has neither spm.model nor vocab.txt")

    tokenizer = load_hf_checkpoint(checkpoint, load_tokenizer, "BLEURT")
    model = load_hf_checkpoint(checkpoint, load_model, "BLEURT")
    reset_embedding_buffers(model)
    return BleurtScorer(model, tokenizer, **kw)


class BLEURT(CheckpointMetric):
    """BLEURT via bleurt-pytorch, named by its checkpoint; unavailable without a checkpoint."""

    name = "bleurt"
    needs = frozenset({"explanation", "reference"})
    level = "sample"
    higher_is_better = True
    settings = BLEURTSettings
    settings_classes = (BLEURTSettings,)
    checkpoint_key = "bleurt_checkpoint"
    checkpoint_hint = (f"a local BLEURT folder converted for bleurt-pytorch (the papers' numbers: "
                       f"lucadiliello/{PAPERS_CHECKPOINT}; today's recommended: lucadiliello/BLEURT-20)")

    def __init__(self, eval_cfg: Any = None, *, checkpoint: str | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, max_length: int = DEFAULT_MAX_LENGTH,
                 device: str = "auto", scorer: BleurtScorer | None = None, **context: Any):
        super().__init__(eval_cfg, checkpoint=checkpoint, device=device, scorer=scorer, **context)
        self.batch_size = batch_size
        self.max_length = max_length

    def version(self) -> dict[str, Any]:
        return {
            **super().version(),
            "implementation": "bleurt-pytorch",
            "input": "[CLS] reference [SEP] prediction [SEP]",
            "max_length": self.max_length,
        }

    def load_scorer(self) -> BleurtScorer:
        return load_bleurt(self.checkpoint_ref, batch_size=self.batch_size,
                           max_length=self.max_length, device=self.device)

    def compute(self, batch: Batch) -> list[MetricValue]:
        scores = self.scorer().score(batch.texts("reference"), batch.texts("explanation"))
        return [self.value_from_samples(self.name, scores)]
