"""metrics/bertscore_embed.py gives bert_score's own scorer.score values (within 1e-5) while
encoding each distinct text once; a text already encoded is not encoded again."""

from __future__ import annotations

import random

import pytest

from metrics.bertscore import BERTScore
from metrics.bertscore_embed import MATCH_BATCH, EmbeddingCache, score_pairs
from metrics.settings import EvalConfig
from tests.standins.scorers import bert_base, roberta_large

WORDS = "the sound is great and strings broke ok fine item love this guitar very bad price".split()


def pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    pool = [" ".join(rng.choices(WORDS, k=rng.randint(1, 30))) for _ in range(n // 2)]
    cands = [rng.choice(pool) for _ in range(n)]  # texts repeated, within and across chunks
    refs = [rng.choice(pool) for _ in range(n)]
    return cands, refs


@pytest.mark.parametrize("folder", [roberta_large, bert_base])
def test_values_equal_bert_scores_own_scorer_over_chunks_and_repeated_texts(folder):
    metric = BERTScore(EvalConfig(bertscore_model=str(folder()), bertscore_num_layers=2))
    scorer = metric._scorer()
    cands, refs = pairs(2 * MATCH_BATCH + 7)
    import torch

    want = torch.stack(scorer.score(cands, refs), dim=-1)
    steps: list[int] = []
    got = score_pairs(scorer, cands, refs, EmbeddingCache(), steps.append, chunk=MATCH_BATCH)
    assert steps == [MATCH_BATCH, MATCH_BATCH, 7]  # the progress bar's steps: one per chunk
    assert got.shape == want.shape == (len(cands), 3)
    assert (got - want).abs().max().item() < 1e-5


def test_rescaled_values_equal_and_cached_texts_are_not_encoded_again(monkeypatch):
    metric = BERTScore(EvalConfig(bertscore_model=str(roberta_large())))  # layer 17, rescaled
    scorer = metric._scorer()
    assert scorer.rescale_with_baseline
    cands, refs = pairs(40, seed=1)
    import torch

    want = torch.stack(scorer.score(cands, refs), dim=-1)
    encoded: list[int] = []
    import bert_score.utils

    real = bert_score.utils.bert_encode

    def counting(model, x, attention_mask, all_layers=False):
        encoded.append(x.shape[0])
        return real(model, x, attention_mask, all_layers)

    monkeypatch.setattr(bert_score.utils, "bert_encode", counting)
    cache = EmbeddingCache()
    got = score_pairs(scorer, cands, refs, cache)
    assert (got - want).abs().max().item() < 1e-5
    assert sum(encoded) == len(set(cands) | set(refs))  # each distinct text once
    encoded.clear()
    again = score_pairs(scorer, refs, cands, cache)  # the same texts, other pairs
    assert encoded == []
    assert (again - torch.stack(scorer.score(refs, cands), dim=-1)).abs().max().item() < 1e-5


def test_cache_drops_its_oldest_rows_past_its_size():
    import torch

    cache = EmbeddingCache(max_floats=10)
    cache.put("a", torch.zeros(2, 3), torch.zeros(2))
    cache.put("b", torch.zeros(2, 3), torch.zeros(2))
    assert "a" not in cache and "b" in cache
