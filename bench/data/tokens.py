"""Word tokens of the classic explanation generators and the feature miner: lower-cased word /
punctuation tokens, the shape of the NLG4RS templates (and of metrics.text.peter_tokenize, so
BLEU sees the same tokens the models learn)."""

from __future__ import annotations

import re
from collections.abc import Sequence

_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens."""
    return _TOKEN_RE.findall((text or "").lower())


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens with single spaces (how PETER writes its generated text)."""
    return " ".join(tokens)
