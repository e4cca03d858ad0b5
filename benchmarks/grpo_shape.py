"""The GRPO batch shape the generation and step benchmarks share: Curr-RLCER's tiny profile
(2 prompts x G=4, prompts up to 160 tokens) as command-line options."""

from __future__ import annotations

import argparse


def add_shape_args(ap: argparse.ArgumentParser, new_tokens: int) -> None:
    ap.add_argument("--backbone", default="embedded")
    ap.add_argument("--prompts", type=int, default=2)
    ap.add_argument("--g", type=int, default=4)
    ap.add_argument("--prompt-tokens", type=int, default=160)
    ap.add_argument("--new-tokens", type=int, default=new_tokens)
    ap.add_argument("--rounds", type=int, default=2)


def prompt_lengths(args: argparse.Namespace) -> list[int]:
    """Tokens of each prompt: 17 fewer for each next one, so the batch is left-padded too."""
    return [args.prompt_tokens - 17 * i for i in range(args.prompts)]
