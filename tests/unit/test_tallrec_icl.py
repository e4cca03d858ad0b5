"""TALLRec (LoRA SFT on the yes/no task) and ICL scoring on a tiny random Llama."""

from __future__ import annotations

import json

from bench.api.records import Record, Splits
from bench.api.run_folder import RunContext
from bench.config import RunConfig


def _splits() -> Splits:
    def rec(n):
        return [
            Record(
                user_id=f"u{k}",
                item_id=f"i{k}",
                rating=3.0 + (k % 2) * 2,
                label=k % 2,
                title=f"Film {k}",
                history_liked=[f"Film {k + 1}"],
                history_disliked=[],
            )
            for k in range(n)
        ]

    return Splits(rec(6), rec(2), rec(3))


def test_icl_scores_are_yes_ratios(tmp_path):
    from baselines.icl import ICL, Params

    run = RunContext(tmp_path, RunConfig(method="icl", dataset="ml-100k", device="cpu"), quiet=True)
    m = ICL(Params(backbone="tiny-random", batch_size=2), run)
    m.fit(_splits())
    preds = m.predict(_splits().test)
    assert len(preds) == 3 and all(0.0 <= p.ctr_score <= 1.0 for p in preds)


def test_tallrec_step_changes_lora_and_resumes(tmp_path):
    import torch

    from baselines.tallrec import Params, TALLRec
    from bench.backbones.lora import lora_state

    cfg = RunConfig(method="tallrec", dataset="ml-100k", device="cpu")
    params = Params(backbone="tiny-random", lr=1e-2, batch_size=3, lora_dropout=0.0)
    run = RunContext(tmp_path, cfg, quiet=True)
    m = TALLRec(params, run)
    splits = _splits()
    m.fit(splits)
    trained = lora_state(m.model)
    assert any("lora_B" in k and trained[k].abs().sum() > 0 for k in trained)  # B starts at 0
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in log] == ["sft", "sft"] and all(r["loss"] > 0 for r in log)
    before = [p.ctr_score for p in m.predict(splits.test)]
    m2 = TALLRec(params, RunContext(tmp_path, cfg, resume=True, quiet=True))
    m2.fit(splits)
    assert m2.run.stages_reused == ["sft"]
    assert all(torch.allclose(trained[k], v) for k, v in lora_state(m2.model).items())
    assert [p.ctr_score for p in m2.predict(splits.test)] == before


def test_answer_nll_equals_the_full_row_labels_loss(tmp_path):
    """answer_nll (left padding, LM head on the answer positions only) = HF's causal-LM loss
    with labels = -100 on the prompt and right padding."""
    import torch

    from baselines.tallrec import answer_nll
    from bench.backbones.tiny import tiny_random_llama

    model, _ = tiny_random_llama(tmp_path / "cache")
    batch = [([5, 6, 7, 8, 9], [11, 12]), ([5, 6], [13, 14, 2]), ([7, 8, 9, 10], [15])]
    width = max(len(q) + len(a) for q, a in batch)
    ids = torch.zeros((3, width), dtype=torch.long)
    labels = torch.full((3, width), -100)
    attn = torch.zeros((3, width), dtype=torch.long)
    for row, (q, a) in enumerate(batch):
        ids[row, : len(q) + len(a)] = torch.tensor(q + a)
        labels[row, len(q) : len(q) + len(a)] = torch.tensor(a)
        attn[row, : len(q) + len(a)] = 1
    with torch.no_grad():
        full = model(input_ids=ids, attention_mask=attn, labels=labels).loss
        fast = answer_nll(model, batch, pad_id=0)
    torch.testing.assert_close(fast, full, rtol=1e-5, atol=1e-5)
