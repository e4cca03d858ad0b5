"""Where XRec's two embedding placeholders land in the token ids of its explanation prompt
(methods.explanation_prompt).

The prompt is rendered with the backbone's own chat template and the explanation is the
assistant turn, so generation stops at the model's end-of-turn token (XRec writes Llama-2's
`[INST] ... [/INST]` by hand, trains the explanation *inside* the instruction after an
<EXPLAIN_POS> token and cuts generations at the first "[").
"""

from __future__ import annotations

from typing import Any

from methods.explanation_prompt import SLOTS


def encode_prompt(tokenizer: Any, chat: list[dict[str, str]], placeholder_id: int) -> tuple[list[int], list[int]]:
    """Token ids of the rendered chat (generation prompt appended) with each placeholder
    string replaced by one `placeholder_id` token, and the positions of those tokens in the
    order of SLOTS. The text between placeholders is tokenized piece by piece, so the
    placeholders never merge with neighbouring characters."""
    from bench.backbones.generate import render_chat

    text = render_chat(tokenizer, chat)
    ids: list[int] = []
    positions: list[int] = []
    for slot in SLOTS:
        head, sep, text = text.partition(slot)
        if not sep:
            raise ValueError(f"prompt has no {slot} placeholder")
        ids += tokenizer(head, add_special_tokens=False)["input_ids"]
        positions.append(len(ids))
        ids.append(placeholder_id)
    ids += tokenizer(text, add_special_tokens=False)["input_ids"]
    return ids, positions
