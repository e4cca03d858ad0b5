"""Range checks of configuration values, driven by the dataclasses' field metadata.

A field declares its range with `field(metadata=in_range(low, high))` (inclusive; None: open;
`exclusive_low=True` for "> low"). A field that declares none gets the house rule for its name
and type, `default_range`: every count (an int) is >= 0, and >= 1 where 0 would leave nothing
to do (epochs, batch sizes, beams...); learning rates are > 0; dropouts, top_p and ratios are
fractions; every float is finite. Before, `--set model.max_epochs=-5` trained nothing and
failed after data loading with `AttributeError: 'MFBias' object has no attribute 'state'`.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any

from bench.api.errors import ConfigError

RANGE = "erbench_range"  # the field-metadata key


@dataclass(frozen=True)
class Range:
    low: float | None = None
    high: float | None = None
    exclusive_low: bool = False

    def holds(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.exclusive_low else value < self.low):
            return False
        return self.high is None or value <= self.high

    def text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"in [{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{'>' if self.exclusive_low else '>='} {self.low:g}"
        return f"<= {self.high:g}" if self.high is not None else "finite"


def in_range(
    low: float | None = None, high: float | None = None, *, exclusive_low: bool = False
) -> dict[str, Range]:
    """Field metadata: `max_epochs: int = field(default=300, metadata=in_range(1))`."""
    return {RANGE: Range(low, high, exclusive_low)}


ANY = Range()
COUNT = Range(0)
POSITIVE_COUNT = Range(1)
POSITIVE = Range(0, exclusive_low=True)
FRACTION = Range(0, 1)

# counts whose 0 would leave nothing to do: exact names, then name endings after "_"
# (ic_epochs=0 or ctr_pretrain_epochs=0 skip a phase on purpose, so only these)
_AT_LEAST_ONE = frozenset({
    "epochs", "max_epochs", "iterations", "num_beams", "num_generations", "nhead", "nlayers",
    "nhid", "emsize", "lora_r", "grad_accum", "gradient_accumulation_steps", "minibatch_size",
    "prompts_per_step", "samples_per_record", "threads", "max_records", "words",
})  # fmt: skip
_AT_LEAST_ONE_ENDINGS = (
    "batch_size",
    "max_new_tokens",
    "max_length",
    "max_concurrency",
    "max_tokens",
    "max_tries",
)


def _ends(name: str, endings: tuple[str, ...]) -> bool:
    return any(name == e or name.endswith("_" + e) for e in endings)


def default_range(name: str, hint: Any) -> Range:
    """The house rule for a field that declares no range (see the module docstring)."""
    kinds = {h for h in (typing.get_args(hint) or (hint,)) if h in (int, float)}
    if float in kinds:
        if _ends(name, ("lr", "learning_rate")):
            return POSITIVE
        if _ends(name, ("dropout", "top_p", "ratio")):
            return FRACTION
        if _ends(
            name, ("reg", "weight_decay", "temperature", "max_grad_norm", "epochs", "timeout_s")
        ):
            return COUNT  # >= 0
        return ANY
    if int in kinds:
        return (
            POSITIVE_COUNT if name in _AT_LEAST_ONE or _ends(name, _AT_LEAST_ONE_ENDINGS) else COUNT
        )
    return ANY


def check_ranges(obj: Any, path: str = "") -> None:
    """Raise a one-line ConfigError naming the first field of dataclass `obj` (nested ones
    included) whose value is out of its range or not finite."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{path}.{f.name}" if path else f.name
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            check_ranges(value, key)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue  # None (unset), strings, lists: their types are checked elsewhere
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"config key {key!r} expects a finite number, got {value!r}")
        bounds = f.metadata.get(RANGE) or default_range(f.name, hints.get(f.name))
        if not bounds.holds(value):
            kind = "an integer" if isinstance(value, int) else "a number"
            raise ConfigError(f"config key {key!r} expects {kind} {bounds.text()}, got {value!r}")
