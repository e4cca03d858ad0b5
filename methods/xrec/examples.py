"""Records -> padded token tensors for XRec's explainer (training rows and prompts).

One row per record, left-padded so every prompt (and, in training rows, every explanation)
ends at the last column:

    input_ids       [pad ... pad | prompt (two placeholder tokens inside) | explanation  eos]
    attention_mask   0  ...  0   |  1 ...                                  | 1 ...        1
    labels         -100 ...                                    -100       | explanation  eos

`labels` masks everything before the explanation (XRec masks the tokens before its
<EXPLAIN_POS> position; here the explanation starts right after the chat template's
generation prompt) and the padding (XRec, at batch size 1, had none). `slots` holds the two
placeholder positions, `user` / `item` the rows of the collaborative embedding tables.
`trim` drops the columns that are padding in every row of a mini-batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from bench.api.records import Record
from methods.explanation_prompt import PromptSpec, messages
from methods.xrec.prompts import encode_prompt

IGNORE = -100


def encode(
    records: Sequence[Record],
    tokenizer: Any,
    spec: PromptSpec,
    rows: Callable[[Record], tuple[int, int]],
    *,
    with_target: bool,
    max_target_tokens: int = 128,
) -> dict[str, torch.Tensor]:
    """Tensors for `records`; `rows(record)` gives its (user row, item row) in the tables."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    sequences, label_rows, slot_rows = [], [], []
    for record in records:
        prompt, slots = encode_prompt(tokenizer, messages(record, spec, tokenizer=tokenizer), pad)
        labels = [IGNORE] * len(prompt)
        if with_target:
            target = tokenizer(record.reference_explanation.strip(), add_special_tokens=False)["input_ids"]
            target = target[:max_target_tokens] + [tokenizer.eos_token_id]
            prompt, labels = prompt + target, labels + target
        sequences.append(prompt)
        label_rows.append(labels)
        slot_rows.append(slots)
    width = max((len(s) for s in sequences), default=0)
    n = len(sequences)
    out = {
        "input_ids": torch.full((n, width), pad, dtype=torch.long),
        "attention_mask": torch.zeros((n, width), dtype=torch.long),
        "slots": torch.zeros((n, 2), dtype=torch.long),
        "user": torch.tensor([rows(r)[0] for r in records], dtype=torch.long),
        "item": torch.tensor([rows(r)[1] for r in records], dtype=torch.long),
    }
    if with_target:
        out["labels"] = torch.full((n, width), IGNORE, dtype=torch.long)
    for i, (seq, labels, slots) in enumerate(zip(sequences, label_rows, slot_rows, strict=True)):
        offset = width - len(seq)
        out["input_ids"][i, offset:] = torch.tensor(seq)
        out["attention_mask"][i, offset:] = 1
        out["slots"][i] = torch.tensor(slots) + offset
        if with_target:
            out["labels"][i, offset:] = torch.tensor(labels)
    return out


def trim(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the leading columns that are padding in every row (positions shift with them)."""
    mask = batch["attention_mask"]
    cut = mask.shape[1] - int(mask.sum(dim=1).max())
    if cut <= 0:
        return batch
    out = dict(batch)
    for key in ("input_ids", "attention_mask", "labels"):
        if key in out:
            out[key] = out[key][:, cut:]
    out["slots"] = batch["slots"] - cut
    return out
