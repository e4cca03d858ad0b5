"""Registers the built-in dataset specs (no heavy imports)."""
