"""BERTScore's encoder pass at its floor: each distinct text encoded once, in batches of similar
token length, its contextual embeddings cached by the text's digest.

bert_score's own `BERTScorer.score` sorts the texts of one call by word count and encodes each
distinct one; called chunk by chunk (for a progress bar) it sorted within a chunk only, padded
batches to the longest word count rather than token count, and encoded a text shared by two
chunks twice. `score_pairs` computes exactly what `scorer.score(cands, refs)` does — the same
tokenisation (bert_score's `sent_encode`), the same encoder call, the same greedy matching
(bert_score's `greedy_cos_idf`, over the pairs in the same batches of `MATCH_BATCH`) and the same
baseline rescaling — so its values equal bert_score's up to float summation order (< 1e-6).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

# bert_score's BERTScorer.score(batch_size=64): the pairs per greedy-matching batch; its
# matching pads a batch's pairs to one length, so this grouping is kept as it is
MATCH_BATCH = 64
# texts per encoder forward: sorted by token count, batches pad little (measured in
# docs/results/2026-12-07-speed.md: 16 beat 4, 8, 32, 64 and 256 on 2 CPU cores)
ENCODE_BATCH = 16
# cached floats per scorer (embedding rows x width): 64M floats = 256 MB
CACHE_FLOATS = 64 * 2**20


class EmbeddingCache:
    """Per-token embeddings (and idf weights) of texts by digest, oldest dropped past a size."""

    def __init__(self, max_floats: int = CACHE_FLOATS) -> None:
        self.max_floats = max_floats
        self._rows: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
        self._floats = 0

    def __contains__(self, key: str) -> bool:
        return key in self._rows

    def get(self, key: str) -> tuple[Any, Any]:
        self._rows.move_to_end(key)
        return self._rows[key]

    def put(self, key: str, emb: Any, idf: Any) -> None:
        if key in self._rows:
            return
        self._rows[key] = (emb, idf)
        self._floats += emb.numel()
        while self._floats > self.max_floats and len(self._rows) > 1:
            _, (old, _) = self._rows.popitem(last=False)
            self._floats -= old.numel()


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _idf_dict(tokenizer: Any) -> Any:
    """bert_score's idf=False weights: 1 for every token, 0 for [CLS]/[SEP]."""
    from collections import defaultdict

    idf: defaultdict[int, float] = defaultdict(lambda: 1.0)
    idf[tokenizer.sep_token_id] = 0
    idf[tokenizer.cls_token_id] = 0
    return idf


def encode_texts(
    scorer: Any,
    texts: Sequence[str],
    cache: EmbeddingCache,
    batch_size: int = ENCODE_BATCH,
    encoder: Callable[[Any, Any], Any] | None = None,
) -> dict[str, tuple[Any, Any]]:
    """(embeddings, idf weights) of each distinct text by digest: from `cache`, else encoded
    (longest first, in batches of `batch_size`) and put into it. `encoder(ids, mask)`, when
    given, stands in for the torch model's forward (the ONNX Runtime one,
    metrics/bertscore_onnx.py): the same out[0] within 1e-5."""
    import torch
    from bert_score.utils import bert_encode, padding, sent_encode

    tokenizer, model = scorer._tokenizer, scorer._model
    idf_dict = _idf_dict(tokenizer)
    got: dict[str, tuple[Any, Any]] = {}
    todo: dict[str, list[int]] = {}
    for text in texts:
        key = text_key(text)
        if key in got or key in todo:
            continue
        if key in cache:
            got[key] = cache.get(key)
        else:
            todo[key] = sent_encode(tokenizer, text)
    # longest first, as bert_score does (by tokens here, not words): a batch pads to its first
    order = sorted(todo, key=lambda k: len(todo[k]), reverse=True)
    device = next(model.parameters()).device
    for start in range(0, len(order), batch_size):
        keys = order[start : start + batch_size]
        ids = [todo[k] for k in keys]
        padded, lens, mask = padding(ids, tokenizer.pad_token_id, dtype=torch.long)
        if encoder is not None:
            emb = encoder(padded, mask)
        else:
            emb = bert_encode(model, padded.to(device), attention_mask=mask.to(device)).cpu()
        for i, key in enumerate(keys):
            row = emb[i, : int(lens[i])].clone()
            idf = torch.tensor([idf_dict[t] for t in ids[i]], dtype=torch.float)
            got[key] = (row, idf)
            cache.put(key, row, idf)
    return got


def score_pairs(
    scorer: Any,
    cands: Sequence[str],
    refs: Sequence[str],
    cache: EmbeddingCache,
    advance: Callable[[int], None] | None = None,
    chunk: int = 16 * MATCH_BATCH,
    encoder: Callable[[Any, Any], Any] | None = None,
) -> Any:
    """(N, 3) tensor of P, R, F1 for the pairs: bert_score's `scorer.score(cands, refs)`.

    Pairs go `chunk` at a time (a multiple of MATCH_BATCH): the chunk's distinct texts encoded
    together (by `encoder`, see encode_texts), then matched; `advance` is told each chunk's
    pair count."""
    import torch
    from bert_score.utils import greedy_cos_idf
    from torch.nn.utils.rnn import pad_sequence

    assert chunk % MATCH_BATCH == 0

    def stats(texts: Sequence[str], rows: dict[str, tuple[Any, Any]]) -> tuple[Any, Any, Any]:
        # bert_score's pad_batch_stats: embeddings padded with 2.0, idf with 0, a length mask
        picked = [rows[text_key(t)] for t in texts]
        embs = [e for e, _ in picked]
        lens = torch.tensor([e.size(0) for e in embs], dtype=torch.long)
        emb_pad = pad_sequence(embs, batch_first=True, padding_value=2.0)
        idf_pad = pad_sequence([i for _, i in picked], batch_first=True)
        mask = torch.arange(int(lens.max())).expand(len(embs), -1) < lens.unsqueeze(1)
        return emb_pad, mask, idf_pad

    out = []
    with torch.no_grad():
        for begin in range(0, len(cands), chunk):
            part_c, part_r = cands[begin : begin + chunk], refs[begin : begin + chunk]
            rows = encode_texts(scorer, [*part_r, *part_c], cache, encoder=encoder)
            for start in range(0, len(part_c), MATCH_BATCH):
                c, r = part_c[start : start + MATCH_BATCH], part_r[start : start + MATCH_BATCH]
                P, R, F = greedy_cos_idf(*stats(r, rows), *stats(c, rows))
                out.append(torch.stack((P, R, F), dim=-1))
            if advance is not None:
                advance(len(part_c))
    preds = torch.cat(out, dim=0) if out else torch.zeros(0, 3)
    if scorer.rescale_with_baseline:
        preds = (preds - scorer.baseline_vals) / (1 - scorer.baseline_vals)
    return preds
