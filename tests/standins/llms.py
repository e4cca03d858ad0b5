"""Tiny random-weight stand-ins for the causal LMs the `paper` profiles load.

Each stand-in has its real checkpoint's architecture class, its special tokens, its chat
template and its generation_config.json defaults, at toy size (hidden 64, 2 layers, a
byte-level BPE vocabulary of ~600 tokens trained here on a few sentences). What is kept from
the real checkpoints, because code paths depend on it:

- Qwen2.5-*-Instruct (Qwen2ForCausalLM): ChatML with Qwen's default system prompt, eos
  <|im_end|>, pad <|endoftext|>, no bos; q/k/v biases; GQA; tied embeddings; an embedding
  matrix larger than the tokenizer (real: 151,936 rows for 151,665 tokens).
- Qwen3 (Qwen3ForCausalLM): ChatML without a default system prompt, <think>/</think> as
  added tokens that are NOT special (skip_special_tokens keeps them, as in the real one), a
  head_dim decoupled from hidden/heads, q/k norms, and a chat template that behaves as Qwen3's
  documented one: `enable_thinking=False` appends an empty "<think>\\n\\n</think>\\n\\n" block to
  the generation prompt; the last assistant turn after the last user turn is rendered with a
  (possibly empty) think block; earlier assistant turns lose theirs.
- Meta-Llama-3-8B-Instruct (LlamaForCausalLM): <|begin_of_text|> added by the tokenizer and
  written by the template, <|start_header_id|>role<|end_header_id|>, <|eot_id|> as eos, both
  <|end_of_text|> and <|eot_id|> stop generation, NO pad token, an effectively unlimited
  model_max_length.
- Llama-2-7b-chat (LlamaForCausalLM): <s>/</s>/<unk> at ids 1/2/0, "<s>[INST] <<SYS>>...
  <</SYS>>\\n\\n... [/INST]" (the real template ignores add_generation_prompt), NO pad token,
  full multi-head attention (XRec's q/k/v injection needs k/v as wide as the hidden state),
  and a generation_config that samples (temperature 0.6, top_p 0.9) as the real one does.

`dtype="bfloat16"` saves the weights (and config.dtype) in bf16, as the real checkpoints are
stored and as CUDA loads them. `for_checkpoint(hf_id)` maps a real id a profile names to its
stand-in folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.standins import cached_folder

VERSION = "2"
BPE_VOCAB = 600  # byte-level alphabet (256) + merges learned from CORPUS
# initializer_range 0.3 (real: 0.02): at 0.02 a random Qwen greedily repeats "\n" forever, so every
# explanation would be empty; at 0.3 each stand-in writes varied, decodable text.
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            initializer_range=0.3)

CORPUS = [
    "The user liked the item because the sound is great and the strings stay in tune.",
    "I would recommend this product: it is cheap, solid, and the case protects it well.",
    "Rating: 5 stars. The guitar tuner works fine, the cable broke after a week.",
    "Explanation: you will enjoy this movie since you liked action films and comedies.",
    "The user has watched Toy Story, Star Wars, The Godfather and Titanic before.",
    "Will the user like the target item? Answer Yes or No. Yes. No.",
    "<think> The user gave high ratings to similar items. </think> <answer> 4 </answer>",
    "Write a short explanation of why the user would enjoy the recommended item.",
    "user profile: likes rock music, plays bass; item profile: a compact amplifier.",
    "Based on the reviews, the user prefers durable, well made accessories at a fair price.",
    "Judge which explanation is better. Reply with A or B and a score from 1 to 10.",
    "0 1 2 3 4 5 6 7 8 9 10 100 1000 , . ; : ! ? ' \" ( ) [ ] { } - _ / * + = < > |",
]


@dataclass(frozen=True)
class Family:
    """What one real checkpoint family looks like, at stand-in size."""

    name: str
    config_class: str  # a transformers config class name
    specials: tuple[str, ...]  # special tokens, ids 0.. in this order
    bos: str | None
    eos: str
    pad: str | None
    unk: str | None = None
    chat_template: str = ""
    added: tuple[str, ...] = ()  # added, non-special tokens (Qwen3's <think>, </think>)
    bos_prepended: bool = False  # the tokenizer itself adds bos (Llama)
    model_max_length: int = 32768
    vocab_padding: int = 0  # embedding rows beyond the tokenizer (Qwen pads its matrix)
    generation_eos: tuple[str, ...] = ()  # generation_config.eos_token_id (default: eos)
    sampling: dict[str, Any] = field(default_factory=dict)  # generation_config.json defaults
    config: dict[str, Any] = field(default_factory=dict)


CHATML_QWEN25 = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message['role'] == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Qwen3's documented behaviour (model card, "Switching Between Thinking and Non-Thinking Mode"):
# enable_thinking=False adds an empty think block to the generation prompt; the final assistant
# turn (after the last user turn) carries a think block, empty when no reasoning is given;
# reasoning in earlier assistant turns is dropped from the history.
CHATML_QWEN3 = (
    "{%- set ns = namespace(last_query=-1) %}"
    "{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.last_query = loop.index0 %}"
    "{%- endif %}{%- endfor %}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{%- set content = message['content'] %}{%- set reasoning = message.get('reasoning_content', '') or '' %}"
    "{%- if '</think>' in content %}"
    "{%- set reasoning = content.split('</think>')[0].split('<think>')[-1] %}"
    "{%- set content = content.split('</think>')[-1] %}"
    "{%- endif %}"
    "{%- if loop.index0 > ns.last_query and (loop.last or reasoning) %}"
    "{{- '<|im_start|>assistant\\n<think>\\n' + reasoning.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}"
    "{%- else %}"
    "{{- '<|im_start|>assistant\\n' + content.lstrip('\\n') }}"
    "{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)

# Meta-Llama-3-8B-Instruct's tokenizer_config.json chat_template, verbatim.
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

# Llama-2-7b-chat-hf's tokenizer_config.json chat_template, verbatim (no generation prompt).
LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)

HUGE_MAX_LENGTH = 1000000000000000019884624838656  # what Llama's tokenizer_config.json says

FAMILIES: dict[str, Family] = {
    "qwen2.5-instruct": Family(
        "qwen2.5-instruct", "Qwen2Config", ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
        bos=None, eos="<|im_end|>", pad="<|endoftext|>", chat_template=CHATML_QWEN25,
        model_max_length=131072, vocab_padding=40, generation_eos=("<|im_end|>", "<|endoftext|>"),
        sampling=dict(do_sample=True, temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.05),
        config=dict(num_key_value_heads=2, tie_word_embeddings=True, max_position_embeddings=32768,
                    rope_theta=1000000.0, rms_norm_eps=1e-6),
    ),  # fmt: skip
    "qwen3": Family(
        "qwen3", "Qwen3Config", ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
        bos=None, eos="<|im_end|>", pad="<|endoftext|>", chat_template=CHATML_QWEN3,
        added=("<think>", "</think>"), model_max_length=131072, vocab_padding=40,
        generation_eos=("<|im_end|>", "<|endoftext|>"),
        sampling=dict(do_sample=True, temperature=0.6, top_p=0.95, top_k=20),
        config=dict(num_key_value_heads=2, head_dim=32, tie_word_embeddings=True,
                    max_position_embeddings=40960, rope_theta=1000000.0, rms_norm_eps=1e-6),
    ),  # fmt: skip
    "llama3-instruct": Family(
        "llama3-instruct", "LlamaConfig",
        ("<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
         "<|reserved_special_token_1|>", "<|start_header_id|>", "<|end_header_id|>",
         "<|reserved_special_token_2|>", "<|eot_id|>"),
        bos="<|begin_of_text|>", eos="<|eot_id|>", pad=None, chat_template=LLAMA3_TEMPLATE,
        bos_prepended=True, model_max_length=HUGE_MAX_LENGTH,
        generation_eos=("<|end_of_text|>", "<|eot_id|>"),
        sampling=dict(do_sample=True, temperature=0.6, top_p=0.9),
        config=dict(num_key_value_heads=2, tie_word_embeddings=False, max_position_embeddings=8192,
                    rope_theta=500000.0, rms_norm_eps=1e-5),
    ),  # fmt: skip
    "llama2-chat": Family(
        "llama2-chat", "LlamaConfig", ("<unk>", "<s>", "</s>"),
        bos="<s>", eos="</s>", pad=None, unk="<unk>", chat_template=LLAMA2_TEMPLATE,
        bos_prepended=True, model_max_length=HUGE_MAX_LENGTH,
        sampling=dict(do_sample=True, temperature=0.6, top_p=0.9, max_length=4096),
        config=dict(num_key_value_heads=4, tie_word_embeddings=False, max_position_embeddings=4096,
                    rms_norm_eps=1e-5),
    ),  # fmt: skip
}

# Every causal-LM checkpoint a `paper` profile names (bench/configs/methods/*.yaml) -> stand-in.
CHECKPOINTS = {
    "Qwen/Qwen2.5-3B-Instruct": "qwen2.5-instruct",  # currrl
    "Qwen/Qwen2.5-7B-Instruct": "qwen2.5-instruct",  # llm-zeroshot
    "Qwen/Qwen3-0.6B": "qwen3",  # sft-distill, orpo-distill, distill-base
    "meta-llama/Meta-Llama-3-8B-Instruct": "llama3-instruct",  # expctr, tallrec, icl
    "meta-llama/Llama-2-7b-chat-hf": "llama2-chat",  # xrec
}


def build_tokenizer(family: Family) -> Any:
    """A byte-level BPE tokenizer (tokenizers library) with the family's special tokens, bos
    handling and chat template, wrapped as a transformers fast tokenizer."""
    from tokenizers import (
        AddedToken,
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_VOCAB + len(family.specials), special_tokens=list(family.specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )  # fmt: skip
    tok.train_from_iterator(CORPUS, trainer)
    if family.added:
        tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in family.added])
    if family.bos_prepended:
        bos = family.bos
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))]
        )  # fmt: skip
    named = {"bos_token": family.bos, "eos_token": family.eos, "pad_token": family.pad, "unk_token": family.unk}
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, model_max_length=family.model_max_length,
        **{k: v for k, v in named.items() if v is not None},
    )  # fmt: skip
    fast.chat_template = family.chat_template
    return fast


def build_model(family: Family, tokenizer: Any, dtype: str = "float32", seed: int = 0) -> Any:
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    config_class = getattr(transformers, family.config_class)
    ids = tokenizer.convert_tokens_to_ids
    eos_ids = [ids(t) for t in family.generation_eos] or [ids(family.eos)]
    config = config_class(
        vocab_size=len(tokenizer) + family.vocab_padding,
        bos_token_id=ids(family.bos) if family.bos else None,
        eos_token_id=ids(family.eos),
        pad_token_id=ids(family.pad) if family.pad else None,
        **TINY, **family.config,
    )  # fmt: skip
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model = model.to(getattr(torch, dtype))
    gen = model.generation_config
    gen.bos_token_id = config.bos_token_id
    gen.eos_token_id = eos_ids if len(eos_ids) > 1 else eos_ids[0]
    gen.pad_token_id = config.pad_token_id
    for key, value in family.sampling.items():
        setattr(gen, key, value)
    return model


def llm(name: str, dtype: str = "float32") -> Path:
    """The folder of stand-in `name` (a FAMILIES key) saved in `dtype`, built on first use."""
    family = FAMILIES[name]

    def build(folder: Path) -> None:
        tokenizer = build_tokenizer(family)
        model = build_model(family, tokenizer, dtype)
        model.save_pretrained(str(folder))
        tokenizer.save_pretrained(str(folder))
        (folder / "STANDIN.json").write_text(json.dumps(
            {"stands_for": [k for k, v in CHECKPOINTS.items() if v == name], "dtype": dtype,
             "built_by": "tests/standins/llms.py", "version": VERSION}, indent=1))  # fmt: skip

    return cached_folder(f"llm-{name}-{dtype}", VERSION, build)


def for_checkpoint(hf_id: str, dtype: str = "float32") -> Path:
    """The stand-in folder for a real checkpoint id a `paper` profile names."""
    if hf_id not in CHECKPOINTS:
        raise KeyError(f"no LLM stand-in for {hf_id!r}; known: {sorted(CHECKPOINTS)}")
    return llm(CHECKPOINTS[hf_id], dtype)
