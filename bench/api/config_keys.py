"""Dotted config keys: `--set a.b=value` parsed, nested sections flattened to "a.b" keys, and
config values compared with float tolerance. Shared by the run configuration (bench.config),
run identity and the tables' row selectors."""

from __future__ import annotations

import math
from typing import Any

import yaml

from bench.api.errors import ConfigError


def parse_set(expr: str) -> dict[str, Any]:
    """`a.b=value` -> {"a": {"b": value}}; the value is read as YAML (numbers, bools, lists)."""
    if "=" not in expr:
        raise ConfigError(f"--set expects key=value, got {expr!r}")
    key, raw = expr.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set has an empty key in {expr!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {key}: cannot read value {raw!r}: {exc}") from None
    out: dict[str, Any] = {}
    node = out
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{"model": {"lr": 0.1}, "eval": {"metrics": [...]}} -> {"model.lr": 0.1, "eval.metrics": [...]};
    an empty section stays as its key with {}."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict) and value:
                out.update(flatten(value, path))
            else:
                out[path] = value
    return out


def same_setting(a: Any, b: Any) -> bool:
    """Equal config values; numbers within float tolerance (0.1 from yaml == 0.1 computed)."""
    numeric = (int, float)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b
