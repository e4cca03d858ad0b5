"""BARTScore math on a tiny random BART built in-process, the real load path, and unavailability."""

from __future__ import annotations

import math

import pytest
import torch

from metrics.bartscore import BARTScore, BARTScorer
from metrics.base import Batch
from metrics.checkpoint import CheckpointUnavailable, load_hf_checkpoint
from metrics.settings import EvalConfig

WORDS = "the a headphones sound great comfortable fit blender is loud noisy powerful tent".split()


def tiny_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>"]  # BART's ids: bos 0, pad 1, eos 2
    vocab = {tok: i for i, tok in enumerate(specials + WORDS)}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tk, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )


def tiny_bart(seed=0):
    from transformers import BartConfig, BartForConditionalGeneration

    torch.manual_seed(seed)
    cfg = BartConfig(
        vocab_size=len(WORDS) + 4, d_model=16, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
        decoder_ffn_dim=32, max_position_embeddings=64, bos_token_id=0, pad_token_id=1,
        eos_token_id=2, decoder_start_token_id=2, forced_eos_token_id=None,
    )
    return BartForConditionalGeneration(cfg).eval()


PREDS = ["the headphones sound great", "blender is loud", "a tent"]
REFS = ["headphones sound great comfortable fit", "the blender is noisy powerful", "the tent"]


def hand_score(model, tok, src, tgt):
    """Mean over target tokens of log softmax(logits)[token], one pair at a time, no padding."""
    src_ids = torch.tensor([tok(src)["input_ids"]])
    tgt_ids = tok(tgt)["input_ids"]  # <s> ... </s>
    dec_in = torch.tensor([[model.config.decoder_start_token_id] + tgt_ids[:-1]])
    with torch.no_grad():
        logits = model(input_ids=src_ids, decoder_input_ids=dec_in).logits[0]
    total = 0.0
    for pos, token in enumerate(tgt_ids):
        row = logits[pos].double()
        total += float(row[token] - torch.logsumexp(row, dim=0))
    return total / len(tgt_ids)


def test_score_equals_hand_computed_mean_token_logprob():
    model, tok = tiny_bart(), tiny_tokenizer()
    expected = [hand_score(model, tok, p, r) for p, r in zip(PREDS, REFS, strict=True)]
    # batch_size 2: one padded batch of two different lengths, then a batch of one
    got = BARTScorer(model, tok, batch_size=2).score(PREDS, REFS)
    assert got == pytest.approx(expected, abs=1e-5)
    assert all(s < 0 for s in got)
    # near log(1/V) for an untrained model
    assert all(abs(s - math.log(1 / model.config.vocab_size)) < 1.0 for s in got)
    # direction matters: log p(ref | pred) != log p(pred | ref)
    swapped = BARTScorer(model, tok, batch_size=2).score(REFS, PREDS)
    assert swapped != pytest.approx(got, abs=1e-4)


def test_metric_reports_mean_and_per_sample():
    model, tok = tiny_bart(), tiny_tokenizer()
    scorer = BARTScorer(model, tok, batch_size=4)
    metric = BARTScore(EvalConfig(), checkpoint="/models/bart-large-cnn", scorer=scorer)
    assert metric.available() == (True, "")
    rows = [{"explanation": p, "reference": r} for p, r in zip(PREDS, REFS, strict=True)]
    (value,) = metric.compute(Batch(rows))
    expected = [hand_score(model, tok, p, r) for p, r in zip(PREDS, REFS, strict=True)]
    assert value.name == "bartscore[bart-large-cnn]"
    assert value.per_sample == pytest.approx(expected, abs=1e-5)
    assert value.value == pytest.approx(sum(expected) / 3, abs=1e-5) and value.n == 3
    assert value.higher_is_better
    assert value.version["checkpoint"] == "/models/bart-large-cnn"
    assert value.version["direction"] == "log p(reference | prediction)"


def test_real_load_path_from_folder_and_parabank_weights(tmp_path):
    model, tok = tiny_bart(seed=0), tiny_tokenizer()
    folder = tmp_path / "bart-tiny"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    rows = [{"explanation": p, "reference": r} for p, r in zip(PREDS, REFS, strict=True)]

    metric = BARTScore(EvalConfig(bartscore_checkpoint=str(folder)), device="cpu")
    assert metric.available() == (True, "")
    (value,) = metric.compute(Batch(rows))
    assert value.name == "bartscore[bart-tiny]"
    assert value.per_sample == pytest.approx([hand_score(model, tok, p, r) for p, r in zip(PREDS, REFS, strict=True)], abs=1e-5)

    # ParaBank-style state dict on top of the base checkpoint (safe torch.load)
    other = tiny_bart(seed=1)
    weights = tmp_path / "bart_score.pth"
    torch.save(other.state_dict(), weights)
    tuned = BARTScore(EvalConfig(bartscore_checkpoint=str(folder)), weights=str(weights), device="cpu")
    (tuned_value,) = tuned.compute(Batch(rows))
    assert tuned_value.name == "bartscore[bart-tiny+parabank]"
    assert tuned_value.per_sample == pytest.approx(
        [hand_score(other, tok, p, r) for p, r in zip(PREDS, REFS, strict=True)], abs=1e-5)
    assert len(tuned_value.version["weights_sha256"]) == 64


def test_unset_checkpoint_is_unavailable():
    metric = BARTScore(EvalConfig())
    ok, reason = metric.available()
    assert not ok and "bartscore_checkpoint is unset" in reason
    assert metric.checkpoint is None
    with pytest.raises(CheckpointUnavailable):
        metric.compute(Batch([{"explanation": "a", "reference": "b"}]))


def test_missing_folder_is_unavailable(tmp_path):
    ok, reason = BARTScore(EvalConfig(bartscore_checkpoint=str(tmp_path / "nope"))).available()
    assert not ok and "does not exist" in reason
    (tmp_path / "empty").mkdir()
    ok, reason = BARTScore(EvalConfig(bartscore_checkpoint=str(tmp_path / "empty"))).available()
    assert not ok and "no config.json" in reason


def test_missing_weights_file_is_unavailable(tmp_path):
    folder = tmp_path / "bart-tiny"
    tiny_bart().save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    ok, reason = BARTScore(EvalConfig(bartscore_checkpoint=str(folder)),
                           weights=str(tmp_path / "bart_score.pth")).available()
    assert not ok and "weights file" in reason


def test_uncached_hub_id_offline_is_unavailable_fast(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    calls = []

    def load(ref, **kw):
        calls.append(kw)
        raise OSError("not cached")

    with pytest.raises(CheckpointUnavailable, match="not in the local Hugging Face cache"):
        load_hf_checkpoint("facebook/bart-large-cnn", load, "BARTScore")
    assert calls == [{"local_files_only": True}]  # the network is never tried offline
