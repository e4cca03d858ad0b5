"""The shared torch training loop: early stopping, best checkpoint, logging, max_steps, resume."""

from __future__ import annotations

import json

import pytest
import torch

from bench.adapters.torch_loop import CHECKPOINT, LoopSettings, TensorBatches, train_model
from bench.api.run_folder import RunContext
from bench.config import RunConfig

pytestmark = pytest.mark.usefixtures("one_thread")


class Linear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Linear(3, 1)

    def forward(self, x):
        return self.w(x).squeeze(-1)


def loss_fn(model, batch):
    loss = torch.mean((model(batch["x"]) - batch["y"]) ** 2)
    return loss, {"mse": loss.item()}


def data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    return TensorBatches({"x": x, "y": y})


def ctx(tmp_path, seed=0):
    return RunContext(tmp_path / "run", RunConfig(method="m", dataset="d", seed=seed, device="cpu"), quiet=True)


def test_loss_falls_best_checkpoint_saved_and_logged(tmp_path):
    run = ctx(tmp_path)
    torch.manual_seed(0)
    model = Linear()
    s = LoopSettings(epochs=8, batch_size=16, lr=0.05, optimizer="sgd", patience=3)
    train_model(run, "fit", model, data(), data(32, 1), loss_fn, s)
    stage = run.dir / "stages" / "fit"
    assert (stage / "DONE").exists() and (stage / CHECKPOINT).exists()
    rows = [json.loads(line) for line in run.log_path.read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, 9))
    assert rows[-1]["valid_loss"] < rows[0]["valid_loss"] / 4
    assert rows[-1]["step"] == 8 * 4 and "train_mse" in rows[0]
    saved = torch.load(stage / CHECKPOINT, weights_only=True)
    assert torch.equal(saved["w.weight"], model.w.weight.detach())


def test_early_stopping_and_lr_decay(tmp_path):
    run = ctx(tmp_path)
    model = Linear()
    calls = {"n": 0}

    def worsening(model, batch):  # validation gets worse every epoch after the first
        loss = model(batch["x"]).sum() * 0
        if not model.training:
            calls["n"] += 1
            return loss + calls["n"], {}
        return loss + (model.w.weight ** 2).sum(), {}

    s = LoopSettings(epochs=20, batch_size=64, lr=0.1, patience=2, lr_decay=0.5, optimizer="sgd")
    train_model(run, "fit", model, data(), data(16, 1), worsening, s)
    rows = [json.loads(line) for line in run.log_path.read_text().splitlines()]
    assert len(rows) == 3  # best at epoch 1, then two bad epochs
    assert [r["best"] for r in rows] == [True, False, False]
    assert [r["lr"] for r in rows] == [0.1, 0.1, 0.05]


def test_max_steps_stops_mid_epoch(tmp_path):
    run = ctx(tmp_path)
    train_model(run, "fit", Linear(), data(), None, loss_fn, LoopSettings(epochs=5, batch_size=8, max_steps=3))
    rows = [json.loads(line) for line in run.log_path.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["step"] == 3


def test_finished_stage_is_reloaded_not_retrained(tmp_path):
    run = ctx(tmp_path)
    torch.manual_seed(0)
    first = Linear()
    s = LoopSettings(epochs=2, batch_size=16, lr=0.05)
    train_model(run, "fit", first, data(), None, loss_fn, s)
    run2 = ctx(tmp_path)  # a resumed attempt of the same run folder
    second = Linear()
    with pytest.raises(AssertionError):
        assert torch.equal(first.w.weight, second.w.weight)

    def never(model, batch):
        raise AssertionError("a finished stage must not train again")

    train_model(run2, "fit", second, data(), None, never, s)
    assert run2.stages_reused == ["fit"] and run2.stages_run == []
    assert torch.equal(first.w.weight, second.w.weight)


def test_seeded_runs_are_identical(tmp_path):
    weights = []
    for k in range(2):
        run = ctx(tmp_path / str(k), seed=3)
        torch.manual_seed(3)
        m = Linear()
        train_model(run, "fit", m, data(), None, loss_fn, LoopSettings(epochs=2, batch_size=8, lr=0.01))
        weights.append(m.w.weight.detach().clone())
    assert torch.equal(*weights)


def test_settings_from_params_takes_known_fields_only():
    class P:
        lr = 0.5
        epochs = 3
        emsize = 99

    s = LoopSettings.from_params(P())
    assert (s.lr, s.epochs, s.batch_size) == (0.5, 3, 128)
