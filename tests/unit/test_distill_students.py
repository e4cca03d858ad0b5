"""The SFT and ORPO student stages of the RLAIF pipeline on the tiny random Llama.

`train_student` (the stages' training function) moves the LoRA weights and lowers the loss of
SFT and ORPO on rows built from recommendation contexts; the methods run the whole chain
(ItemKNN -> contexts -> template teacher -> rule judge -> TRL + LoRA) as stages, and a resumed
run reloads every stage and predicts the same explanations. The tiny model's 49k-token output
layer dominates the cost of a step, so prompts stay short here."""

import json

import pytest

from bench.api.records import Record, Splits
from bench.api.run_folder import RunContext
from bench.config import RunConfig

pytest.importorskip("trl")
pytest.importorskip("recbole")

TITLES = {f"i{k}": f"Movie {chr(65 + k)} ({1980 + k})" for k in range(8)}
LIKED = {"u0": [0, 1, 2], "u1": [0, 1, 3], "u2": [1, 2, 3], "u3": [2, 3, 4], "u4": [0, 4, 5], "u5": [3, 5, 6]}


def _splits():
    train, test = [], []
    for user, items in LIKED.items():
        for k in items:
            train.append(Record(user_id=user, item_id=f"i{k}", rating=5.0, label=1, title=TITLES[f"i{k}"]))
        held = f"i{(items[-1] + 2) % 8}"
        test.append(Record(user_id=user, item_id=held, rating=4.0, label=1, title=TITLES[held]))
    return Splits(train=train, valid=[], test=test)


COMMON = dict(
    backbone="tiny-random", kg="none", train_recommendations=6, recommendations_per_user=2,
    neighbours=2, paths_kept=1, batch_size=2, learning_rate=2e-2, lora_r=4, lora_alpha=8,
    lora_dropout=0.0, max_length=384, max_new_tokens=4, predict_batch_size=4, steps=1,
)  # fmt: skip


def _run(tmp_path, method, params):
    cfg = RunConfig(method=method, dataset="ml-100k", seed=0, threads=1)
    return RunContext(tmp_path / method, cfg, quiet=True)


def _losses(run_dir, stage):
    rows = [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if r["stage"] == stage and "loss" in r]


def _lora_b_norm(adapter_dir):
    from safetensors.torch import load_file

    tensors = load_file(str(adapter_dir / "adapter_model.safetensors"))
    return sum(float(t.abs().sum()) for name, t in tensors.items() if "lora_B" in name)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from bench.backbones import load_backbone

    return load_backbone("tiny-random", device="cpu")  # the user cache: the tokenizer is converted once


def _contexts():
    from methods.distill.context import NeighbourFact, RecommendationContext

    return [
        RecommendationContext("u1", "r1", "Heat (1995)", ("Crime",), neighbours=(NeighbourFact("m1", "Casino (1995)", 0.4),)),
        RecommendationContext("u2", "r2", "Up (2009)", ("Animation",), neighbours=(NeighbourFact("m2", "Cars (2006)", 0.5),)),
    ]


def _plan(steps):
    from methods.distill.students import TrainingPlan

    return TrainingPlan(steps=steps, epochs=1, batch_size=2, gradient_accumulation_steps=1,
                        learning_rate=2e-2, lora_r=4, lora_alpha=8, lora_dropout=0.0,
                        lora_targets=("q_proj", "v_proj"), max_length=256)  # fmt: skip


def _moved(before, after):
    return sum(float((before[k] - after[k]).abs().sum()) for k in before)


@pytest.mark.parametrize("kind", ["sft", "orpo"])
def test_student_training_moves_lora_and_lowers_loss(tiny, tmp_path, kind):
    from bench.backbones.lora import lora_state
    from methods.distill.students import orpo_rows, sft_rows, train_student

    contexts = _contexts()
    good = ["You loved Casino, so this crime film fits you.", "You loved Cars, so this animated film fits you."]
    bad = ["movie.", "ok"]
    rows = sft_rows(contexts, good) if kind == "sft" else orpo_rows(contexts, good, bad)
    logs = []
    trained = train_student(kind, tiny.model, tiny.tokenizer, rows, _plan(4), tmp_path, seed=0, device="cpu",
                            log_fn=lambda step, scalars: logs.append(scalars))  # fmt: skip
    try:
        losses = [s["loss"] for s in logs if "loss" in s]
        assert len(losses) == 4
        # one repeated batch: the rank-4 LoRA lowers the loss step by step (measured: SFT
        # 10.81 -> 10.59, ORPO 10.86 -> 10.80 in 4 steps; the random model starts near ln 49k)
        assert losses[-1] < losses[0] - 0.04 and sum(losses[-2:]) < sum(losses[:2])
        assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()
        assert _lora_b_norm(tmp_path / "adapter") > 0  # LoRA B starts at zero
        if kind == "orpo":  # the odds-ratio term is logged and the chosen side gains on the rejected
            assert any("log_odds_ratio" in s for s in logs)
        assert lora_state(trained)
    finally:
        trained.unload()  # restore the shared tiny model


def test_sft_pipeline_stages_and_resume(tmp_path):
    from methods.distill.method import SFTDistill
    from methods.distill.params import TrainedStudentParams

    params = TrainedStudentParams(**COMMON)
    run = _run(tmp_path, "sft-distill", params)
    method = SFTDistill(params, run)
    method.fit(_splits())
    assert run.stages_run == ["1_recommend", "2_contexts", "3_teacher", "5_sft"]
    teacher = [json.loads(line) for line in (run.dir / "stages" / "3_teacher" / "teacher.jsonl").read_text().splitlines()]
    assert len(teacher) == 6 and {t["variant"] for t in teacher} == {0}
    assert _lora_b_norm(run.dir / "stages" / "5_sft" / "adapter") > 0
    test = _splits().test[:3]
    first = method.predict(test)
    assert len(first) == 3 and all(p.explanation is not None for p in first)
    assert first[0].extras["context"].startswith("Recommended movie:")

    again = SFTDistill(params, RunContext(run.dir, run.cfg, resume=True, quiet=True))
    again.fit(_splits())
    assert again.run.stages_run == [] and set(again.run.stages_reused) >= {"1_recommend", "5_sft"}
    assert [p.explanation for p in again.predict(test)] == [p.explanation for p in first]


def test_orpo_pipeline_trains_on_judged_pairs(tmp_path):
    from methods.distill.method import ORPODistill
    from methods.distill.params import ORPOStudentParams

    params = ORPOStudentParams(**COMMON)
    run = _run(tmp_path, "orpo-distill", params)
    ORPODistill(params, run).fit(_splits())
    assert run.stages_run == ["1_recommend", "2_contexts", "3_teacher", "4_judge", "5_orpo"]
    summary = json.loads((run.dir / "stages" / "4_judge" / "pairs.json").read_text())
    judged = [json.loads(line) for line in (run.dir / "stages" / "4_judge" / "judgements.jsonl").read_text().splitlines()]
    assert len(judged) == summary["pairs"] == 6 and 0 < len(summary["order"]) <= 6
    assert all(j["x_first"]["reply"].startswith("rule scores") for j in judged)
    assert sum(summary["outcomes"].values()) == 6
    assert _lora_b_norm(run.dir / "stages" / "5_orpo" / "adapter") > 0
    info = json.loads((run.dir / "pipeline.json").read_text())
    assert info["judge"]["kept"] == len(summary["order"]) == info["training_rows"]
