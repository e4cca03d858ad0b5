"""The eval section of a run's configuration: the suite's own keys and every scorer's.

Each metric declares the settings dataclasses it reads (`Metric.settings_classes`, e.g.
BERTScore reads metrics.bertscore.BERTScoreSettings; GPTScore and the coherence judge also read
the chat endpoint's bench.backbones.chat_client.JudgeEndpointSettings) and reads them with
`BERTScoreSettings.of(eval_cfg)`. `EvalConfig` is built from the registry: `SuiteSettings`
below, then the fields of every registered metric's settings, so a plugin metric brings its
own keys, and an unknown key, a wrong type or a value outside a `Literal[...]` is a one-line
ConfigError when the config is built.

Keys are stored flat, as they always were (`eval.bertscore_model`: run ids and saved configs
keep working); `eval.<section>.<key>` (`eval.bertscore.model`, `eval.judge.timeout_s`) is the
same key written as its scorer's section (bench.api.settings.Settings.nested_names).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from dataclasses import dataclass, field
from typing import Any

from bench.api.errors import ConfigError
from bench.api.settings import Settings


@dataclass
class SuiteSettings:
    """The suite's own keys."""

    split: str = "test"
    # score a seeded random sample of N test records (the runner draws it, eval_sample.json)
    max_records: int | None = None
    metrics: list[str] = field(default_factory=list)  # empty: every applicable metric
    mask_ratio: float = 0.0  # robustness: fraction of input entities masked at test time

    def __post_init__(self) -> None:
        if not 0.0 <= self.mask_ratio <= 1.0:
            raise ConfigError(f"config key 'eval.mask_ratio' expects a fraction in [0, 1], got {self.mask_ratio!r}")


def settings_classes() -> tuple[type[Settings], ...]:
    """Every registered metric's settings classes, each once, in registry order."""
    from bench.api.registry import METRICS

    found: list[type[Settings]] = []
    for name in METRICS.names():
        for cls in getattr(METRICS.get(name), "settings_classes", ()):
            if cls not in found:
                found.append(cls)
    return tuple(found)


def eval_config_class() -> type:
    """The eval section's dataclass for the metrics registered now (module doc)."""
    return _eval_config_class(settings_classes())


@functools.cache
def _eval_config_class(classes: tuple[type[Settings], ...]) -> type:
    suite = {f.name for f in dataclasses.fields(SuiteSettings)}
    owners: dict[str, type[Settings]] = {}
    fields: list[tuple[str, Any, Any]] = []
    for cls in classes:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            other = owners.get(f.name) or (SuiteSettings if f.name in suite else None)
            if other is not None:
                raise ConfigError(
                    f"eval.{f.name} is declared by both {other.__qualname__} and {cls.__qualname__}"
                )
            owners[f.name] = cls
            default = (
                field(default_factory=f.default_factory)
                if f.default_factory is not dataclasses.MISSING
                else field(default=f.default)
            )
            fields.append((f.name, hints[f.name], default))
    sections = {cls.section: cls for cls in classes if cls.section}
    made = dataclasses.make_dataclass(
        "EvalConfig", fields, bases=(SuiteSettings,),
        namespace={"__module__": __name__, "fold": classmethod(_fold)},
    )  # fmt: skip
    made.__doc__ = "The eval section: SuiteSettings and the fields of every scorer's settings."
    made.sections = sections  # section name -> settings class, for eval.<section>.<key>
    made.owners = owners  # field name -> the settings class that declares it
    return made


def _fold(cls: type, section: dict[str, Any], where: str = "eval") -> dict[str, Any]:
    """`EvalConfig.fold({"bertscore": {"model": x}})` -> `{"bertscore_model": x}`: the nested
    spelling of a key folded into its stored, flat name; an unknown key inside a section is a
    ConfigError."""
    sections = cls.sections
    out: dict[str, Any] = {}
    for key, value in section.items():
        cls = sections.get(key)
        if cls is None or not isinstance(value, dict):
            out[key] = value
            continue
        names = cls.nested_names()
        for sub, sub_value in value.items():
            if sub not in names:
                raise ConfigError(
                    f"unknown config key '{where}.{key}.{sub}' (known: {', '.join(sorted(names))})"
                )
            out[names[sub]] = sub_value
    return out


def __getattr__(name: str) -> Any:
    if name == "EvalConfig":  # built from the registry when first asked for (module doc)
        return eval_config_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
