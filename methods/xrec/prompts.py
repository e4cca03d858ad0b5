"""XRec's explanation prompt and where its two embedding placeholders land in the token ids.

The prompt follows XRec's data handler (HKUDS/XRec explainer/utils/data_handler.py): a system
message asking why the user would enjoy the item within a word limit, and a user message

    user record: <USER_EMBED> {noun} record: <ITEM_EMBED> {noun} name: {title}
    user profile: {user profile} {noun} profile: {item profile}

where `{noun}` is "book" (XRec Amazon), "business" (XRec Yelp / Google) or "item". The two
placeholders are where the adapted collaborative embeddings go (methods.xrec.injection).
It is rendered with the backbone's own chat template and the explanation is the assistant
turn, so generation stops at the model's end-of-turn token (XRec writes Llama-2's
`[INST] ... [/INST]` by hand, trains the explanation *inside* the instruction after an
<EXPLAIN_POS> token and cuts generations at the first "[").

Variants: `use_profiles=False` drops the two profiles (XRec's "w/o profile" ablation);
`slots=False` drops the placeholder clause: the prompt `llm-zeroshot` answers with
`model.prompt=xrec`, the same profiles without embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.records import Record

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
