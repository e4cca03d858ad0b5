"""The adapted vectors reach every decoder layer of a frozen HF causal LM (methods/xrec/injection.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from bench.api.errors import BenchError
from methods.xrec.injection import Injector, decoder_layers, place

pytestmark = pytest.mark.usefixtures("one_thread")


def _llama(**overrides):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
        num_key_value_heads=overrides.pop("num_key_value_heads", 2), max_position_embeddings=64,
    )  # fmt: skip
    torch.manual_seed(0)
    return LlamaForCausalLM(config).eval()


def _inputs(model, batch=2, length=7):
    torch.manual_seed(1)
    ids = torch.randint(0, 97, (batch, length))
    positions = torch.tensor([[1, 4], [2, 5]])[:batch]
    vectors = torch.randn(batch, 2, model.config.hidden_size)
    return ids, positions, vectors


def _probe(targets, seen, pre=True):
    """Hooks registered after the injector's, so they see what it left."""
    handles = []
    for index, target in enumerate(targets):
        if pre:
            handles.append(target.register_forward_pre_hook(lambda m, a, k, i=index: seen.__setitem__(i, a[0] if a else k["hidden_states"]), with_kwargs=True))  # noqa: E501
        else:
            handles.append(target.register_forward_hook(lambda m, a, out, i=index: seen.__setitem__(i, (a[0], out))))
    return handles


def test_place_sets_or_adds_rows_and_follows_beams():
    states = torch.zeros(4, 3, 2)
    positions = torch.tensor([[0], [2]])
    vectors = torch.tensor([[[1.0, 2.0]], [[3.0, 4.0]]])
    out = place(states, positions, vectors)  # 4 rows = 2 prompts x 2 beams
    assert out[0, 0].tolist() == [1.0, 2.0] and out[1, 0].tolist() == [1.0, 2.0]
    assert out[2, 2].tolist() == [3.0, 4.0] and out[3, 2].tolist() == [3.0, 4.0]
    assert out.abs().sum().item() == 2 * (3 + 7)  # nothing else touched
    added = place(torch.ones(2, 3, 2), positions, vectors, add=True)
    assert added[0, 0].tolist() == [2.0, 3.0] and added[1, 2].tolist() == [4.0, 5.0] and added[0, 1].tolist() == [1.0, 1.0]
    assert states.abs().sum().item() == 0  # out of place


def test_hidden_injection_reaches_every_layer():
    model = _llama()
    ids, positions, vectors = _inputs(model)
    layers = decoder_layers(model)
    assert len(layers) == model.config.num_hidden_layers == 3
    injector = Injector(model, "hidden")
    seen: dict[int, torch.Tensor] = {}
    with injector.active(positions, vectors, ids.shape[1]):
        handles = _probe(layers, seen)
        model(input_ids=ids)
        for handle in handles:
            handle.remove()
    rows = torch.arange(2).unsqueeze(1)
    for index in range(3):  # each layer's input at the placeholder positions is the adapted vector
        assert torch.allclose(seen[index][rows, positions], vectors), f"layer {index}"
    assert all(not layer._forward_pre_hooks for layer in layers)  # removed after the block


def test_layers_after_the_first_see_the_vector_only_with_injection():
    model = _llama()
    ids, positions, vectors = _inputs(model)
    embeds = place(model.get_input_embeddings()(ids), positions, vectors)  # the input layer, every mode
    rows = torch.arange(2).unsqueeze(1)
    outputs = {}
    for mode in ("input", "hidden"):
        seen: dict[int, torch.Tensor] = {}
        with Injector(model, mode).active(positions, vectors, ids.shape[1]):
            handles = _probe(decoder_layers(model), seen)
            outputs[mode] = model(inputs_embeds=embeds).logits
            for handle in handles:
                handle.remove()
        assert torch.allclose(seen[0][rows, positions], vectors)
        assert torch.allclose(seen[2][rows, positions], vectors) == (mode == "hidden")
    assert not torch.allclose(outputs["input"], outputs["hidden"])


def test_qkv_injection_adds_the_vector_to_every_projection():
    model = _llama(num_key_value_heads=4)  # q, k and v all hidden-size wide, as in Llama-2-7b
    ids, positions, vectors = _inputs(model)
    injector = Injector(model, "qkv")
    assert len(injector.targets) == 3 * 3
    seen: dict[int, tuple] = {}
    with injector.active(positions, vectors, ids.shape[1]):
        handles = _probe(injector.targets, seen, pre=False)
        model(input_ids=ids)
        for handle in handles:
            handle.remove()
    rows = torch.arange(2).unsqueeze(1)
    for index, projection in enumerate(injector.targets):
        layer_input, output = seen[index]
        plain = F.linear(layer_input, projection.weight)
        expected = plain.clone()
        expected[rows, positions] += vectors
        assert torch.allclose(output, expected, atol=1e-6), f"projection {index}"


def test_qkv_is_refused_for_grouped_query_attention():
    with pytest.raises(BenchError, match=r"grouped-query attention\): use model.injection=hidden"):
        Injector(_llama(num_key_value_heads=2), "qkv")


def test_decode_steps_are_left_alone():
    model = _llama()
    ids, positions, vectors = _inputs(model)
    plain = model(input_ids=ids).logits
    with Injector(model, "hidden").active(positions, vectors, ids.shape[1] + 5):  # other length
        assert torch.allclose(model(input_ids=ids).logits, plain)
    with pytest.raises(BenchError, match="model.injection must be one of"):
        Injector(model, "everywhere")
