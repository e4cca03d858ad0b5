"""Curr-RLCER (curriculum RL for explanation-coherent recommendation) and the zero-shot
LLM baseline that shares its prompts. See method.py for the pipeline."""
