"""The explanation prompt XRec defined and Curr-RLCER's `model.prompt=xrec` reuses (the
untrained comparison row): why the user would enjoy the item, within a word limit.

The prompt follows XRec's data handler (HKUDS/XRec explainer/utils/data_handler.py): a system
message asking why the user would enjoy the item within a word limit, and a user message

    user record: <USER_EMBED> {noun} record: <ITEM_EMBED> {noun} name: {title}
    user profile: {user profile} {noun} profile: {item profile}

where `{noun}` is "book" (XRec Amazon), "business" (XRec Yelp / Google) or "item". The two
placeholders are where XRec puts its adapted collaborative embeddings (methods.xrec.prompts
finds their token positions, methods.xrec.injection fills them).

Variants: `use_profiles=False` drops the two profiles (XRec's "w/o profile" ablation);
`slots=False` drops the placeholder clause: the prompt `llm-zeroshot` and Curr-RLCER answer
with under `model.prompt=xrec`: the same profiles without embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.api.records import Record

USER_SLOT = "<USER_EMBED>"
ITEM_SLOT = "<ITEM_EMBED>"
SLOTS = (USER_SLOT, ITEM_SLOT)
# XRec's nouns for its own datasets (data_handler.py); every other dataset says "item".
ITEM_NOUNS = {"xrec-amazon": "book", "xrec-yelp": "business", "xrec-google": "business"}
DEFAULT_NOUN = "item"
PROFILE_MAX_TOKENS = 256  # each profile is cut to this many tokens (XRec's are ~100)


def item_noun(dataset: str) -> str:
    return ITEM_NOUNS.get(dataset, DEFAULT_NOUN)


@dataclass(frozen=True)
class PromptSpec:
    noun: str = DEFAULT_NOUN
    words: int = 50  # the word limit the instruction states (XRec: 50)
    use_profiles: bool = True


def system_text(spec: PromptSpec) -> str:
    return f"Explain why the user would enjoy the {spec.noun} in at most {spec.words} words."


def _clip(text: str, tokenizer: Any, limit: int) -> str:
    if tokenizer is None:
        return text
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return text if len(ids) <= limit else tokenizer.decode(ids[:limit]).strip() + " ..."


def user_text(record: Record, spec: PromptSpec, *, slots: bool = True, tokenizer: Any = None) -> str:
    noun = spec.noun
    parts = [f"user record: {USER_SLOT} {noun} record: {ITEM_SLOT}"] if slots else []
    if record.title.strip():
        parts.append(f"{noun} name: {record.title.strip()}")
    if spec.use_profiles:
        user = _clip(record.user_profile.strip() or "unknown", tokenizer, PROFILE_MAX_TOKENS)
        item = _clip(record.item_profile.strip() or "unknown", tokenizer, PROFILE_MAX_TOKENS)
        parts += [f"user profile: {user}", f"{noun} profile: {item}"]
    return " ".join(parts)


def messages(record: Record, spec: PromptSpec, *, slots: bool = True, tokenizer: Any = None) -> list[dict[str, str]]:
    """The chat messages of one record (system instruction + user message)."""
    return [
        {"role": "system", "content": system_text(spec)},
        {"role": "user", "content": user_text(record, spec, slots=slots, tokenizer=tokenizer)},
    ]
