"""A reported metric name: `base[checkpoint,variant,...]`, parsed and formatted in one place.

The checkpoint (and any variant, e.g. `bf16`) is part of the name, so numbers from different
scorers never share a column: `bertscore_f1[roberta-large]`, `bertscore_f1[all-MiniLM-L6-v2,bf16]`,
`rmse` (a formula has none). A metric's population std is `<base>_std[...]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"(?P<base>[^\[\]]+)(?:\[(?P<tag>[^\[\]]*)\])?")
STD_SUFFIX = "_std"


@dataclass(frozen=True)
class MetricName:
    base: str
    tag: str | None = None  # "checkpoint[,variant...]" inside the brackets; None: no brackets

    @classmethod
    def parse(cls, name: str) -> MetricName:
        """`bertscore_f1_std[roberta-large]` -> MetricName("bertscore_f1_std", "roberta-large");
        a name that is not of that form is all base."""
        m = _NAME.fullmatch(name)
        if not m:
            return cls(name)
        return cls(m.group("base"), m.group("tag") or None)

    def __str__(self) -> str:
        return f"{self.base}[{self.tag}]" if self.tag else self.base

    @property
    def parts(self) -> tuple[str, ...]:
        """The checkpoint and variants: ("all-MiniLM-L6-v2", "bf16")."""
        return tuple(self.tag.split(",")) if self.tag else ()

    @property
    def is_std(self) -> bool:
        return self.base.endswith(STD_SUFFIX)

    def std(self) -> MetricName:
        """The name of this metric's population std: bertscore_f1_std[roberta-large]."""
        return MetricName(self.base + STD_SUFFIX, self.tag)

    def of_mean(self) -> MetricName:
        """bertscore_f1_std[...] -> bertscore_f1[...]; a mean's name is itself."""
        return MetricName(self.base[: -len(STD_SUFFIX)], self.tag) if self.is_std else self

    def path(self) -> str:
        """The name as a path, for trackers: bertscore_f1/all-MiniLM-L6-v2/bf16."""
        return "/".join((self.base, *self.parts))


def metric_name(base: str, tag: str | None) -> str:
    """`bertscore_f1` + `roberta-large` -> `bertscore_f1[roberta-large]`; no tag, no brackets."""
    return str(MetricName(base, tag or None))
