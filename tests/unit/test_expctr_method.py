"""ExpCTR end to end on a tiny random Llama (fast): stages, logs, both scores, resume."""

from __future__ import annotations

import json
import random

import pytest

from bench.api.records import Record, Splits
from bench.api.run_folder import RunContext
from bench.config import RunConfig


def _splits() -> Splits:
    rng = random.Random(0)
    titles = [f"Movie {k}" for k in range(12)]

    def rec(n):
        out = []
        for _ in range(n):
            label = rng.randrange(2)
            out.append(
                Record(
                    user_id=f"u{rng.randrange(5)}",
                    item_id=f"i{rng.randrange(12)}",
                    rating=4.0 + label,
                    label=label,
                    title=rng.choice(titles),
                    history_liked=rng.sample(titles, 2),
                    history_disliked=rng.sample(titles, 1),
                )
            )
        return out

    return Splits(rec(12), rec(3), rec(4))


def _params(**kw):
    from methods.expctr.method import Params

    base = dict(
        backbone="tiny-random",
        train_records=4,
        batch_size=2,
        minibatch_size=2,
        lc_epochs=1,
        ic_epochs=1,
        iterations=1,
        max_new_tokens=4,
        lr=1e-3,
        ctr_pretrain_epochs=1,
        ctr_epochs=1,
        gen_batch_size=4,
        score_batch_size=4,
    )
    base.update(kw)
    return Params(**base)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    from methods.expctr.method import ExpCTR

    folder = tmp_path_factory.mktemp("expctr")
    run = RunContext(
        folder, RunConfig(method="expctr", dataset="ml-100k", device="cpu"), quiet=True
    )
    splits = _splits()
    m = ExpCTR(_params(), run)
    m.fit(splits)
    return m, run, splits, folder


def test_stages_logs_and_scores(fitted):
    m, run, splits, folder = fitted
    assert run.stages_run == ["ctr_pretrain", "lc", "ctr_1", "ic_1", "ctr_final"]
    rows = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    lc = [r for r in rows if r["stage"] == "lc"]
    ic = [r for r in rows if r["stage"] == "ic_1"]
    assert len(lc) == 2 and len(ic) == 2  # 4 records / batch 2, one epoch each
    assert all(0.0 <= r["lc_reward"] <= 1.0 for r in lc)  # eq. 9 lies in [0, 1]
    assert all(0.0 <= r["ic_reward"] <= 2.0 for r in ic)  # eq. 13 lies in [0, 2]
    assert all(abs(r["reward_norm"]) <= 1.0 + 1e-9 for r in lc + ic)  # eq. 10, delta = 1
    assert len(m.explanations) == 4
    preds = m.predict(splits.test)
    assert len(preds) == 4
    for p in preds:
        assert 0.0 <= p.extras["ctr_llm"] <= 1.0 and 0.0 <= p.extras["ctr_aug"] <= 1.0
        assert p.ctr_score == p.extras["ctr_llm"] and isinstance(p.explanation, str)


def test_resume_reuses_every_stage(fitted):
    from methods.expctr.method import ExpCTR

    m, _, splits, folder = fitted
    run2 = RunContext(
        folder, RunConfig(method="expctr", dataset="ml-100k", device="cpu"), resume=True, quiet=True
    )
    m2 = ExpCTR(_params(score_with="aug"), run2)
    m2.fit(splits)
    assert run2.stages_run == [] and len(run2.stages_reused) == 5
    assert m2.explanations == m.explanations
    a, b = m.predict(splits.test), m2.predict(splits.test)
    assert [p.extras["ctr_aug"] for p in a] == pytest.approx(
        [p.extras["ctr_aug"] for p in b], abs=1e-6
    )
    assert [p.explanation for p in a] == [p.explanation for p in b]
    assert all(p.ctr_score == p.extras["ctr_aug"] for p in b)


def test_samples_per_record_and_per_record_eq10(tmp_path, monkeypatch):
    """samples_per_record=2: each step samples every one of its records twice, consecutively,
    and reward_norm=record normalises eq. 10 within each record's pair (signs only)."""
    from bench.api.errors import BenchError
    from methods.expctr.method import ExpCTR

    run = RunContext(tmp_path, RunConfig(method="expctr", dataset="ml-100k", device="cpu"), quiet=True)
    m = ExpCTR(_params(batch_size=4, samples_per_record=2, reward_norm="record", ic_epochs=0), run)
    seen: list[tuple[list[str], list[float]]] = []
    from bench.adapters.ppo import PPOTrainer

    generate, step = PPOTrainer.generate, PPOTrainer.step

    def spy_generate(self, prompts):
        seen.append((list(prompts), []))
        return generate(self, prompts)

    def spy_step(self, ro, scores, rows=None):
        seen[-1][1].extend(scores.tolist())
        return step(self, ro, scores, rows=rows)

    monkeypatch.setattr(PPOTrainer, "generate", spy_generate)
    monkeypatch.setattr(PPOTrainer, "step", spy_step)
    m.fit(_splits())
    assert len(seen) == 2  # 4 train records, 2 per step
    for prompts, norm in seen:
        assert len(prompts) == 4 and prompts[0] == prompts[1] and prompts[2] == prompts[3] != prompts[0]
        assert norm[0] == -norm[1] and norm[2] == -norm[3] and {abs(x) for x in norm} <= {0.0, 1.0}
    with pytest.raises(BenchError, match="must divide"):
        ExpCTR(_params(batch_size=4, samples_per_record=3), run).fit(_splits())


def test_yes_no_opening_starts_every_sampled_and_predicted_explanation(tmp_path):
    from bench.api.errors import BenchError
    from methods.expctr.method import ExpCTR

    run = RunContext(tmp_path, RunConfig(method="expctr", dataset="ml-100k", device="cpu"), quiet=True)
    m = ExpCTR(_params(explanation_opening="yes_no", ic_epochs=0, final_ctr_refit=False), run)
    splits = _splits()
    m.fit(splits)
    sampled = list(m.explanations.values())
    predicted = [p.explanation for p in m.predict(splits.test)]
    assert len(sampled) == 4 and all(t.startswith(("Yes", "No")) for t in sampled + predicted)
    with pytest.raises(BenchError, match="explanation_opening"):
        ExpCTR(_params(explanation_opening="maybe"), run).fit(splits)


def test_ppo_schedule_covers_each_record_once_per_epoch():
    from methods.expctr.method import ppo_schedule

    steps = ppo_schedule(5, 2, 2, seed=0, stage="lc")
    assert [e for e, _ in steps] == [0, 0, 0, 1, 1, 1] and [len(p) for _, p in steps] == [2, 2, 1] * 2
    for epoch in (0, 1):
        assert sorted(j for e, p in steps if e == epoch for j in p) == [0, 1, 2, 3, 4]
    assert steps == ppo_schedule(5, 2, 2, seed=0, stage="lc") != ppo_schedule(5, 2, 2, seed=0, stage="ic_1")


def test_lc_scores_of_the_frozen_base_are_kept_by_prompt_digest(fitted, monkeypatch):
    """Eq. 8's scorer is the frozen base: a prompt seen before is not run again, and the
    shared-opening path gives the plain first-token probabilities (issue #26)."""
    import numpy as np

    from bench.backbones import answer_scoring
    from bench.backbones.generate import render_chat
    from methods.expctr.prompts import ctr_prompt
    from methods.expctr.rewards import lc_score

    m, _, splits, _ = fitted
    records, texts = splits.test[:3], ["Yes, a comedy.", "No.", "It has actors they like."]
    m.lc_cache.clear()
    first = m._lc_scores(records, texts)
    prompts = [render_chat(m.tok, ctr_prompt(t, r, m.domain)) for r, t in zip(records, texts, strict=True)]
    with m.model.disable_adapter():
        p_yes, p_no = answer_scoring.first_token_probs(m.model, m.tok, prompts, m.yes_ids, m.no_ids)
    plain = lc_score(np.log(p_yes), np.log(p_no)).numpy()
    assert np.allclose(first, plain, atol=1e-6)

    def scored_again(*args, **kwargs):
        raise AssertionError("a cached prompt went through the model again")

    monkeypatch.setattr(answer_scoring, "first_token_probs", scored_again)
    assert np.array_equal(m._lc_scores(records[::-1], texts[::-1]), first[::-1])
