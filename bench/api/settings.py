"""A component's settings: one typed dataclass per scorer, judge or endpoint, read from the
run's eval section (`BERTScoreSettings.of(eval_cfg).bertscore_model`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Self


@dataclass
class Settings:
    @classmethod
    def of(cls, eval_cfg: Any) -> Self:
        """This component's keys from an EvalConfig (None, or a partial object: defaults)."""
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{n: getattr(eval_cfg, n) for n in names if hasattr(eval_cfg, n)})
