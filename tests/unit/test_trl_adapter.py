"""bench.adapters.trl: CPU-safe configs, version pin, experimental imports, and real GRPO /
DPO / SFT / ORPO steps on the tiny random Llama that move the LoRA weights."""

import pytest

from bench.adapters import trl as A
from bench.api.errors import ConfigError


def test_configs_are_cpu_safe(tmp_path):
    g = A.grpo_config(A.GRPOSettings(max_steps=1, per_device_train_batch_size=4, device="cpu"), tmp_path)
    assert g.bf16 is False and g.use_cpu is True
    assert g.num_generations == 4 and g.max_completion_length == 64 and g.save_strategy == "no"
    d = A.dpo_config(A.DPOSettings(max_steps=1, device="cpu"), tmp_path)
    assert d.bf16 is False and d.use_cpu is True and d.beta == 0.1


def test_grpo_batch_must_hold_whole_groups(tmp_path):
    with pytest.raises(ConfigError, match="multiple of num_generations"):
        A.grpo_config(A.GRPOSettings(per_device_train_batch_size=6, num_generations=4), tmp_path)


def test_version_pin_and_trainer_hooks():
    assert A.check_trl_version() == A.TRL_VERSION
    orpo = A.experimental("orpo")
    assert hasattr(orpo, "ORPOTrainer") and hasattr(orpo, "ORPOConfig")
    with pytest.raises(A.TRLUnsupported):
        A.experimental("no_such_trainer")


def test_completion_text_forms():
    assert A.completion_text("abc") == "abc"
    assert A.completion_text([{"role": "assistant", "content": "abc"}]) == "abc"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from bench.backbones import load_backbone

    return load_backbone("tiny-random", device="cpu", cache_dir=tmp_path_factory.getbasetemp() / "cache")


def _changed(before, after):
    return sum(float((before[k] - after[k]).abs().sum()) for k in before)


def test_grpo_step_moves_lora_and_logs_rewards(tiny, tmp_path):
    from bench.backbones.lora import add_lora, lora_config, lora_state

    model = add_lora(tiny.model, lora_config(r=4, alpha=8))
    before = lora_state(model)
    rows = [{"prompt": [{"role": "user", "content": f"say {i}"}], "target": i} for i in range(2)]
    logs = []

    def length(completions, target, **_):  # varies within a group, so advantages are non-zero
        return [len(A.completion_text(c)) / 10 for c in completions]

    trained = A.train_grpo(
        model, tiny.tokenizer, rows, {"length": length},
        A.GRPOSettings(max_steps=1, per_device_train_batch_size=4, num_generations=4,
                       max_completion_length=6, learning_rate=1e-2, device="cpu"),
        tmp_path, log_fn=lambda step, scalars: logs.append((step, scalars)),
    )  # fmt: skip
    assert _changed(before, lora_state(trained)) > 0
    assert logs and logs[0][0] == 1 and "rewards.length.mean" in logs[0][1]
    trained.unload()  # restore the shared tiny model


def test_dpo_step_moves_lora(tiny, tmp_path):
    from bench.backbones.lora import add_lora, lora_config, lora_state

    model = add_lora(tiny.model, lora_config(r=4, alpha=8))
    before = lora_state(model)
    rows = [{
        "prompt": [{"role": "user", "content": "why?"}],
        "chosen": [{"role": "assistant", "content": "great tone"}],
        "rejected": [{"role": "assistant", "content": "it broke"}],
    }] * 2  # fmt: skip
    trained = A.train_dpo(
        model, tiny.tokenizer, rows,
        A.DPOSettings(max_steps=1, per_device_train_batch_size=2, learning_rate=1e-2, device="cpu"),
        tmp_path,
    )  # fmt: skip
    assert _changed(before, lora_state(trained)) > 0
    trained.unload()


def _pairs():
    return [{"prompt": [{"role": "user", "content": "why?"}],
             "chosen": [{"role": "assistant", "content": "great tone"}],
             "rejected": [{"role": "assistant", "content": "it broke"}]}] * 2  # fmt: skip


def test_sft_fits_a_repeated_example(tiny, tmp_path):
    from bench.backbones.lora import add_lora, lora_config, lora_state

    model = add_lora(tiny.model, lora_config(r=4, alpha=8))
    before = lora_state(model)
    rows = [{"prompt": [{"role": "user", "content": "why?"}],
             "completion": [{"role": "assistant", "content": "great tone and it stays in tune"}]}] * 2  # fmt: skip
    logs = []
    trained = A.train_sft(
        model, tiny.tokenizer, rows,
        A.TrainSettings(max_steps=8, per_device_train_batch_size=2, learning_rate=2e-2, device="cpu"),
        tmp_path, log_fn=lambda step, scalars: logs.append(scalars), max_length=64,
    )  # fmt: skip
    losses = [s["loss"] for s in logs if "loss" in s]
    assert _changed(before, lora_state(trained)) > 0
    # the tiny random model starts near-uniform (loss ~ ln 49k); rank-4 q/v LoRA lowers it
    # slowly but surely on one repeated example (measured 10.82 -> 10.50)
    assert len(losses) == 8 and losses[-1] < losses[0] - 0.2
    trained.unload()


def test_orpo_step_moves_lora(tiny, tmp_path):
    from bench.backbones.lora import add_lora, lora_config, lora_state

    model = add_lora(tiny.model, lora_config(r=4, alpha=8))
    before = lora_state(model)
    logs = []
    trained = A.train_orpo(
        model, tiny.tokenizer, _pairs(),
        A.TrainSettings(max_steps=1, per_device_train_batch_size=2, learning_rate=1e-2, device="cpu"),
        tmp_path, max_length=64, log_fn=lambda step, scalars: logs.append(scalars),
    )  # fmt: skip
    assert _changed(before, lora_state(trained)) > 0
    assert logs and "loss" in logs[0]
    trained.unload()


def test_fused_head_scores_only_completion_positions_on_cpu(tmp_path):
    """TRL's fused LM head projects every position off Triton devices; the adapter keeps the
    compact path on CPU: the head sees only the labelled positions, the log-probs are the same."""
    import copy

    import torch
    from trl.trainer import utils as U

    from bench.backbones.tiny import tiny_random_llama

    model, _ = tiny_random_llama(tmp_path / "cache")
    model = copy.deepcopy(model)
    U.add_fused_lm_head(model)
    ids = torch.randint(0, 100, (2, 9))
    mask = torch.ones_like(ids)
    mask[1, :3] = 0  # left padding
    labels = ids.masked_fill(mask == 0, -100)
    labels[:, :-3] = -100  # the last 3 tokens are the completion
    seen = []
    apply = U._ChunkedLogProbFunction.apply

    def spy(hidden, *args):
        seen.append(hidden.shape[0])
        return apply(hidden, *args)

    U._ChunkedLogProbFunction.apply = spy
    try:
        full = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True).log_probs
        with A._completion_positions_only():
            compact = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True).log_probs
    finally:
        U._ChunkedLogProbFunction.apply = apply
    assert seen == [2 * 8, 2 * 3]  # every shifted position, then the completion tokens only
    assert U._use_triton(torch.device("cpu")) is False  # restored
    torch.testing.assert_close(compact[:, -3:], full[:, -3:])
    assert float(compact[:, :-3].detach().abs().sum()) == 0.0
