"""SFT rows whose prompt alone fills max_length: TRL's SFTTrainer drops them silently, and with
every row dropped it died with "num_samples should be a positive integer value, but got
num_samples=0" deep in its sampler (seen with a distillation student at max_length 256). Now
one ConfigError naming max_length before any training; a partial loss is logged."""

from __future__ import annotations

import logging

import pytest

from bench.api.errors import ConfigError
from tests.standins import llms


def _tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(llms.llm("qwen3")))


def _row(words: int) -> dict:
    return {"prompt": [{"role": "user", "content": " ".join(["recommend"] * words)}],
            "completion": [{"role": "assistant", "content": "Because you liked it."}]}  # fmt: skip


def test_every_prompt_filling_max_length_is_one_config_error(tmp_path):
    from transformers import AutoModelForCausalLM

    from bench.adapters.trl import TrainSettings, train_sft

    tok = _tokenizer()
    model = AutoModelForCausalLM.from_pretrained(str(llms.llm("qwen3")))
    with pytest.raises(ConfigError, match=r"max_length=16: every one of the 2 SFT prompts"):
        train_sft(model, tok, [_row(40), _row(50)], TrainSettings(max_steps=1, device="cpu"), tmp_path, max_length=16)


def test_some_prompts_filling_max_length_are_logged(caplog):
    from bench.adapters.trl import check_sft_prompt_lengths, prompt_tokens

    tok = _tokenizer()
    short, long = _row(1), _row(60)
    limit = prompt_tokens(tok, long["prompt"])
    assert prompt_tokens(tok, short["prompt"]) < limit
    with caplog.at_level(logging.WARNING, logger="bench.adapters.trl"):
        check_sft_prompt_lengths(tok, [short, long], limit)
    assert f"max_length={limit}: 1 of 2 SFT prompts fill it" in caplog.text
