"""TALLRec (Bao et al., RecSys 2023; ExpCTR Table 1): LoRA instruction tuning on the yes/no task.

Each train record becomes one instruction example: the history prompt (liked / disliked titles,
target item; baselines.llm_ctr.history_prompt) rendered with the backbone's chat template,
answered "Yes." (label 1) or "No." (label 0). A LoRA adapter is trained with the causal-LM loss
on the answer tokens only (our own loop; no TRL trainer needed for this loss): rows are
left-padded so every answer ends the row, and the LM head runs on the last answer-length + 1
positions only (`answer_nll`; the same loss as HF's `labels=` over the whole row, without
projecting ~130 prompt positions onto the 49k-word vocabulary). The score is the
first answer token's P(Yes) / (P(Yes) + P(No)). Defaults follow TALLRec / ExpCTR §5.1.4:
LoRA r=8, alpha=16, dropout 0.05 on q/v projections, lr 1e-4, the whole train split.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api.errors import BenchError
from bench.api.loads import Checkpoint, Load
from bench.api.method import Method
from bench.api.records import Prediction, Record, Splits


@dataclass
class Params:
    backbone: str = "embedded"  # "embedded" (SmolLM2-135M-Instruct) or an HF id / folder
    item_domain: str = "auto"
    prompt_history: int | None = None  # most recent liked / disliked titles shown (None: all)
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])
    lr: float = 1e-4
    epochs: int = 1
    batch_size: int = 8
    grad_accum: int = 1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    train_records: int | None = None  # seeded subsample of train (None: all, as the paper)
    balance: bool = False  # subsample with equal Yes/No counts (TALLRec's few-shot setting)
    yes_words: list[str] = field(default_factory=lambda: ["Yes"])
    no_words: list[str] = field(default_factory=lambda: ["No"])
    score_batch_size: int = 8
    max_prompt_tokens: int = 768


def answer_nll(model, batch: list[tuple[list[int], list[int]]], pad_id: int):
    """Mean next-token NLL of the answer tokens `a` after each prompt `q` (the loss HF computes
    with labels = -100 on the prompt), scoring only the answer positions."""
    import torch

    from bench.backbones.generate import left_pad
    from bench.backbones.positions import padded_position_ids

    device = next(model.parameters()).device
    ids, attn = left_pad([q + a for q, a in batch], pad_id, device)
    width = max(len(a) for _, a in batch)
    targets = ids[:, -width:].clone()
    for row, (_, a) in enumerate(batch):  # shorter answers: the positions before are prompt
        targets[row, : width - len(a)] = -100
    position_ids = padded_position_ids(attn)
    out = model(input_ids=ids, attention_mask=attn, position_ids=position_ids,
                logits_to_keep=width + 1, use_cache=False)  # fmt: skip
    logits = out.logits[:, :-1].float()  # position t predicts token t + 1
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


class TALLRec(Method):
    produces = frozenset({"ctr_score"})
    Params = Params

    @classmethod
    def loads(cls, params: Any) -> list[Load]:
        return [Checkpoint("model.backbone", params.backbone)]

    def fit(self, splits: Splits) -> None:
        import torch

        from baselines.llm_ctr import domain_for
        from bench.backbones import load_for_run
        from bench.backbones.lora import add_lora, lora_config

        p: Params = self.params  # type: ignore[assignment]
        self.domain = domain_for(self.run.cfg.dataset, p.item_domain)
        train = [r for r in splits.train if r.label is not None]
        if not train:
            raise BenchError("TALLRec needs binary labels in the train split")
        rng = random.Random(self.run.seed)
        if p.train_records and p.train_records < len(train):
            if p.balance:
                pos = [r for r in train if r.label == 1]
                neg = [r for r in train if r.label == 0]
                half = p.train_records // 2
                train = rng.sample(pos, min(half, len(pos))) + rng.sample(
                    neg, min(p.train_records - half, len(neg))
                )
            else:
                train = [train[i] for i in sorted(rng.sample(range(len(train)), p.train_records))]
        self.train_records = train
        torch.manual_seed(self.run.seed)
        bb = load_for_run(p.backbone, self.run)
        self.tok = bb.tokenizer
        for param in bb.model.parameters():
            param.requires_grad_(False)
        self.model = add_lora(
            bb.model, lora_config(p.lora_r, p.lora_alpha, p.lora_dropout, p.lora_targets)
        )
        self.run.stage("sft", self._train, self._load)

    def _examples(self, records: list[Record]) -> list[tuple[list[int], list[int]]]:
        from baselines.llm_ctr import answer_text, history_prompt
        from bench.backbones.generate import render_chat

        p: Params = self.params  # type: ignore[assignment]
        eos = self.tok.eos_token or ""
        out = []
        for r in records:
            prompt = render_chat(self.tok, history_prompt(r, self.domain, p.prompt_history))
            q = self.tok.encode(prompt, add_special_tokens=False)[-p.max_prompt_tokens :]
            a = self.tok.encode(answer_text(r.label) + eos, add_special_tokens=False)
            out.append((q, a))
        return out

    def _train(self, stage_dir: Path) -> None:
        import torch

        p: Params = self.params  # type: ignore[assignment]
        examples = self._examples(self.train_records)
        params = [q for q in self.model.parameters() if q.requires_grad]
        opt = torch.optim.AdamW(params, lr=p.lr, weight_decay=p.weight_decay)
        pad = self.tok.pad_token_id if self.tok.pad_token_id is not None else self.tok.eos_token_id
        gen = random.Random(self.run.seed)
        steps = p.epochs * math.ceil(len(examples) / p.batch_size)
        self.model.train()
        step = 0
        with self.run.progress("tallrec sft", steps) as advance:
            for epoch in range(p.epochs):
                order = list(range(len(examples)))
                gen.shuffle(order)
                for start in range(0, len(order), p.batch_size):
                    batch = [examples[i] for i in order[start : start + p.batch_size]]
                    loss = answer_nll(self.model, batch, pad)
                    (loss / p.grad_accum).backward()
                    if (step + 1) % p.grad_accum == 0 or start + p.batch_size >= len(order):
                        if p.max_grad_norm:
                            torch.nn.utils.clip_grad_norm_(params, p.max_grad_norm)
                        opt.step()
                        opt.zero_grad(set_to_none=True)
                    self.run.log("sft", step, epoch=epoch, loss=loss.item())
                    step += 1
                    advance(1)
        self.model.eval()
        self.model.save_pretrained(str(stage_dir / "adapter"))

    def _load(self, stage_dir: Path) -> None:
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        state = load_file(str(stage_dir / "adapter" / "adapter_model.safetensors"))
        set_peft_model_state_dict(self.model, state)
        self.model.eval()

    def predict(self, records: list[Record]) -> list[Prediction]:
        from baselines.llm_ctr import history_ctr_scores

        p: Params = self.params  # type: ignore[assignment]
        self.model.eval()
        with self.run.progress("tallrec score", len(records)) as advance:
            scores = history_ctr_scores(
                self.model, self.tok, records, self.domain, yes_words=p.yes_words, no_words=p.no_words,
                max_items=p.prompt_history, batch_size=p.score_batch_size,
                max_prompt_tokens=p.max_prompt_tokens, advance=advance,
            )  # fmt: skip
        return [Prediction(ctr_score=float(s)) for s in scores]
