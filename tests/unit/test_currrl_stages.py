"""Curr-RLCER stage chaining, checkpoints and --resume on the tiny random Llama."""

import json

import pytest

from methods.currrl.method import STAGES, CurrRLCER, Params
from tests.unit.currrl_fixtures import run_context, synthetic_splits


def tiny_params(**kw):
    base = dict(
        backbone="tiny-random", stage_records=4, stage1_steps=1, stage2_steps=1, stage3_steps=1,
        dpo_steps=1, dpo_batch_size=2, max_prompt_length=160, max_completion_length=6,
        explain_max_completion_length=6, dpo_generation_max_new_tokens=6, rating_max_new_tokens=6,
        explanation_max_new_tokens=6, learning_rate=1e-2, dpo_learning_rate=1e-2, lora_r=2,
        lora_alpha=4, grpo_beta=0.0, dpo_similarity_threshold=1.1, answer_parsing="lenient",
    )  # fmt: skip
    base.update(kw)
    return Params(**base)


class FakeEncoder:
    """Bag-of-letters vectors: deterministic, instant."""

    def __call__(self, texts):
        return [[t.lower().count(c) + 1e-3 for c in "aeiost"] for t in texts]

    def similarity(self, a, b):
        from methods.currrl.rewards import cosine

        return [cosine(u, v) for u, v in zip(self(a), self(b), strict=False)]


def make_method(ctx, params):
    m = CurrRLCER(params, ctx)
    m.classifier = lambda train: (lambda texts: [4.0] * len(texts))  # eq. 7 C stubbed
    m._encoder = FakeEncoder()  # eq. 6 T stubbed (MiniLM is covered in test_currrl_rewards)
    original = m.reward_functions

    def with_signal(task, train=None):
        # a random tiny model never answers correctly: add a reward that varies within a
        # group so GRPO produces non-zero advantages and the LoRA weights move
        out = original(task, train)
        out["spread"] = lambda completions, **_: [len(str(c)) / 100 for c in completions]
        return out

    m.reward_functions = with_signal
    return m


def q_weight(model):
    return model.model.layers[0].self_attn.q_proj.weight.detach().clone()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import os

    root = tmp_path_factory.mktemp("currrl")
    os.environ.setdefault("ERBENCH_CACHE_DIR", str(root / "cache"))
    ctx = run_context(root / "run")
    m = make_method(ctx, tiny_params())
    splits = synthetic_splits()
    m._load_backbone()
    base = q_weight(m.model)
    m.fit(splits)
    return root, ctx, m, splits, base


def test_every_stage_checkpointed_and_logged(trained):
    root, ctx, m, _, base = trained
    assert ctx.stages_run == list(STAGES)
    for name in STAGES:
        folder = root / "run" / "stages" / name
        assert (folder / "DONE").exists() and (folder / "adapter" / "adapter_config.json").exists()
    rows = [json.loads(line) for line in (root / "run" / "train_log.jsonl").read_text().splitlines()]
    stages_logged = {r["stage"] for r in rows}
    assert stages_logged == set(STAGES)
    grpo = [r for r in rows if r["stage"] == "1_judgment"]
    assert {"reward_format", "reward_accuracy"} <= set(grpo[0])
    s3 = [r for r in rows if r["stage"] == "3b_explain" and "reward_length" in r]
    assert {"reward_format", "reward_length", "reward_accuracy", "reward_coherence"} <= set(s3[0])


def test_lora_weights_moved_in_every_stage(trained):
    from safetensors.torch import load_file

    root, _, m, _, base = trained
    for name in STAGES:
        tensors = load_file(str(root / "run" / "stages" / name / "adapter" / "adapter_model.safetensors"))
        lora_b = [t for k, t in tensors.items() if "lora_B" in k]
        assert lora_b and any(float(t.abs().sum()) > 0 for t in lora_b), name  # B starts at 0
    assert not q_weight(m.model).equal(base)  # merged stages changed the policy


def test_resume_reloads_all_finished_stages(trained):
    root, _, m, splits, _ = trained
    ctx2 = run_context(root / "run", resume=True)
    m2 = make_method(ctx2, tiny_params())
    m2.fit(splits)
    assert ctx2.stages_run == [] and ctx2.stages_reused == list(STAGES)
    assert q_weight(m2.model).allclose(q_weight(m.model), atol=1e-6)


def test_resume_continues_after_last_finished_stage(trained):
    root, _, m, splits, _ = trained
    (root / "run" / "stages" / "3b_explain" / "DONE").unlink()
    ctx3 = run_context(root / "run", resume=True)
    m3 = make_method(ctx3, tiny_params())
    m3.fit(splits)
    assert ctx3.stages_reused == list(STAGES[:3]) and ctx3.stages_run == ["3b_explain"]


def test_predict_fills_rating_and_explanation(trained):
    _, _, m, splits, _ = trained
    preds = m.predict(splits.test)
    assert len(preds) == len(splits.test)
    assert all(1 <= p.rating <= 5 and p.explanation is not None for p in preds)
    assert all("raw_rating" in p.extras for p in preds)


def test_ablation_without_dpo_skips_stage(tmp_path):
    ctx = run_context(tmp_path / "run")
    m = make_method(ctx, tiny_params(use_dpo=False, use_coherence_reward=False))
    assert "coherence" not in m.reward_functions("explain")
    calls = []
    m._grpo = lambda stage, *a, **k: calls.append(stage)
    m._dpo = lambda *a, **k: calls.append("3a_dpo")
    m._load_backbone = lambda: None
    m.fit(synthetic_splits())
    assert calls == ["1_judgment", "2_choose", "3b_explain"]


@pytest.mark.parametrize(("explain_lr", "expected"), [(None, 1e-2), (5e-3, 5e-3)])
def test_explain_learning_rate_applies_to_stage_3_only(tmp_path, explain_lr, expected):
    m = CurrRLCER(tiny_params(explain_learning_rate=explain_lr), run_context(tmp_path / "run"))
    lrs = {task: m._grpo_settings(task, None, 4, 6).learning_rate for task in ("judgment", "choose", "explain")}
    assert lrs == {"judgment": 1e-2, "choose": 1e-2, "explain": expected}
