"""A component's settings: one typed dataclass per scorer, judge or endpoint, read from the
run's eval section (`BERTScoreSettings.of(eval_cfg).bertscore_model`).

A metric names the settings it reads (`Metric.settings_classes`); the eval section is the
suite's own keys plus the fields of every registered metric's settings (metrics.settings), so
a plugin metric brings its own keys. Each settings class has a `section`: its keys may be
written `eval.<section>.<key>` (`eval.bertscore.model`) or flat, as they are stored
(`eval.bertscore_model`); `<key>` is the field name less a leading `<section>_`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Self


@dataclass
class Settings:
    section: ClassVar[str] = ""  # eval.<section>.<key> reads the field <section>_<key> or <key>
    # False (a plugin's or a later scorer's settings): its keys enter the run id only when set
    # away from their defaults, so installing a plugin renames no run; True: the keys that were
    # in run ids before settings could be added (the built-in scorers'), hashed always
    always_hashed: ClassVar[bool] = False

    @classmethod
    def of(cls, eval_cfg: Any) -> Self:
        """This component's keys from an EvalConfig (None, or a partial object: defaults)."""
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{n: getattr(eval_cfg, n) for n in names if hasattr(eval_cfg, n)})

    @classmethod
    def nested_names(cls) -> dict[str, str]:
        """{key under eval.<section>: field name}: the field less a leading "<section>_"."""
        prefix = f"{cls.section}_"
        return {
            (f.name[len(prefix):] if f.name.startswith(prefix) else f.name): f.name
            for f in dataclasses.fields(cls)
        }
