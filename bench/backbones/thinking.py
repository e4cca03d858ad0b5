"""Reasoning blocks are not part of an explanation: `strip_think` removes them before scoring.

Thinking models (Qwen3, DeepSeek-R1 distillations) write <think> ... </think> before their
answer. Whatever is scored (BERTScore, BLEU, judges, the coherence classifier) reads the text
after it:

    strip_think("<think>the user likes jazz</think> You will enjoy it.")  -> "You will enjoy it."
    strip_think("<think>the user likes ...")                            -> ""  (cut while thinking)
    strip_think("the user likes jazz</think> You will enjoy it.")       -> "You will enjoy it."

The last case is a reply whose <think> was part of the prompt (a template that opens the
thinking block itself). Text without either tag is returned unchanged.
"""

from __future__ import annotations

import re

_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL)
OPEN, CLOSE = "<think>", "</think>"


def strip_think(text: str) -> str:
    if OPEN not in text and CLOSE not in text:
        return text
    text = _BLOCK.sub("", text)
    if CLOSE in text:  # opened by the prompt: everything up to the last close is reasoning
        text = text.rsplit(CLOSE, 1)[1]
    if OPEN in text:  # opened and never closed: the token budget ran out while thinking
        text = text.split(OPEN, 1)[0]
    return text.strip()
