"""The LLM stand-ins behave as their real checkpoints do where erbench's code depends on it:
special tokens, pad/bos handling, chat templates (Qwen3's thinking switch), bf16 storage."""

from __future__ import annotations

import json

import pytest

from tests.standins import llms

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why this item?"}]


def _tok(name, dtype="float32"):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(llms.llm(name, dtype)))


def test_qwen3_thinking_switch_follows_the_documented_template():
    tok = _tok("qwen3")
    on = tok.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    off = tok.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    assert on.endswith("<|im_start|>assistant\n")
    assert off == on + "<think>\n\n</think>\n\n"
    # the final assistant turn carries a (here empty) think block; an earlier one loses its reasoning
    convo = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "<think>x</think>\n\nb"},
             {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]  # fmt: skip
    text = tok.apply_chat_template(convo, tokenize=False)
    assert "<|im_start|>assistant\nb<|im_end|>" in text and "x" not in text.replace("<|im_start|>", "")
    assert text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\nd<|im_end|>\n")
    # <think> is an added token but not special: skip_special_tokens keeps it, as in Qwen3
    ids = tok("<think>\nhm\n</think>", add_special_tokens=False).input_ids
    assert tok.convert_tokens_to_ids("<think>") in ids
    assert tok.decode(ids, skip_special_tokens=True).startswith("<think>")


def test_qwen25_chatml_with_default_system_prompt():
    tok = _tok("qwen2.5-instruct")
    text = tok.apply_chat_template([MESSAGES[1]], tokenize=False, add_generation_prompt=True)
    assert text.startswith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud.")
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>" and tok.bos_token is None


def test_llama_tokenizers_have_no_pad_and_prepend_bos():
    l3, l2 = _tok("llama3-instruct"), _tok("llama2-chat")
    assert l3.pad_token is None and l2.pad_token is None
    assert l3("hi").input_ids[0] == l3.convert_tokens_to_ids("<|begin_of_text|>")
    assert l2("hi").input_ids[0] == 1 and l2.eos_token_id == 2 and l2.unk_token_id == 0
    text = l3.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    assert text == ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                    "<|start_header_id|>user<|end_header_id|>\n\nWhy this item?<|eot_id|>"
                    "<|start_header_id|>assistant<|end_header_id|>\n\n")  # fmt: skip
    text = l2.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    assert text == "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWhy this item? [/INST]"


@pytest.mark.parametrize("name,arch", [("qwen2.5-instruct", "Qwen2ForCausalLM"), ("qwen3", "Qwen3ForCausalLM"),
                                       ("llama3-instruct", "LlamaForCausalLM"), ("llama2-chat", "LlamaForCausalLM")])  # fmt: skip
def test_model_folders_have_the_real_architecture_and_generation_defaults(name, arch):
    folder = llms.llm(name)
    config = json.loads((folder / "config.json").read_text())
    gen = json.loads((folder / "generation_config.json").read_text())
    assert config["architectures"] == [arch] and config["num_hidden_layers"] == 2
    assert gen["do_sample"] is True  # every real one samples by default
    if name == "llama3-instruct":
        ids = _tok(name).convert_tokens_to_ids
        assert gen["eos_token_id"] == [ids("<|end_of_text|>"), ids("<|eot_id|>")]


def test_bf16_variant_is_stored_in_bf16():
    from transformers import AutoModelForCausalLM

    folder = llms.for_checkpoint("Qwen/Qwen2.5-3B-Instruct", "bfloat16")
    model = AutoModelForCausalLM.from_pretrained(str(folder))
    assert str(model.dtype) == "torch.bfloat16"
    assert json.loads((folder / "config.json").read_text())["dtype"] == "bfloat16"


def test_every_llm_a_paper_profile_names_has_a_standin():
    from bench.api.registry import METHODS
    from bench.config import method_yaml, read_yaml

    named = set()
    for method in METHODS.names():
        path = method_yaml(method)
        profiles = (read_yaml(path).get("profiles") or {}) if path.exists() else {}
        for name, profile in profiles.items():
            model = (profile or {}).get("model") or {}
            if name.startswith("paper") and isinstance(model.get("backbone"), str):
                named.add(model["backbone"])
    assert named and named <= set(llms.CHECKPOINTS), named - set(llms.CHECKPOINTS)
