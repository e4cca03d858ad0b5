"""Qwen3's thinking switch: every chat template erbench renders gets enable_thinking=False, so a
Qwen3 student answers instead of opening with <think> (issue #23). The template here is the
generation-prompt part of Qwen3's, written from its documented behaviour: with the switch off it
closes an empty think block itself; otherwise the model starts thinking."""

from __future__ import annotations

import pytest

QWEN3_LIKE = (
    "{%- for m in messages %}{{- '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- endif %}{%- endif %}"
)


@pytest.fixture(scope="module")
def qwen3_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "<|im_start|>": 1, "<|im_end|>": 2, "<think>": 3, "</think>": 4}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]", eos_token="<|im_end|>")
    tok.chat_template = QWEN3_LIKE
    return tok


def test_render_chat_turns_qwen3_thinking_off(qwen3_tokenizer):
    from bench.backbones.generate import render_chat

    text = render_chat(qwen3_tokenizer, "Explain the rating.")
    assert text == "<|im_start|>user\nExplain the rating.<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"


def test_currrl_prompt_budget_counts_the_closed_think_block(qwen3_tokenizer):
    """The prompt budget is measured on the prompt as rendered (thinking off): its overhead
    includes the empty think block's two tokens."""
    from bench.backbones.generate import CHAT_TEMPLATE_KWARGS

    empty = [{"role": "user", "content": ""}]
    on = qwen3_tokenizer.apply_chat_template(empty, add_generation_prompt=True, tokenize=True, return_dict=True)
    off = qwen3_tokenizer.apply_chat_template(
        empty, add_generation_prompt=True, tokenize=True, return_dict=True, **CHAT_TEMPLATE_KWARGS
    )
    assert len(off["input_ids"]) == len(on["input_ids"]) + 2


def test_trl_trainers_get_thinking_off(tmp_path):
    from bench.adapters import trl as T

    rows = T._thinking_off([
        {"prompt": [{"role": "user", "content": "x"}], "completion": [{"role": "assistant", "content": "y"}]},
        {"prompt": "plain text", "completion": "y"},
    ])  # fmt: skip
    assert rows[0]["chat_template_kwargs"] == {"enable_thinking": False}
    assert "chat_template_kwargs" not in rows[1]
    config = T.grpo_config(T.GRPOSettings(num_generations=2, per_device_train_batch_size=2, max_steps=1, device="cpu"), tmp_path)
    assert config.chat_template_kwargs == {"enable_thinking": False}


def test_render_chat_on_the_qwen3_stand_in_closes_the_think_block():
    """The same on the Qwen3 stand-in (tests/standins/llms.py: its template behaves as Qwen3's)."""
    from bench.backbones.generate import render_chat
    from bench.backbones.hf import load_tokenizer
    from tests.standins.llms import for_checkpoint

    tokenizer = load_tokenizer(str(for_checkpoint("Qwen/Qwen3-0.6B")))
    text = render_chat(tokenizer, "Explain the rating.")
    assert text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    thinking = tokenizer.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False,
                                             add_generation_prompt=True)  # fmt: skip
    assert thinking.endswith("<|im_start|>assistant\n")  # what render_chat sent before: the model thinks


def test_trl_renders_the_rows_with_thinking_off_on_the_qwen3_stand_in():
    """What SFT / DPO / ORPO train on (TRL's maybe_apply_chat_template reads the row's
    chat_template_kwargs) is the prompt render_chat generates from: think block closed."""
    from trl.data_utils import maybe_apply_chat_template

    from bench.adapters.trl import _thinking_off
    from bench.backbones.hf import load_tokenizer
    from tests.standins.llms import for_checkpoint

    tokenizer = load_tokenizer(str(for_checkpoint("Qwen/Qwen3-0.6B")))
    row = _thinking_off([{"prompt": [{"role": "user", "content": "Why?"}],
                          "chosen": [{"role": "assistant", "content": "Good strings."}],
                          "rejected": [{"role": "assistant", "content": "Bad."}]}])[0]  # fmt: skip
    rendered = maybe_apply_chat_template(row, tokenizer)
    assert rendered["prompt"].endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
