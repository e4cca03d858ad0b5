"""bench.backbones: tiny random Llama, batched left-padded generation, LoRA merge/reload,
and the race-safe cache publish of the embedded SmolLM2 folder."""

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from bench.backbones import load_backbone

    return load_backbone("tiny-random", device="cpu", cache_dir=tmp_path_factory.getbasetemp() / "cache")


def test_tiny_backbone_shape(tiny):
    d = tiny.describe()
    assert d["mode"] == "tiny-random" and d["parameters"] < 5_000_000
    assert tiny.tokenizer.padding_side == "left" and tiny.tokenizer.pad_token is not None
    assert tiny.tokenizer.chat_template  # the SmolLM2 chat template


def test_batched_generation_matches_one_by_one(tiny):
    from bench.backbones.generate import generate

    prompts = ["hi", "a much longer prompt about guitar strings and tone"]
    batched = generate(tiny.model, tiny.tokenizer, prompts, max_new_tokens=5, batch_size=2)
    single = [generate(tiny.model, tiny.tokenizer, [p], max_new_tokens=5)[0] for p in prompts]
    assert batched == single


def test_lora_save_apply_merge_roundtrip(tiny, tmp_path):
    import torch

    from bench.backbones.lora import add_lora, apply_lora_dir, lora_config, merge_lora
    from bench.backbones.tiny import tiny_random_llama

    model, _ = tiny_random_llama(cache_dir=tmp_path / "cache", seed=1)
    base_q = model.model.layers[0].self_attn.q_proj.weight.detach().clone()
    peft_model = add_lora(model, lora_config(r=2, alpha=4))
    with torch.no_grad():
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.fill_(0.01)
    peft_model.save_pretrained(str(tmp_path / "adapter"))
    merged = merge_lora(peft_model).model.layers[0].self_attn.q_proj.weight.detach().clone()
    assert not torch.allclose(merged, base_q)
    fresh, _ = tiny_random_llama(cache_dir=tmp_path / "cache", seed=1)
    reloaded = apply_lora_dir(fresh, tmp_path / "adapter")
    assert torch.allclose(reloaded.model.layers[0].self_attn.q_proj.weight, merged, atol=1e-6)


def test_publish_keeps_the_first_complete_copy(tmp_path):
    from bench.backbones.embedded import _publish

    final = tmp_path / "model"
    first, second = tmp_path / ".a", tmp_path / ".b"
    for d, tag in ((first, "a"), (second, "b")):
        d.mkdir()
        (d / "WHO").write_text(tag)
        (d / "READY").write_text("ok")
    _publish(first, final)
    _publish(second, final)  # lost the race: discarded
    assert (final / "WHO").read_text() == "a" and not second.exists()
    stale = tmp_path / "stale"
    stale.mkdir()  # incomplete folder (no READY) is replaced
    third = tmp_path / ".c"
    third.mkdir()
    (third / "READY").write_text("ok")
    _publish(third, stale)
    assert (stale / "READY").exists()


def test_unknown_local_path_fails_cleanly(tmp_path):
    from bench.backbones import load_backbone

    with pytest.raises((OSError, ValueError)):
        load_backbone(str(tmp_path / "nope"), device="cpu")


@pytest.mark.slow
def test_embedded_smollm2_loads_and_chats():
    """Converts the GGUF once (~2 min cold, cached after) and generates a short answer."""
    from bench.backbones import load_backbone
    from bench.backbones.generate import generate

    bb = load_backbone("embedded", device="cpu")
    assert bb.mode == "embedded" and 134_000_000 < bb.describe()["parameters"] < 135_000_000
    assert Path(bb.source, "READY").exists()
    out = generate(bb.model, bb.tokenizer, ["What is 2+2?"], max_new_tokens=12)
    assert "4" in out[0]
