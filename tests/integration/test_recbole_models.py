"""Every registered RecBole CTR baseline trains one epoch on ml-100k and beats chance (AUC > 0.5).

Default run (fast): the benchmark's own ml-100k per-user 8:1:1 split (bench.data), restricted
to the first QUICK_USERS users, training rows capped (the `tiny` profile's settings). The test
records scored are the split's test records of those users, in order.
Slow run (`-m slow`): every model, one full-size epoch on the whole ml-100k split.
Timings and AUCs are attached to the test report (record_property) and printed with `-s`.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("recbole")

from baselines import RECBOLE_CTR_MODELS  # noqa: E402
from bench.api.errors import BenchError  # noqa: E402
from bench.api.records import Splits  # noqa: E402
from bench.api.run_folder import RunContext, read_jsonl  # noqa: E402
from bench.config import RunConfig  # noqa: E402
from bench.data.settings import DataConfig

QUICK_USERS = 150
QUICK_PARAMS = dict(
    epochs=1,
    max_train_records=6000,
    learning_rate=0.01,
    train_batch_size=256,
    eval_batch_size=2048,
    torch_threads=1,  # shared 2-core CI boxes: 2 intra-op threads ran 3-4x slower under load
)


def _auc(labels: list[int], scores: list[float]) -> float:
    """Mann-Whitney AUC with ties counted half (no sklearn dependency in the assertion)."""
    pairs = sorted(zip(scores, labels, strict=True))
    rank_sum, i, n = 0.0, 0, len(pairs)
    while i < n:
        j = i
        while j < n and pairs[j][0] == pairs[i][0]:
            j += 1
        avg_rank = (i + j + 1) / 2  # ranks i+1..j
        rank_sum += avg_rank * sum(label for _, label in pairs[i:j])
        i = j
    pos = sum(labels)
    neg = n - pos
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def test_auc_helper():
    assert _auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert _auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)


def _cfg(method: str = "recbole-fm") -> RunConfig:
    return RunConfig(
        method=method, dataset="ml-100k", device="cpu",
        data=DataConfig(split="per-user-8:1:1", rating_threshold=4.0, history_len=10),
    )  # fmt: skip


@pytest.fixture(scope="module")
def ml100k_splits() -> Splits:
    from bench import data as data_layer

    cfg = _cfg()
    try:
        loaded = data_layer.load_dataset("ml-100k", cfg.data)
    except Exception as exc:  # pragma: no cover - RecBole wheel without its example data
        pytest.skip(f"ml-100k not available: {exc}")
    return data_layer.make_splits(loaded, cfg.data, cfg.seed)


@pytest.fixture(scope="module")
def quick_splits(ml100k_splits: Splits) -> Splits:
    users = set(sorted({r.user_id for r in ml100k_splits.train}, key=_user_key)[:QUICK_USERS])
    parts = [[r for r in part if r.user_id in users] for part in
             (ml100k_splits.train, ml100k_splits.valid, ml100k_splits.test)]  # fmt: skip
    return Splits(*parts, info=dict(ml100k_splits.info, subset=f"first {QUICK_USERS} users"))


def _user_key(user_id: str) -> tuple[int, str]:
    return (int(user_id), user_id) if user_id.isdigit() else (1 << 62, user_id)


def _run_model(model: str, splits: Splits, params: dict, run_dir: Path):
    from baselines.recbole_ctr import MODELS, RecBoleParams

    cfg = _cfg(f"recbole-{model.lower()}")
    ctx = RunContext(run_dir, cfg, quiet=True)
    method = MODELS[model](RecBoleParams(**params), ctx)
    started = time.time()
    method.fit(splits)
    fit_s = time.time() - started
    started = time.time()
    preds = method.predict(splits.test)
    predict_s = time.time() - started
    return method, ctx, preds, fit_s, predict_s


def _check_and_report(model, splits, method, preds, fit_s, predict_s, record_property):
    assert len(preds) == len(splits.test)
    scores = [p.ctr_score for p in preds]
    assert all(s is not None and 0.0 <= s <= 1.0 for s in scores)
    auc = _auc([r.label for r in splits.test], scores)
    meta = method.meta
    record_property("auc", round(auc, 4))
    record_property("fit_s", round(fit_s, 1))
    record_property("train_s", meta.get("train_seconds"))
    record_property("predict_s", round(predict_s, 1))
    print(
        f"\n[recbole] {model}: test AUC {auc:.4f} (valid {meta.get('best_valid_auc')}), "
        f"fit {fit_s:.1f}s (RecBole train {meta.get('train_seconds')}s, "
        f"{meta.get('train_rows')} rows), predict {predict_s:.1f}s on {len(splits.test)} records"
    )
    assert auc > 0.5, f"{model}: test AUC {auc:.4f} is not above chance"
    return auc


@pytest.mark.parametrize("model", RECBOLE_CTR_MODELS)
def test_model_one_epoch_beats_chance(model, quick_splits, tmp_path, record_property):
    method, ctx, preds, fit_s, predict_s = _run_model(model, quick_splits, QUICK_PARAMS, tmp_path)
    _check_and_report(model, quick_splits, method, preds, fit_s, predict_s, record_property)
    assert ctx.stages_run == [f"recbole-{model.lower()}"]
    stage = tmp_path / "stages" / f"recbole-{model.lower()}"
    assert (stage / "DONE").exists() and (stage / "model.pth").exists()
    assert [r["stage"] for r in read_jsonl(ctx.log_path)] == [
        f"recbole-{model.lower()}"
    ]


def test_resume_reuses_the_trained_stage(quick_splits, tmp_path):
    """A second attempt of the same run loads the checkpoint instead of training again."""
    params = dict(QUICK_PARAMS, max_train_records=2000)
    first, _, preds1, _, _ = _run_model("SASRec", quick_splits, params, tmp_path)
    second, ctx2, preds2, _, _ = _run_model("SASRec", quick_splits, params, tmp_path)
    assert ctx2.stages_reused == ["recbole-sasrec"] and ctx2.stages_run == []
    assert [p.ctr_score for p in preds2] == [p.ctr_score for p in preds1]
    assert second.meta["calibration"] == first.meta["calibration"]
    # the checkpoint holds tensors only: it loads without unpickling anything
    import torch

    checkpoint = tmp_path / "stages" / "recbole-sasrec" / "model.pth"
    state = torch.load(checkpoint, weights_only=True)
    assert set(state) == {"state_dict", "other_parameter"}
    # a checkpoint with pickled objects (RecBole's own format, with its Config) is refused
    torch.save({**state, "config": second._recbole.config}, checkpoint)
    with pytest.raises(BenchError, match="does not unpickle; rerun this cell with --force"):
        second._recbole._load_weights(checkpoint)


def test_registered_names_resolve_to_method_classes():
    from bench.api.method import Method
    from bench.runner import method_class

    for model in RECBOLE_CTR_MODELS:
        cls = method_class(f"recbole-{model.lower()}")
        assert issubclass(cls, Method) and cls.__name__ == model and cls.recbole_model == model
        assert cls.produces == frozenset({"ctr_score"})


@pytest.mark.slow
@pytest.mark.parametrize("model", RECBOLE_CTR_MODELS)
def test_model_full_epoch(model, ml100k_splits, tmp_path, record_property):
    params = dict(epochs=1, torch_threads=1)
    method, _, preds, fit_s, predict_s = _run_model(model, ml100k_splits, params, tmp_path)
    _check_and_report(model, ml100k_splits, method, preds, fit_s, predict_s, record_property)
