"""Random entity masking of model inputs (Curr-RLCER robustness study, §4.4; DPO rejected side).

"Entities" are the content words of the user profile, item profile and review: word tokens
that carry letters or digits and are not stopwords. A ratio r masks round(r x n) of the n
candidate words of each field with "[MASK]" (at least one when r > 0 and n > 0). The draw is
deterministic: each record gets its own RNG seeded from (seed, user_id, item_id, field), so
the result does not depend on record order or on the process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re
from collections.abc import Sequence

from bench.api.records import Record

MASK_TOKEN = "[MASK]"
MASKED_FIELDS = ("user_profile", "item_profile", "review")

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
STOPWORDS = frozenset(
    """a an the and or but if then else of to in on at by for with from as is are was were be
    been being it its this that these those i me my we our you your he him his she her they
    them their what which who whom there here so not no nor too very can will just do does did
    has have had having than into over under again further once all any both each few more most
    other some such only own same s t don should now am about above below up down out off""".split()
)


def _rng(seed: int, *keys: str) -> random.Random:
    digest = hashlib.sha256("\x1f".join([str(seed), *keys]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def mask_text(text: str, ratio: float, rng: random.Random, token: str = MASK_TOKEN) -> str:
    """Replace round(ratio x n) of the n content words of `text` with `token`."""
    if not text or ratio <= 0:
        return text
    if ratio > 1:
        raise ValueError(f"mask ratio must be in [0, 1], got {ratio}")
    spans = [m.span() for m in _WORD.finditer(text)]
    candidates = [s for s in spans if text[s[0] : s[1]].lower() not in STOPWORDS]
    if not candidates:
        return text
    k = min(len(candidates), max(1, round(ratio * len(candidates))))
    chosen = sorted(rng.sample(range(len(candidates)), k))
    out, last = [], 0
    for i in chosen:
        start, end = candidates[i]
        out.append(text[last:start])
        out.append(token)
        last = end
    out.append(text[last:])
    return "".join(out)


def mask_record(
    record: Record,
    ratio: float,
    seed: int = 0,
    fields: Sequence[str] = MASKED_FIELDS,
    salt: str = "",
    token: str = MASK_TOKEN,
) -> Record:
    """A copy of `record` with its input fields masked (labels/references untouched)."""
    if ratio <= 0:
        return record
    changes = {
        name: mask_text(getattr(record, name), ratio,
                        _rng(seed, salt, record.user_id, record.item_id, name), token)
        for name in fields
    }  # fmt: skip
    extras = {**record.extras, "mask_ratio": ratio}
    return dataclasses.replace(record, extras=extras, **changes)


def mask_records(records: Sequence[Record], ratio: float, seed: int = 0, **kwargs) -> list[Record]:
    """Mask every record's profiles and review at `ratio` (0 returns the records unchanged)."""
    if not 0 <= ratio <= 1:
        raise ValueError(f"mask ratio must be in [0, 1], got {ratio}")
    return [mask_record(r, ratio, seed, **kwargs) for r in records]
