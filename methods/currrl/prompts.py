"""The task prompts of Curr-RLCER (Fig. 1) and the <think>/<answer> output format.

Every prompt gives the user profile, item profile and review of one record, as the paper's
(Fig. 1, §3.3: "user and item profile information, as well as review data, are used as
inputs"); the system message asks for the DeepSeek-R1 style output format that the format
reward checks. Prompts are kept under `max_prompt_tokens` (paper: 512) by trimming the
longest fields first.

The review is the record's OWN review, the text its rating and its reference explanation
come from (the reference is a sentence of it: bench.data.profiles). So stage 1-2 answers
can be read off the review's sentiment, and eq. 6 (cosine to the reference) rewards copying
the review into the explanation. `review=False` (model.review_in_prompt=false) drops the
review from every prompt and the task text: the leakage-free variant, in which the ratings
and explanations must come from the profiles alone.
"""

from __future__ import annotations

from typing import Any

from bench.api.records import Record
from bench.backbones.generate import CHAT_TEMPLATE_KWARGS

# The output format of Fig. 1 (<think> reasoning </think><answer> answer </answer>), stated
# as a system message. "r1": the DeepSeek-R1-Zero template (~95 tokens); "short" (default):
# the same instruction in ~35 tokens, which leaves more of the 512-token budget to the record.
SYSTEM_PROMPTS = {
    "short": (
        "First think about the question inside <think> </think>, then give the final answer "
        "inside <answer> </answer>, i.e. <think> reasoning </think><answer> answer </answer>"
    ),
    "r1": (
        "A conversation between User and Assistant. The user asks a question, and the Assistant "
        "solves it. The assistant first thinks about the reasoning process in the mind and then "
        "provides the user with the answer. The reasoning process and answer are enclosed within "
        "<think> </think> and <answer> </answer> tags, respectively, i.e., "
        "<think> reasoning process here </think><answer> answer here </answer>"
    ),
}
SYSTEM_PROMPT = SYSTEM_PROMPTS["short"]

RATING_OPTIONS = (1, 2, 3, 4, 5)

TASKS = {
    # Stage 1: Judgment (CTR yes/no)
    "judgment": (
        "Task: Given the profile and review of user and item, please judge the user whether "
        "like the item or not. Answer with \"Yes\" or \"No\" only."
    ),
    # Stage 2: Choose (rating from options)
    "choose": (
        "Task: Given the profile and review of user and item, please choose the most "
        "appropriate score from the following options to reflect the user's level of "
        "enjoying the item. Options: " + ", ".join(str(o) for o in RATING_OPTIONS) + ". "
        "Answer with one option only."
    ),
    # Stage 3: Generation (explanation)
    "explain": (
        "Task: Given the profile and review of user and item, please explain why the user "
        "would enjoy this item. Answer with a simple and fluent explanation."
    ),
}

FIELDS = ("user_profile", "item_profile", "review")


def _body(task: str, fields: dict[str, str]) -> str:
    if "review" not in fields:  # the leakage-free variant: profiles only
        return (
            f"{TASKS[task].replace('the profile and review of', 'the profiles of')} "
            f"User Profile:[{fields['user_profile']}]; Item Profile:[{fields['item_profile']}]."
        )
    return (
        f"{TASKS[task]} User Profile:[{fields['user_profile']}]; "
        f"Item Profile:[{fields['item_profile']}]; Review: [{fields['review']}]."
    )


def _system_text(system: bool | str) -> str | None:
    if system is True:
        return SYSTEM_PROMPT
    if not system or system == "none":
        return None
    if system not in SYSTEM_PROMPTS:
        raise KeyError(f"unknown system prompt {system!r}; known: {', '.join(SYSTEM_PROMPTS)}, none")
    return SYSTEM_PROMPTS[system]


def messages_for(task: str, fields: dict[str, str], system: bool | str = True) -> list[dict[str, str]]:
    text = _system_text(system)
    msgs = [{"role": "system", "content": text}] if text else []
    msgs.append({"role": "user", "content": _body(task, fields)})
    return msgs


def _fit_fields(fields: dict[str, str], budget: int, tokenizer: Any) -> dict[str, str]:
    """Water-fill `budget` tokens over the fields; longer fields are cut at the end."""
    ids = {k: tokenizer(v, add_special_tokens=False)["input_ids"] for k, v in fields.items()}
    if sum(len(v) for v in ids.values()) <= budget:
        return fields
    remaining, left = max(budget, 0), sorted(ids, key=lambda k: len(ids[k]))
    caps: dict[str, int] = {}
    while left:
        share = remaining // len(left)
        k = left[0]
        if len(ids[k]) <= share:
            caps[k] = len(ids[k])
            remaining -= caps[k]
            left.pop(0)
        else:
            for k in left:
                caps[k] = share
            break
    return {
        k: (fields[k] if caps[k] >= len(ids[k]) else tokenizer.decode(ids[k][: caps[k]]).strip() + " ...")
        for k in fields
    }


def build_prompt(
    task: str,
    record: Record,
    tokenizer: Any = None,
    max_prompt_tokens: int | None = 512,
    system: bool | str = True,
    review: bool = True,
) -> list[dict[str, str]]:
    """Chat messages for one record and task ("judgment", "choose", "explain"); `review=False`
    leaves the record's review out (see the module docstring)."""
    if task not in TASKS:
        raise KeyError(f"unknown Curr-RLCER task {task!r}; known: {', '.join(TASKS)}")
    names = FIELDS if review else tuple(k for k in FIELDS if k != "review")
    fields = {k: (getattr(record, k) or "").strip() or "unknown" for k in names}
    if tokenizer is None or not max_prompt_tokens:
        return messages_for(task, fields, system)
    empty = messages_for(task, {k: "" for k in names}, system)
    overhead = len(
        tokenizer.apply_chat_template(
            empty, tokenize=True, add_generation_prompt=True, return_dict=True, **CHAT_TEMPLATE_KWARGS
        )["input_ids"]
        if getattr(tokenizer, "chat_template", None)
        else tokenizer(" ".join(m["content"] for m in empty))["input_ids"]
    )
    return messages_for(task, _fit_fields(fields, max_prompt_tokens - overhead - 8, tokenizer), system)


def tagged(explanation: str, think: str = "Let's analyze the question.") -> str:
    """A response in the required output format (used for the DPO chosen side)."""
    return f"<think>\n{think}\n</think>\n<answer>{explanation.strip()}</answer>"
