"""XRec end to end on a tiny random Llama (fast): stages, frozen LLM, learning, resume, ablations."""

from __future__ import annotations

import json

import pytest
import torch

from bench.api.errors import ConfigError
from bench.api.run_folder import RunContext
from bench.config import RunConfig, build_dataclass
from tests.unit.currrl_fixtures import synthetic_splits

pytestmark = pytest.mark.usefixtures("one_thread")


def _params(**kw):
    from methods.xrec.method import Params

    base = dict(backbone="tiny-random", lightgcn_dim=8, lightgcn_layers=2, lightgcn_epochs=2, experts=2,
                epochs=2, batch_size=4, lr=1e-2, valid_records=4, max_new_tokens=4, predict_batch_size=4)  # fmt: skip
    return Params(**{**base, **kw})


def _run(folder, resume=False):
    return RunContext(folder, RunConfig(method="xrec", dataset="amazon-instruments", device="cpu"), resume=resume, quiet=True)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    from methods.xrec.method import XRec

    folder = tmp_path_factory.mktemp("xrec")
    method = XRec(_params(), _run(folder))
    method._load_backbone()
    llm_before = {k: v.clone() for k, v in method.backbone.model.state_dict().items()}
    splits = synthetic_splits(24)
    method.fit(splits)
    return method, splits, folder, llm_before


def test_stages_checkpointed_and_logged(fitted):
    method, _, folder, _ = fitted
    assert method.run.stages_run == ["lightgcn", "adapter"]
    tensors = torch.load(folder / "stages/lightgcn/embeddings.pt", weights_only=True)
    ids = json.loads((folder / "stages/lightgcn/embedding_ids.json").read_text())
    assert tensors["users"].shape == (len(ids["users"]) + 1, 8) and tensors["users"][-1].abs().sum() == 0
    assert (folder / "stages/adapter/best.pt").exists()
    rows = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    assert any("valid_recall@10" in r for r in rows if r["stage"] == "lightgcn")
    adapter = [r for r in rows if r["stage"] == "adapter"]
    assert "untrained_valid_loss" in adapter[0] and all("valid_loss" in r for r in adapter[1:])


def test_only_the_adapters_train(fitted):
    from methods.xrec.adapter import CollaborativeAdapters

    method, _, _, llm_before = fitted
    llm = method.backbone.model
    assert not any(p.requires_grad for p in llm.parameters())
    after = llm.state_dict()
    assert all(torch.equal(after[k], v) for k, v in llm_before.items())  # the LLM's weights never change
    with torch.random.fork_rng():  # the initial adapters, rebuilt the way the method builds them
        torch.manual_seed(method.run.seed)
        initial = CollaborativeAdapters(8, method.explainer.hidden_size, 2)
    moved = [name for name, p in method.adapters.named_parameters() if not torch.equal(p, initial.state_dict()[name])]
    assert any(n.startswith("user.experts") for n in moved) and any(n.startswith("item.experts") for n in moved)
    assert any(n.endswith("gate") for n in moved)


def test_predict_and_resume_reloads_every_stage(fitted):
    from methods.xrec.method import XRec

    method, splits, folder, _ = fitted
    first = method.predict(splits.test)
    assert len(first) == len(splits.test) and all(isinstance(p.explanation, str) for p in first)
    again = XRec(_params(), _run(folder, resume=True))
    again.fit(splits)
    assert again.run.stages_reused == ["lightgcn", "adapter"] and again.run.stages_run == []
    assert [p.explanation for p in again.predict(splits.test)] == [p.explanation for p in first]
    assert all(torch.equal(a, b) for a, b in zip(again.adapters.state_dict().values(), method.adapters.state_dict().values(), strict=True))


def test_explanation_loss_falls_and_gradients_reach_only_the_adapters():
    """On a random Llama whose outputs respond to its inputs (weights ~N(0, 0.2)), 30 Adam steps
    of the adapters lower the explanation loss of 8 records by more than 1 nat."""
    from bench.adapters.torch_loop import train_step
    from bench.backbones.hf import prepare_tokenizer
    from bench.backbones.tiny import tiny_random_llama
    from methods.explanation_prompt import PromptSpec
    from methods.xrec.adapter import CollaborativeAdapters
    from methods.xrec.collaborative import EmbeddingTables
    from methods.xrec.examples import encode
    from methods.xrec.explainer import Explainer

    model, tokenizer = tiny_random_llama(initializer_range=0.2)
    prepare_tokenizer(tokenizer)
    records = synthetic_splits(24).train[:8]
    torch.manual_seed(0)
    tables = EmbeddingTables.from_rows(
        sorted({r.user_id for r in records}), torch.randn(5, 8), sorted({r.item_id for r in records}), torch.randn(8, 8)
    )
    batch = encode(records, tokenizer, PromptSpec(), tables.rows, with_target=True)
    explainer = Explainer(model, tokenizer, "hidden", tables.users, tables.items)
    adapters = CollaborativeAdapters(8, explainer.hidden_size, experts=2)
    optimizer = torch.optim.Adam(adapters.parameters(), lr=0.05)
    losses = [train_step(adapters, batch, explainer.loss, optimizer, None)["loss"] for _ in range(30)]
    assert losses[-1] < losses[0] - 1.0
    assert all(p.grad is None for p in model.parameters())


def test_ablation_without_embeddings_has_no_lightgcn_stage(tmp_path):
    from methods.xrec.method import XRec

    method = XRec(_params(use_embeddings=False, use_profiles=False, injection="input", epochs=1), _run(tmp_path))
    splits = synthetic_splits(16)
    method.fit(splits)
    assert method.run.stages_run == ["adapter"]
    assert method.tables.users.shape == (1, 8) and method.tables.users.abs().sum() == 0
    assert method.prompt_spec.use_profiles is False and method.explainer.injector.targets == []
    assert len(method.predict(splits.test)) == len(splits.test)



def test_qkv_grouped_trains_and_explains_on_a_grouped_query_backbone(tmp_path):
    from methods.xrec.method import XRec

    method = XRec(_params(injection="qkv_grouped", epochs=1), _run(tmp_path))  # tiny-random: 4 heads, 2 kv heads
    splits = synthetic_splits(16)
    method.fit(splits)
    model = method.backbone.model
    assert model.config.num_key_value_heads < model.config.num_attention_heads
    assert len(method.explainer.injector.targets) == 3 * model.config.num_hidden_layers
    rows = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert any("valid_loss" in r for r in rows if r["stage"] == "adapter")
    assert len(method.predict(splits.test)) == len(splits.test)

@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("injection", "everywhere", "config key 'model.injection' expects one of 'hidden', 'hidden_add', 'qkv', 'qkv_grouped', 'input'"),
        ("experts", 0, "model.experts must be >= 1"),
        ("train_records", 0, "model.train_records must be >= 1 or null"),
        ("adapter_dropout", 1.0, "model.adapter_dropout must be in [0, 1)"),
    ],
)
def test_bad_settings_are_one_line_config_errors(key, value, message):
    from methods.xrec.method import Params

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        build_dataclass(Params, {key: value}, "model")


def test_lightgcn_tables_are_xrecs_layer_sum():
    from methods.xrec.collaborative import EmbeddingTables, layer_sum

    layers = [torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 0.0]]), torch.tensor([[2.0, 4.0]])]
    mean = torch.stack(layers).mean(dim=0)  # RecBole: mean over the L+1 = 3 layer embeddings
    assert layer_sum(mean, 2).tolist() == [[6.0, 6.0]]  # XRec: their sum
    tables = EmbeddingTables.from_rows(["u"], torch.ones(1, 2), ["i"], torch.ones(1, 2))
    from bench.api.records import Record

    assert tables.rows(Record(user_id="u", item_id="i")) == (0, 0)
    assert tables.rows(Record(user_id="new", item_id="other")) == (1, 1)  # the zero row


def test_generation_starts_where_the_training_forward_points():
    """Left-padded prompts of different lengths: generate's first greedy token is the argmax of
    the training-time forward with the vectors (which change it: see the last line)."""
    from bench.backbones.hf import prepare_tokenizer
    from bench.backbones.tiny import tiny_random_llama
    from methods.explanation_prompt import PromptSpec
    from methods.xrec.adapter import CollaborativeAdapters
    from methods.xrec.collaborative import EmbeddingTables
    from methods.xrec.examples import encode
    from methods.xrec.explainer import Explainer, GenerationSettings, position_ids

    model, tokenizer = tiny_random_llama(initializer_range=0.2)
    prepare_tokenizer(tokenizer)
    records = synthetic_splits(24).train[:3]
    records[1].user_profile = "a much longer profile " * 5
    torch.manual_seed(0)
    tables = EmbeddingTables.from_rows([r.user_id for r in records], torch.randn(3, 8), [r.item_id for r in records], torch.randn(3, 8))
    batch = encode(records, tokenizer, PromptSpec(), tables.rows, with_target=False)
    explainer = Explainer(model, tokenizer, "hidden", tables.users, tables.items)
    adapters = CollaborativeAdapters(8, explainer.hidden_size, experts=2).eval()
    for parameter in adapters.parameters():  # vectors large enough to move the next token
        torch.nn.init.normal_(parameter, std=1.0)
    batch_, embeds, vectors = explainer._inputs(adapters, batch)
    mask = batch_["attention_mask"]
    with torch.no_grad(), explainer.injector.active(batch_["slots"], vectors, embeds.shape[1]):
        logits = model(inputs_embeds=embeds, attention_mask=mask, position_ids=position_ids(mask)).logits[:, -1]
    expected = [tokenizer.decode([i], skip_special_tokens=True).strip() for i in logits.argmax(-1).tolist()]
    assert explainer.generate(adapters, batch, GenerationSettings(max_new_tokens=1)) == expected
    with torch.no_grad():  # the same prompts without the collaborative vectors answer otherwise
        plain = model(input_ids=batch_["input_ids"], attention_mask=mask, position_ids=position_ids(mask)).logits[:, -1]
    assert plain.argmax(-1).tolist() != logits.argmax(-1).tolist()


def test_no_training_explanations_is_one_line(tmp_path):
    from bench.api.errors import BenchError
    from bench.api.records import Splits
    from methods.xrec.method import XRec

    splits = synthetic_splits(16)
    only_test = Splits(train=[], valid=[], test=splits.test)  # e.g. XRec's test.jsonl alone
    with pytest.raises(BenchError, match="has none in its train split"):
        XRec(_params(), _run(tmp_path)).fit(only_test)


def test_decoding_checkpoint_decodes_with_the_checkpoints_generation_config(fitted, monkeypatch):
    # XRec calls generate() without decoding arguments: the checkpoint's generation_config.json
    # decides (Llama-2-7b-chat: sampling, temperature 0.6, top_p 0.9); erbench's default is greedy
    import dataclasses

    from transformers import GenerationConfig

    from methods.xrec.explainer import from_generation_config
    from tests.standins.llms import for_checkpoint

    llama2 = GenerationConfig.from_pretrained(for_checkpoint("meta-llama/Llama-2-7b-chat-hf"))
    settings = from_generation_config(llama2, 128)
    assert (settings.do_sample, settings.temperature, settings.top_p) == (True, 0.6, 0.9)
    method, splits, _, _ = fitted
    seen = []
    monkeypatch.setattr(method.explainer, "generate", lambda adapters, batch, s: seen.append(s) or
                        [""] * len(batch["input_ids"]))  # fmt: skip
    monkeypatch.setattr(method.explainer.model, "generation_config", llama2)
    method.predict(splits.test[:2])
    assert not seen[-1].do_sample  # default: greedy, as before
    monkeypatch.setattr(method, "params", dataclasses.replace(method.params, decoding="checkpoint"))
    method.predict(splits.test[:2])
    assert (seen[-1].do_sample, seen[-1].temperature, seen[-1].top_p) == (True, 0.6, 0.9)


def test_paper_profile_decodes_and_early_stops_as_xrec_and_cpu_run_ids_stay():
    import dataclasses

    from bench.adapters.recbole_config import RecBoleSettings, recbole_config_dict
    from bench.config import config_hash, resolve

    paper = resolve("xrec", "amazon-instruments", profile="paper")
    assert paper.model["decoding"] == "checkpoint" and paper.model["lightgcn_valid_topk"] == 20
    files = type("Files", (), {"data_path": "/tmp/x", "with_neg_history": False})()
    cfg = recbole_config_dict(RecBoleSettings("LightGCN", valid_topk=20), files)
    assert cfg["topk"] == [20] and cfg["valid_metric"] == "recall@20"
    # the new keys unset leave a cpu run's id as it was (the hash drops them while None)
    cpu = resolve("xrec", "amazon-instruments", profile="cpu")
    with_keys = dataclasses.replace(cpu, model={**cpu.model, "decoding": None, "lightgcn_valid_topk": None})
    assert config_hash(with_keys) == config_hash(cpu)


def test_negatives_once_keeps_each_interactions_negative_across_epochs():
    import numpy as np
    import torch

    from bench.adapters.recbole import NegativesOnce

    calls = []

    def draw(users, items, num):  # RecBole's layout: `num` blocks of len(users) ids
        calls.append(len(users))
        return torch.arange(len(users) * num) + 100 * len(calls)

    once = NegativesOnce(draw)
    first = once(np.array([1, 2, 3]), np.array([7, 8, 9]), 2)
    again = once(np.array([3, 1]), np.array([9, 7]), 2)  # another epoch, shuffled
    assert first.tolist() == [100, 101, 102, 103, 104, 105]  # block 0 then block 1
    assert again.tolist() == [102, 100, 105, 103] and calls == [3]  # the same draws, not redrawn


def test_lightgcn_negatives_once_trains(tmp_path):
    from methods.xrec.collaborative import LightGCNSettings, train_lightgcn

    settings = LightGCNSettings(dim=8, layers=2, epochs=2, batch_size=64, negatives="once", valid_topk=5)
    tables = train_lightgcn(synthetic_splits(24), settings, tmp_path)
    assert tables.users.shape[1] == 8
