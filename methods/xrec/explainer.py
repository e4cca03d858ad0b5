"""XRec's explainer: a frozen causal LM reading adapted collaborative vectors at two slots.

HKUDS/XRec explainer/models/explainer.py (Explainer.forward / loss / generate), for any
Hugging Face causal LM:

1. the user's and the item's collaborative embedding go through their MoE adapters
   (methods.xrec.adapter) to two vectors of the LM's hidden size;
2. they replace the input embeddings of the two placeholder tokens and are injected at the
   same positions in every decoder layer (methods.xrec.injection, `model.injection`);
3. training loss: mean next-token cross-entropy over the explanation tokens (and the
   end-of-turn token) only, everything before the explanation masked (Explainer.loss);
4. generation: `bench.backbones.generate.generate_batch` from those input embeddings (greedy
   by default; model.decoding=checkpoint decodes as XRec does, with the checkpoint's
   generation_config.json, which for Llama-2-7b-chat samples).

The LM never trains: its parameters have requires_grad=False; the loss's gradient flows
through it to the adapters only.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from methods.xrec.adapter import CollaborativeAdapters
from methods.xrec.examples import IGNORE, trim
from methods.xrec.injection import Injector, place


@dataclass(frozen=True)
class GenerationSettings:
    max_new_tokens: int = 128  # XRec: 128
    do_sample: bool = False  # XRec: the checkpoint's own (from_generation_config)
    temperature: float = 1.0
    top_p: float = 1.0
    num_beams: int = 1


def from_generation_config(config: Any, max_new_tokens: int) -> GenerationSettings:
    """What generate() does with no decoding arguments, as XRec calls it: the checkpoint's
    generation_config.json (Llama-2-7b-chat: do_sample, temperature 0.6, top_p 0.9)."""
    return GenerationSettings(
        max_new_tokens=max_new_tokens, do_sample=bool(getattr(config, "do_sample", False)),
        temperature=float(getattr(config, "temperature", None) or 1.0),
        top_p=float(getattr(config, "top_p", None) or 1.0),
        num_beams=int(getattr(config, "num_beams", None) or 1),
    )  # fmt: skip


def freeze(model: nn.Module) -> nn.Module:
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model.eval()


def position_ids(mask: torch.Tensor) -> torch.Tensor:
    """Positions that skip left padding (what `generate` derives from the attention mask)."""
    return (mask.long().cumsum(dim=1) - 1).clamp(min=0)


class Explainer:
    """The frozen LM, its tokenizer, the injector and the collaborative embedding tables."""

    def __init__(self, model: nn.Module, tokenizer: Any, injection: str, users: torch.Tensor, items: torch.Tensor):
        self.model = freeze(model)
        self.tokenizer = tokenizer
        self.injector = Injector(model, injection)
        self.users = users  # (n_users + 1, d): the last row is zeros, for ids without a row
        self.items = items
        self.device = next(model.parameters()).device
        self.dtype = model.get_input_embeddings().weight.dtype
        self._keeps_logits = "logits_to_keep" in inspect.signature(model.forward).parameters

    @property
    def hidden_size(self) -> int:
        return self.model.get_input_embeddings().weight.shape[1]

    def slot_vectors(self, adapters: CollaborativeAdapters, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, 2, hidden) adapted user and item vectors, in the LM's dtype (XRec: .half())."""
        users = self.users[batch["user"].cpu()].to(self.device)
        items = self.items[batch["item"].cpu()].to(self.device)
        return adapters(users, items).to(self.dtype)

    def _inputs(self, adapters: CollaborativeAdapters, batch: dict[str, torch.Tensor]):
        batch = {k: v.to(self.device) for k, v in trim(batch).items()}
        vectors = self.slot_vectors(adapters, batch)
        embeds = self.model.get_input_embeddings()(batch["input_ids"])
        embeds = place(embeds, batch["slots"], vectors)  # placeholder input embeddings := a(x)
        return batch, embeds, vectors

    def loss(self, adapters: CollaborativeAdapters, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean cross-entropy of the explanation tokens (the torch loop's loss_fn)."""
        batch, embeds, vectors = self._inputs(adapters, batch)
        labels, mask = batch["labels"], batch["attention_mask"]
        # logits only where a label can be: the last (longest explanation + 1) positions
        keep = int((labels != IGNORE).sum(dim=1).max()) + 1
        kwargs = {"logits_to_keep": keep} if self._keeps_logits else {}
        with self.injector.active(batch["slots"], vectors, embeds.shape[1]):
            out = self.model(
                inputs_embeds=embeds, attention_mask=mask, position_ids=position_ids(mask), use_cache=False, **kwargs
            )
        logits = out.logits[:, -keep:-1].float()  # position t predicts token t + 1
        targets = labels[:, -(keep - 1) :]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)
        return loss, {"tokens": float((targets != IGNORE).sum())}

    def generate(self, adapters: CollaborativeAdapters, batch: dict[str, torch.Tensor], settings: GenerationSettings) -> list[str]:
        """Decoded continuations of the prompts in `batch` (special tokens dropped), through the
        shared generate_batch: the prompt's ids stay the output prefix, its embeddings (with the
        vectors in place) feed the first step."""
        from bench.backbones.generate import generate_batch, generation_kwargs

        tokenizer = self.tokenizer
        kwargs = generation_kwargs(
            max_new_tokens=settings.max_new_tokens, do_sample=settings.do_sample, temperature=settings.temperature,
            top_p=settings.top_p, eos_ids=tokenizer.eos_token_id,
            pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        )  # fmt: skip
        with torch.no_grad():
            batch, embeds, vectors = self._inputs(adapters, batch)
            with self.injector.active(batch["slots"], vectors, embeds.shape[1]):
                new = generate_batch(
                    self.model, batch["input_ids"], batch["attention_mask"], inputs_embeds=embeds,
                    num_beams=settings.num_beams, **kwargs,
                )  # fmt: skip
        return [text.strip() for text in tokenizer.batch_decode(new, skip_special_tokens=True)]
