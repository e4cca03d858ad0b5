"""XRec's prompt, its placeholder positions and the padded training rows (methods/explanation_prompt.py, methods/xrec/prompts.py, examples.py)."""

from __future__ import annotations

import pytest
import torch

from bench.api.records import Record
from methods.explanation_prompt import ITEM_SLOT, USER_SLOT, PromptSpec, item_noun, messages
from methods.xrec.examples import IGNORE, encode, trim
from methods.xrec.prompts import encode_prompt

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from bench.backbones.embedded import embedded_tokenizer_dir
    from bench.backbones.hf import prepare_tokenizer

    return prepare_tokenizer(AutoTokenizer.from_pretrained(str(embedded_tokenizer_dir())))


def _record(**kw) -> Record:
    base = dict(user_id="u1", item_id="i1", title="Capo", user_profile="plays folk guitar",
                item_profile="a spring capo", reference_explanation="It clamps fast and holds tune.")  # fmt: skip
    return Record(**{**base, **kw})


def test_prompt_carries_placeholders_title_and_profiles():
    chat = messages(_record(), PromptSpec(noun="book", words=50))
    assert chat[0] == {"role": "system", "content": "Explain why the user would enjoy the book in at most 50 words."}
    assert chat[1]["content"] == (
        f"user record: {USER_SLOT} book record: {ITEM_SLOT} book name: Capo "
        "user profile: plays folk guitar book profile: a spring capo"
    )


def test_prompt_variants():
    no_profiles = messages(_record(), PromptSpec(use_profiles=False))[1]["content"]
    assert "profile" not in no_profiles and USER_SLOT in no_profiles
    zero_shot = messages(_record(title=""), PromptSpec(), slots=False)[1]["content"]
    assert zero_shot == "user profile: plays folk guitar item profile: a spring capo"
    assert "unknown" in messages(_record(user_profile=""), PromptSpec())[1]["content"]
    assert item_noun("xrec-amazon") == "book" and item_noun("xrec-yelp") == "business"
    assert item_noun("amazon-instruments") == "item"


def test_placeholders_become_single_tokens_at_the_returned_positions(tokenizer):
    chat = messages(_record(), PromptSpec())
    ids, positions = encode_prompt(tokenizer, chat, placeholder_id=7)
    assert [ids[p] for p in positions] == [7, 7] and ids.count(7) == 2
    from bench.backbones.generate import render_chat

    text = render_chat(tokenizer, chat)
    before_user = text.split(USER_SLOT)[0]
    assert tokenizer.decode(ids[: positions[0]]) == before_user
    assert tokenizer.decode(ids[positions[0] + 1 : positions[1]]) == text.split(USER_SLOT)[1].split(ITEM_SLOT)[0]
    assert text.endswith("<|im_start|>assistant\n")  # the explanation is the assistant turn


def test_training_rows_are_left_padded_and_label_only_the_explanation(tokenizer):
    records = [_record(), _record(user_id="u2", user_profile="a much longer profile " * 4, reference_explanation="Good.")]
    table = {"u1": 0, "u2": 1}
    tensors = encode(records, tokenizer, PromptSpec(), lambda r: (table[r.user_id], 3), with_target=True)
    ids, mask, labels, slots = tensors["input_ids"], tensors["attention_mask"], tensors["labels"], tensors["slots"]
    assert tensors["user"].tolist() == [0, 1] and tensors["item"].tolist() == [3, 3]
    pad = int((mask[0] == 0).sum())
    assert pad > 0 and int((mask[1] == 0).sum()) == 0  # the shorter row is padded on the left
    for row, record in enumerate(records):
        target = tokenizer(record.reference_explanation, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        kept = labels[row][labels[row] != IGNORE].tolist()
        assert kept == target and ids[row, -len(target) :].tolist() == target  # explanation + eos, at the end
        assert (labels[row, : ids.shape[1] - len(target)] == IGNORE).all()  # prompt and padding masked
    assert slots[0].tolist() == [p + pad for p in encode_prompt(tokenizer, messages(records[0], PromptSpec()), 0)[1]]
    short = trim({k: v[:1] for k, v in tensors.items()})
    assert short["input_ids"].shape[1] == ids.shape[1] - pad and (short["attention_mask"] == 1).all()
    assert torch.equal(short["input_ids"][0, short["slots"][0]], ids[0, slots[0]])


def test_targets_are_capped(tokenizer):
    long = _record(reference_explanation="word " * 50)
    tensors = encode([long], tokenizer, PromptSpec(), lambda r: (0, 0), with_target=True, max_target_tokens=5)
    assert int((tensors["labels"] != IGNORE).sum()) == 6  # 5 tokens + eos
    prompt_only = encode([long], tokenizer, PromptSpec(), lambda r: (0, 0), with_target=False)
    assert "labels" not in prompt_only


def test_llm_zeroshot_answers_xrecs_prompt_without_placeholders(tokenizer, tmp_path):
    """llm-zeroshot with model.prompt=xrec: the comparison row gets XRec's profiles, no embeddings."""
    from bench.api.run_folder import RunContext
    from bench.config import RunConfig, build_dataclass
    from methods.currrl.method import LLMZeroShot

    run = RunContext(tmp_path, RunConfig(method="llm-zeroshot", dataset="xrec-amazon", device="cpu"), quiet=True)
    params = build_dataclass(LLMZeroShot.Params, {"prompt": "xrec", "prompt_words": 15}, "model")
    method = LLMZeroShot(params, run)
    method.tokenizer = tokenizer
    record = _record(review="the review text the XRec prompt never shows")
    chat = method.prompt("explain", record)
    assert chat == messages(record, PromptSpec(noun="book", words=15), slots=False)
    assert "review" not in chat[1]["content"] and USER_SLOT not in chat[1]["content"]
    assert "plays folk guitar" in chat[1]["content"]
    default = LLMZeroShot(build_dataclass(LLMZeroShot.Params, {}, "model"), run)
    default.tokenizer = tokenizer
    assert "the review text" in default.prompt("explain", record)[-1]["content"]  # Curr-RLCER's prompt
