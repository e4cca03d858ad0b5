"""BLEURT: shims make bleurt-pytorch import on transformers 5, the load path works on a tiny
in-process checkpoint, encoding matches google-research/bleurt, and no checkpoint = unavailable."""

from __future__ import annotations

import io
from importlib.util import find_spec

import pytest
import torch

from metrics.base import Batch
from metrics.bleurt import BLEURT, PairEncoder, bleurt_classes, install_shims, load_bleurt
from metrics.settings import EvalConfig

needs_package = pytest.mark.skipif(
    find_spec("bleurt_pytorch") is None, reason="bleurt-pytorch not installed"
)

VOCAB = "[PAD] [UNK] [CLS] [SEP] [MASK] the headphones sound great blender is loud tent".split()


def tiny_config(**kw):
    config_cls = bleurt_classes()[0]
    return config_cls(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=2,
                      num_attention_heads=2, intermediate_size=32, max_position_embeddings=32,
                      initializer_range=0.5, **kw)


def tiny_checkpoint(folder, seed=0):
    model_cls = bleurt_classes()[1]
    torch.manual_seed(seed)
    model = model_cls(tiny_config()).eval()
    model.save_pretrained(folder)
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    return model


@needs_package
def test_shims_make_bleurt_pytorch_importable():
    install_shims()
    import bleurt_pytorch
    import transformers.pytorch_utils as pu

    assert hasattr(pu, "find_pruneable_heads_and_indices")
    heads, index = pu.find_pruneable_heads_and_indices({1}, 2, 3, set())
    assert heads == {1} and index.tolist() == [0, 1, 2]
    assert bleurt_pytorch.BleurtForSequenceClassification is bleurt_classes()[1]
    assert bleurt_pytorch.BleurtTokenizer is not None


@needs_package
def test_tiny_model_forward_ignores_padding():
    model = bleurt_classes()[1](tiny_config()).eval()
    ids = torch.tensor([[2, 5, 6, 3, 9, 3, 0, 0], [2, 7, 3, 10, 11, 12, 3, 0]])
    with torch.no_grad():
        batch = model(input_ids=ids, attention_mask=(ids != 0).long()).logits
        alone = model(input_ids=ids[:1, :6], attention_mask=torch.ones(1, 6, dtype=torch.long)).logits
    assert batch.shape == (2, 1)
    assert batch[0, 0].item() == pytest.approx(alone[0, 0].item(), abs=1e-5)
    assert batch[0, 0].item() != pytest.approx(batch[1, 0].item(), abs=1e-4)


def test_wordpiece_encoding_matches_google_bleurt(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    enc = PairEncoder.wordpiece(tmp_path)
    out = enc(["the headphones sound great", "tent"], ["blender is loud", "the tent"], 32)
    assert out["input_ids"].tolist() == [[2, 5, 6, 7, 8, 3, 9, 10, 11, 3],
                                         [2, 12, 3, 5, 12, 3, 0, 0, 0, 0]]
    assert out["token_type_ids"].tolist() == [[0, 0, 0, 0, 0, 0, 1, 1, 1, 1],
                                              [0, 0, 0, 1, 1, 1, 0, 0, 0, 0]]
    assert out["attention_mask"].tolist()[1] == [1] * 6 + [0] * 4
    # truncation pops from the longer side, the candidate on ties: 4+3 tokens into 8-3=5
    ref, cand = enc.encode("the headphones sound great", "blender is loud", 8)
    assert ref == [2, 5, 6, 7, 3] and cand == [9, 10, 3]


def test_sentencepiece_encoding_keeps_dummy_prefix(tmp_path):
    spm = pytest.importorskip("sentencepiece")
    buf = io.BytesIO()
    sents = ["the headphones sound great", "the blender is loud", "a tent that is waterproof"] * 40
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sents), model_writer=buf, vocab_size=30, model_type="unigram",
        control_symbols=["[CLS]", "[SEP]", "[MASK]"], pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
        pad_piece="[PAD]", unk_piece="[UNK]", minloglevel=2,
    )
    (tmp_path / "spm.model").write_bytes(buf.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    enc = PairEncoder.sentencepiece(tmp_path / "spm.model")
    out = enc(["the headphones"], ["is loud"], 64)
    expected = [2, *sp.encode("the headphones"), 3, *sp.encode("is loud"), 3]
    assert out["input_ids"].tolist() == [expected]
    assert sp.id_to_piece(expected[1]).startswith("\u2581")  # SentencePiece's dummy prefix


@needs_package
def test_load_and_score_tiny_checkpoint(tmp_path):
    folder = tmp_path / "bleurt-tiny-test"
    model = tiny_checkpoint(folder)
    metric = BLEURT(EvalConfig(bleurt_checkpoint=str(folder)), batch_size=2, device="cpu")
    assert metric.available() == (True, "")
    refs = ["the headphones sound great", "the blender is loud", "tent"]
    preds = ["headphones sound great", "blender is loud", "the tent is great"]
    rows = [{"explanation": p, "reference": r} for p, r in zip(preds, refs, strict=True)]
    (value,) = metric.compute(Batch(rows))
    assert value.name == "bleurt[bleurt-tiny-test]" and value.n == 3
    enc = PairEncoder.wordpiece(folder)
    expected = []
    for r, p in zip(refs, preds, strict=True):  # one pair at a time, no padding, reference first
        with torch.no_grad():
            expected.append(model(**enc([r], [p], 32)).logits.item())
    assert value.per_sample == pytest.approx(expected, abs=1e-5)
    assert value.version["checkpoint"] == str(folder)
    # order matters: BLEURT is not symmetric
    swapped = load_bleurt(str(folder)).score(preds, refs)
    assert swapped != pytest.approx(value.per_sample, abs=1e-4)


def test_unset_checkpoint_is_unavailable():
    metric = BLEURT(EvalConfig())
    ok, reason = metric.available()
    assert not ok and "bleurt_checkpoint is unset" in reason and "BLEURT-20" in reason
    assert metric.checkpoint is None


@needs_package
def test_missing_checkpoint_dir_is_unavailable(tmp_path):
    ok, reason = BLEURT(EvalConfig(bleurt_checkpoint=str(tmp_path / "BLEURT-20"))).available()
    assert not ok and "does not exist" in reason and "BLEURT-20" in reason
    folder = tmp_path / "half"
    tiny_checkpoint(folder)
    (folder / "vocab.txt").unlink()
    ok, reason = BLEURT(EvalConfig(bleurt_checkpoint=str(folder))).available()
    assert not ok and "neither spm.model nor vocab.txt" in reason


def test_hub_id_offline_is_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    ok, reason = BLEURT(EvalConfig(bleurt_checkpoint="lucadiliello/BLEURT-20")).available()
    assert not ok and "lucadiliello/BLEURT-20" in reason and "offline" in reason


def test_missing_package_is_unavailable(monkeypatch, tmp_path):
    import metrics.bleurt as mod

    real = mod.importlib.util.find_spec
    monkeypatch.setattr(mod.importlib.util, "find_spec",
                        lambda name, *a: None if name == "bleurt_pytorch" else real(name, *a))
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    ok, reason = BLEURT(EvalConfig(bleurt_checkpoint=str(tmp_path)), device="cpu").available()
    assert not ok and "pip install bleurt-pytorch" in reason


def test_specs_bleurt_columns_name_the_checkpoint_the_metric_reports():
    # the papers' BLEURT columns are official for bleurt-base-128 (metrics/bleurt.py docstring);
    # a BLEURT-20 score is another number and reports under another name
    from pathlib import Path

    from leaderboards.spec import load_spec_file
    from metrics.bleurt import PAPERS_CHECKPOINT

    assert PAPERS_CHECKPOINT == "bleurt-base-128"
    papers = BLEURT(EvalConfig(bleurt_checkpoint=f"/models/{PAPERS_CHECKPOINT}/")).reported_names()
    assert papers == ["bleurt[bleurt-base-128]"]
    assert BLEURT(EvalConfig(bleurt_checkpoint="lucadiliello/BLEURT-20")).reported_names() == ["bleurt[BLEURT-20]"]
    columns = [
        col
        for path in sorted((Path(__file__).parents[2] / "leaderboards" / "specs").glob("*.yaml"))
        for col in load_spec_file(path).columns
        if col.metric in ("bleurt", "bleurt_std")
    ]
    assert len(columns) == 3  # currrl-table2: BLEURT and BLEURT std; currrl-fig2: BLEURT
    assert {col.stored_name for col in columns} == {"bleurt[bleurt-base-128]", "bleurt_std[bleurt-base-128]"}
