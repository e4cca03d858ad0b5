"""BERTScore's encoder on ONNX Runtime (metrics/bertscore_onnx.py): the torch forward's values
within 1e-5 on padded batches and long texts, the export cached and reused, a corrupt cached
file exported again, torch (said once) without onnxruntime (the engine is outside the run id:
tests/unit/test_config.py). A tiny random BERT (tests/standins/scorers.py) cut to one of its
two layers, as bert_score cuts."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")

import metrics.bertscore as bertscore_module  # noqa: E402
import metrics.bertscore_onnx as onnx_module  # noqa: E402
from bench.api import notices  # noqa: E402
from metrics.bertscore import BERTScore  # noqa: E402
from metrics.bertscore_embed import EmbeddingCache, score_pairs  # noqa: E402
from metrics.settings import EvalConfig  # noqa: E402
from tests.standins.scorers import bert_base  # noqa: E402

LONG = " ".join(["the sound is great and the strings broke after one week"] * 60)  # > 512 tokens
TEXTS = [
    "great sound",
    "the strings broke after one week, very poor quality",
    LONG,
    "ok",
    "i love this book, the story and the characters are amazing " * 3,
    "zebra quixotic",  # unknown words: WordPiece falls back to characters
]


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty erbench cache dir and empty in-process caches: every test exports itself."""
    monkeypatch.setenv("ERBENCH_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("_ENCODERS", "_PAIR_CACHE", "_EMBEDDINGS"):
        monkeypatch.setattr(bertscore_module, name, {})
    monkeypatch.setattr(notices, "_SAID", set())
    exports: list[str] = []
    real = onnx_module.export

    def counting(model, target):
        exports.append(str(target))
        real(model, target)

    monkeypatch.setattr(onnx_module, "export", counting)
    return exports


def metric(engine: str = "onnx") -> BERTScore:
    return BERTScore(
        EvalConfig(
            bertscore_model=str(bert_base()), bertscore_num_layers=1, bertscore_engine=engine
        )
    )


def test_forward_and_scores_equal_torch_on_padded_batches_and_long_texts(fresh):
    import torch
    from bert_score.utils import bert_encode, padding, sent_encode

    m = metric()
    scorer = m._scorer()
    assert len(scorer._model.encoder.layer) == 1  # the export is of the cut encoder
    encoder = m._encoder(scorer)
    assert isinstance(encoder, onnx_module.OnnxEncoder)
    threads = torch.get_num_threads()
    assert encoder.session.get_session_options().intra_op_num_threads == threads
    torch.set_num_threads(threads + 1)  # the run's `threads` set later: a session that follows
    try:
        options = m._encoder(scorer).session.get_session_options()
        assert options.intra_op_num_threads == threads + 1
    finally:
        torch.set_num_threads(threads)
    assert m._encoder(scorer) is encoder and len(fresh) == 1  # the file exported once
    ids = [sent_encode(scorer._tokenizer, t) for t in TEXTS]
    assert max(len(i) for i in ids) == 512  # the long text runs at the model's limit
    padded, _, mask = padding(ids, scorer._tokenizer.pad_token_id, dtype=torch.long)
    want = bert_encode(scorer._model, padded, attention_mask=mask)
    got = encoder(padded, mask)
    assert got.dtype == torch.float32 and got.shape == want.shape
    real = mask.bool()  # padded positions are never read by the matching
    assert (got - want)[real].abs().max().item() < 1e-5
    assert (
        got[0, : len(ids[0])] - encoder(padded[:1, : len(ids[0])], mask[:1, : len(ids[0])])[0]
    ).abs().max() < 1e-5
    cands, refs = TEXTS, TEXTS[::-1]
    on_torch = score_pairs(scorer, cands, refs, EmbeddingCache())
    on_onnx = score_pairs(scorer, cands, refs, EmbeddingCache(), encoder=encoder)
    assert (on_onnx - on_torch).abs().max().item() < 1e-5
    assert (on_torch - torch.stack(scorer.score(cands, refs), dim=-1)).abs().max().item() < 1e-5


def test_the_export_is_cached_and_reused_across_processes(fresh, monkeypatch):
    m = metric()
    scorer = m._scorer()
    first = onnx_module.load_encoder(scorer._model, m.model_path, 1)
    assert len(fresh) == 1 and first.path.exists()
    stamp = first.path.stat().st_mtime_ns
    again = onnx_module.load_encoder(scorer._model, m.model_path, 1)  # a new process would
    assert len(fresh) == 1 and again.path == first.path
    assert again.path.stat().st_mtime_ns == stamp
    assert first.path.parent.name == "bertscore-onnx" and "-L1-" in first.path.name
    # another layer or another torch version is another graph, another file
    assert onnx_module.onnx_path(Path(m.model_path), 1) == first.path
    assert onnx_module.onnx_path(Path(m.model_path), 2) != first.path
    monkeypatch.setattr(onnx_module, "_versions", lambda: {"torch": "0.0"})
    assert onnx_module.onnx_path(Path(m.model_path), 1) != first.path


def test_a_corrupt_cached_file_is_exported_again(fresh, caplog):
    import torch

    m = metric()
    scorer = m._scorer()
    path = onnx_module.onnx_path(Path(m.model_path), 1)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x08\x07not an onnx graph")  # a torn copy
    with caplog.at_level(logging.WARNING):
        encoder = onnx_module.load_encoder(scorer._model, m.model_path, 1)
    assert fresh == [str(path)]
    assert "unreadable" in caplog.text and "exporting it again" in caplog.text
    ids = torch.tensor([[2, 40, 50, 3]])
    want = scorer._model(ids, attention_mask=torch.ones_like(ids))[0]
    assert (encoder(ids, torch.ones_like(ids)) - want).abs().max().item() < 1e-5


def rows():
    pairs = [("great sound", "the sound is great"), (LONG, "strings broke"), ("ok", "fine item")]
    return [{"idx": i, "explanation": c, "reference": r} for i, (c, r) in enumerate(pairs)]


def test_without_onnxruntime_the_suite_stays_on_torch_and_says_so_once(fresh, monkeypatch, caplog):
    from metrics.suite import score_rows

    def f1(engine: str) -> list[float]:
        bertscore_module._PAIR_CACHE.clear()
        cfg = EvalConfig(metrics=["bertscore_f1"], bertscore_model=str(bert_base()),
                         bertscore_num_layers=1, bertscore_engine=engine)  # fmt: skip
        return score_rows(rows(), cfg).get("bertscore_f1[bert-base-uncased,L1]").value

    on_torch = f1("torch")
    on_onnx = f1("auto")  # on the CPU in float32: ONNX Runtime
    assert len(fresh) == 1
    assert abs(on_onnx - on_torch) < 1e-5
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime fails
    bertscore_module._ENCODERS.clear()
    with caplog.at_level(logging.WARNING):
        assert abs(f1("auto") - on_torch) < 1e-5
        bertscore_module._ENCODERS.clear()
        assert abs(f1("onnx") - on_torch) < 1e-5
    said = [
        r.getMessage() for r in caplog.records if "onnxruntime is not installed" in r.getMessage()
    ]
    assert len(said) == 1 and "encoder on torch" in said[0]
    assert len(fresh) == 1  # nothing exported without onnxruntime


def test_bf16_and_torch_engines_and_an_encoder_off_the_cpu_never_load_onnx(fresh, caplog):
    from types import SimpleNamespace

    import torch

    off_cpu = SimpleNamespace(_model=torch.nn.Linear(1, 1, device="meta"))  # as on CUDA
    with caplog.at_level(logging.WARNING):
        assert metric("auto")._encoder(off_cpu) is None
    assert caplog.text == ""  # auto keeps torch off the CPU without a word
    bf16 = BERTScore(EvalConfig(bertscore_model=str(bert_base()), bertscore_num_layers=1,
                                bertscore_dtype="bfloat16"))  # fmt: skip
    assert bf16._encoder(bf16._scorer()) is None
    plain = metric("torch")
    assert plain._encoder(plain._scorer()) is None
    assert fresh == []


def test_a_cache_that_cannot_be_written_leaves_the_encoder_on_torch(
    fresh, monkeypatch, tmp_path, caplog
):
    m = metric()
    scorer = m._scorer()  # the stand-in folder is built before the cache goes bad
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("ERBENCH_CACHE_DIR", str(blocker))
    with caplog.at_level(logging.WARNING):
        assert m._encoder(scorer) is None
    assert "encoder on torch" in caplog.text and fresh == []
