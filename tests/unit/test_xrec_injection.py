"""The adapted vectors reach every decoder layer of a frozen HF causal LM (methods/xrec/injection.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from bench.api.errors import BenchError
from methods.xrec.injection import Injector, decoder_layers, group_mean, place

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


def _projections_seen(model, injector, ids, positions, vectors) -> dict[int, tuple]:
    """(input, output) of each of the injector's targets in one injected pass."""
    seen: dict[int, tuple] = {}
    with injector.active(positions, vectors, ids.shape[1]):
        handles = _probe(injector.targets, seen, pre=False)
        model(input_ids=ids)
        for handle in handles:
            handle.remove()
    return seen


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
    seen = _projections_seen(model, injector, ids, positions, vectors)
    rows = torch.arange(2).unsqueeze(1)
    for index, projection in enumerate(injector.targets):
        layer_input, output = seen[index]
        plain = F.linear(layer_input, projection.weight)
        expected = plain.clone()
        expected[rows, positions] += vectors
        assert torch.allclose(output, expected, atol=1e-6), f"projection {index}"


def test_qkv_is_refused_for_grouped_query_attention():
    with pytest.raises(BenchError, match=r"grouped-query attention\): use model.injection=qkv_grouped or hidden"):
        Injector(_llama(num_key_value_heads=2), "qkv")


def test_decode_steps_are_left_alone():
    model = _llama()
    ids, positions, vectors = _inputs(model)
    plain = model(input_ids=ids).logits
    with Injector(model, "hidden").active(positions, vectors, ids.shape[1] + 5):  # other length
        assert torch.allclose(model(input_ids=ids).logits, plain)
    with pytest.raises(BenchError, match="model.injection must be one of"):
        Injector(model, "everywhere")


def _qwen2(**overrides):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, **overrides,
    )  # fmt: skip
    torch.manual_seed(0)
    return Qwen2ForCausalLM(config).eval()


def test_group_mean_averages_the_query_heads_of_each_kv_head():
    vector = torch.arange(8.0).reshape(1, 8)  # 4 query heads of width 2: [0,1] [2,3] [4,5] [6,7]
    assert group_mean(vector, heads=4, kv_heads=2).tolist() == [[1.0, 2.0, 5.0, 6.0]]
    assert group_mean(vector, heads=4, kv_heads=1).tolist() == [[3.0, 4.0]]
    assert torch.equal(group_mean(vector, heads=4, kv_heads=4), vector)


@pytest.mark.parametrize("build", [_llama, _qwen2], ids=["llama", "qwen2"])
def test_qkv_grouped_adds_the_vector_to_q_and_its_group_means_to_k_and_v(build):
    model = build()  # 4 query heads, 2 kv heads of width 8: k/v are 16 wide, q 32 (Qwen2: with biases)
    ids, positions, vectors = _inputs(model)
    injector = Injector(model, "qkv_grouped")
    assert len(injector.targets) == 3 * model.config.num_hidden_layers
    seen = _projections_seen(model, injector, ids, positions, vectors)
    rows = torch.arange(2).unsqueeze(1)
    # by hand: kv head g gets the mean of the vector's slices of query heads 2g and 2g + 1
    halves = vectors.reshape(2, 2, 4, 8)
    kv_vector = torch.cat([(halves[..., 0, :] + halves[..., 1, :]) / 2, (halves[..., 2, :] + halves[..., 3, :]) / 2], dim=-1)
    for index, projection in enumerate(injector.targets):
        layer_input, output = seen[index]
        expected = F.linear(layer_input, projection.weight, projection.bias)
        added = vectors if index % 3 == 0 else kv_vector  # q_proj, k_proj, v_proj in turn
        assert output.shape[-1] == (32 if index % 3 == 0 else 16)
        expected[rows, positions] += added
        assert torch.allclose(output, expected, atol=1e-6), f"projection {index}"


def test_qkv_grouped_is_qkv_when_every_query_head_has_its_own_kv_head():
    model = _llama(num_key_value_heads=4)
    ids, positions, vectors = _inputs(model)
    logits = {}
    for mode in ("qkv", "qkv_grouped"):
        with Injector(model, mode).active(positions, vectors, ids.shape[1]):
            logits[mode] = model(input_ids=ids).logits
    assert torch.equal(logits["qkv"], logits["qkv_grouped"])
    assert not torch.allclose(logits["qkv"], model(input_ids=ids).logits)


def test_hidden_add_adds_the_vector_to_every_later_layers_input_at_the_slots_only():
    model = _llama()
    ids, positions, vectors = _inputs(model)
    layers = decoder_layers(model)
    injector = Injector(model, "hidden_add")
    assert injector.targets == list(layers)[1:]  # the first layer's input is the placeholder embedding
    inputs: dict[int, torch.Tensor] = {}
    outputs: dict[int, tuple] = {}
    with injector.active(positions, vectors, ids.shape[1]):
        handles = _probe(layers, inputs) + _probe(layers, outputs, pre=False)
        model(input_ids=ids)
        for handle in handles:
            handle.remove()
    assert torch.equal(inputs[0], model.get_input_embeddings()(ids))  # layer 0 untouched
    rows = torch.arange(2).unsqueeze(1)
    for index in (1, 2):
        before = outputs[index - 1][1]
        before = before[0] if isinstance(before, tuple) else before  # the previous layer's output
        expected = before.clone()
        expected[rows, positions] += vectors  # h + a(x) at the two slots, nothing else
        assert torch.allclose(inputs[index], expected, atol=1e-6), f"layer {index}"
        assert not torch.allclose(inputs[index], before)


def test_qkv_grouped_refuses_query_heads_wider_than_the_hidden_state():
    model = _qwen2(head_dim=16)  # 4 heads x 16 = 64 wide q, hidden 32 (as Qwen3)
    with pytest.raises(BenchError, match="qkv_grouped needs query projections as wide as the hidden size"):
        Injector(model, "qkv_grouped")
