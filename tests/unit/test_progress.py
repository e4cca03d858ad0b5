"""Progress feedback: sinks, the TRL callback, scoring bars (suite, BERTScore, encoder)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench.api.progress import bar, format_status, progress_bar, track, use_progress
from bench.api.run_folder import RunContext
from bench.config import RunConfig
from metrics.settings import EvalConfig
from tests.helpers import RecordingSink


def test_bars_go_to_the_innermost_chosen_sink_and_track_shows_each_item():
    outer, inner = RecordingSink(), RecordingSink()
    with use_progress(outer):
        with use_progress(inner):
            assert list(track(["a", "b"], "work", 2, status=lambda x: {"item": x})) == ["a", "b"]
        with bar("after", 1) as advance:
            advance(1, loss=0.5)
    [work] = inner.bars
    assert (work.description, work.total, work.steps, work.closed) == ("work", 2, 2, True)
    assert work.status == [{"item": "a"}, {"item": "b"}]
    [after] = outer.bars
    assert (after.description, after.steps, after.status) == ("after", 1, [{"loss": 0.5}])


def test_status_text():
    assert format_status({"loss": 0.123456, "metric": "bleu", "step": 3}) == "loss 0.1235  metric bleu  step 3"


def test_quiet_run_bars_take_status(tmp_path):
    run = RunContext(tmp_path, RunConfig(method="m", dataset="d"), quiet=True)
    with run.progress("epoch 1", 2) as advance:
        advance(1, loss=0.25)  # the torch loop's status must not break a quiet run


def test_nested_rich_bars_share_one_display(monkeypatch, capsys):
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich draws as on a terminal
    monkeypatch.setenv("COLUMNS", "160")
    with progress_bar("scoring", 2) as outer:
        with progress_bar("bertscore", 10) as inner:  # rich allows one live display: shared
            inner(10)
        outer(1, metric="bleu")
    err = capsys.readouterr().err
    assert "scoring" in err and "bertscore" in err and "0/10" in err  # two rows drawn


def test_trl_callback_advances_by_trainer_steps_and_carries_loss_and_reward():
    from transformers import TrainerControl, TrainerState

    from bench.adapters.trl import progress_callback

    sink = RecordingSink()
    state, control = TrainerState(max_steps=3), TrainerControl()
    logs = [{"loss": 0.5, "reward": 1.0, "learning_rate": 1e-5}, {"loss": 0.25, "rewards/margins": 0.75}, {}]
    with use_progress(sink):
        callback = progress_callback("GRPO steps")
        callback.on_train_begin(None, state, control)
        for step, logged in enumerate(logs, start=1):
            state.global_step = step
            callback.on_step_end(None, state, control)
            callback.on_log(None, state, control, logs=logged)
        callback.on_train_end(None, state, control)
    [steps] = sink.bars
    assert (steps.description, steps.total, steps.steps, steps.closed) == ("GRPO steps", 3, 3, True)
    assert steps.status[0] == {"loss": 0.5, "reward": 1.0}
    assert steps.status[-1] == {"loss": 0.25, "margin": 0.75}


def test_scoring_reports_each_metric_to_the_sink():
    from metrics.suite import score_rows

    rows = [
        {"idx": i, "rating": 3.0 + i % 2, "rating_true": 4.0, "explanation": f"good {i}", "reference": "good"}
        for i in range(4)
    ]
    sink = RecordingSink()
    report = score_rows(rows, EvalConfig(metrics=["rmse", "usr", "auc"]), progress=sink)
    assert report.as_dict()["rmse"] == pytest.approx(0.5**0.5)
    [scoring] = sink.bars
    assert (scoring.total, scoring.steps, scoring.closed) == (3, 3, True)
    # auc lacks ctr_score: reported unavailable, still one step of the bar
    assert [s["metric"] for s in scoring.status] == ["rating", "usr", "ctr"]


def test_bertscore_steps_its_bar_per_chunk_of_pairs(monkeypatch):
    import torch

    import metrics.bertscore as bertscore_module
    from metrics.base import Batch
    from metrics.bertscore import BERTScore

    metric = BERTScore(EvalConfig())
    calls: list[int] = []

    def score_pairs(scorer, cands, refs, cache, advance, encoder=None):  # per chunk, as the real one
        for start in range(0, len(cands), 16):
            calls.append(len(cands[start : start + 16]))
            advance(calls[-1])
        return torch.full((len(cands), 3), 0.5)

    monkeypatch.setattr(metric, "_scorer", lambda: SimpleNamespace())
    monkeypatch.setattr(metric, "_encoder", lambda scorer: None)
    monkeypatch.setattr(bertscore_module, "score_pairs", score_pairs)
    rows = [{"idx": i, "explanation": f"progress chunk {i}", "reference": f"ref {i}"} for i in range(20)]
    sink = RecordingSink()
    with use_progress(sink):
        values = metric.compute(Batch(rows))
    assert calls == [16, 4]
    [chunks] = sink.named("bertscore")
    assert (chunks.total, chunks.steps) == (20, 20)
    assert values[2].value == pytest.approx(0.5)


def test_encoder_shows_a_bar_for_long_passes_only():
    from bench.encoders import SentenceEncoder

    encoder = SentenceEncoder(batch_size=2)  # long pass: >= 16 texts
    sink = RecordingSink()
    with use_progress(sink):
        encoder.encode([f"text number {i}" for i in range(16)])
        encoder.encode(["a short", "pass"])
    [encoding] = sink.bars
    assert (encoding.description, encoding.total, encoding.steps) == ("encoding [all-MiniLM-L6-v2]", 16, 16)


def test_checkpoint_names_in_brackets_are_shown_as_text(monkeypatch, capsys):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "160")
    with progress_bar("encoding [all-MiniLM-L6-v2]", 4) as advance:
        advance(1)
    assert "encoding [all-MiniLM-L6-v2]" in capsys.readouterr().err  # not read as a style tag
