"""One generic registry for methods, datasets, metrics and tables.

Entries may be lazy ("module:attr" strings) so `bench ls` lists names and summaries
without importing torch. Out-of-tree packages add entries through entry-point groups
(`bench.methods`, `bench.datasets`, `bench.metrics`, `bench.tables`).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, TypeVar

from bench.errors import BenchError

T = TypeVar("T")


class RegistryError(BenchError):
    pass


@dataclass
class Entry(Generic[T]):
    name: str
    target: T | str  # the object, or "module:attr" to import on first use
    summary: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    origin: str = "builtin"

    @property
    def is_lazy(self) -> bool:
        return isinstance(self.target, str)


def import_target(target: str) -> Any:
    """Import "package.module:attr" (attr may be dotted)."""
    if ":" not in target:
        raise RegistryError(f"lazy target {target!r} must look like 'module:attr'")
    module_name, attr = target.split(":", 1)
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Named entries of one kind. Duplicate names raise; unknown names suggest close ones."""

    def __init__(self, kind: str, entry_point_group: str | None = None):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, Entry[T]] = {}
        self._plugins_loaded = False

    # -- registration -------------------------------------------------------------
    def register(
        self,
        name: str,
        target: T | str | None = None,
        *,
        summary: str = "",
        origin: str = "builtin",
        **meta: Any,
    ) -> Any:
        """Register `target` under `name`; without a target, act as a class/function decorator."""
        if target is None:

            def decorator(obj: T) -> T:
                self.register(name, obj, summary=summary, origin=origin, **meta)
                return obj

            return decorator
        if name in self._entries:
            raise RegistryError(
                f"{self.kind} {name!r} is already registered "
                f"(by {self._entries[name].origin}); pick another name"
            )
        if not summary and not isinstance(target, str):
            summary = (getattr(target, "__doc__", None) or "").strip().splitlines()[0:1]
            summary = summary[0] if summary else ""
        self._entries[name] = Entry(name, target, summary, dict(meta), origin)
        return target

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    # -- lookup ---------------------------------------------------------------------
    def load_plugins(self) -> None:
        """Add entries advertised by installed distributions under the entry-point group."""
        if self._plugins_loaded or not self.entry_point_group:
            return
        self._plugins_loaded = True
        for ep in metadata.entry_points(group=self.entry_point_group):
            if ep.name in self._entries:
                continue  # an in-tree name wins; a plugin cannot shadow it silently
            dist = ep.dist.name if ep.dist is not None else "plugin"
            self.register(ep.name, ep.value, summary=f"plugin from {dist}", origin=dist)

    def entry(self, name: str) -> Entry[T]:
        self.load_plugins()
        try:
            return self._entries[name]
        except KeyError:
            raise RegistryError(self._unknown_message(name)) from None

    def get(self, name: str) -> T:
        entry = self.entry(name)
        if entry.is_lazy:
            try:
                entry.target = import_target(entry.target)  # type: ignore[arg-type]
            except ImportError as exc:
                raise RegistryError(
                    f"{self.kind} {name!r} needs a package that is not installed: {exc}. "
                    "Install the matching extra, e.g. pip install 'erbench[llm]'"
                ) from exc
        return entry.target  # type: ignore[return-value]

    def names(self) -> list[str]:
        self.load_plugins()
        return sorted(self._entries)

    def entries(self) -> Iterator[Entry[T]]:
        for name in self.names():
            yield self._entries[name]

    def __contains__(self, name: object) -> bool:
        self.load_plugins()
        return name in self._entries

    def __len__(self) -> int:
        return len(self.names())

    def _unknown_message(self, name: str) -> str:
        known = sorted(self._entries)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = f" Known: {', '.join(known)}." if known and not close else ""
        return f"unknown {self.kind} {name!r}{hint}{listing}"


METHODS: Registry[Any] = Registry("method", "bench.methods")
DATASETS: Registry[Any] = Registry("dataset", "bench.datasets")
METRICS: Registry[Any] = Registry("metric", "bench.metrics")
TABLES: Registry[Any] = Registry("table", "bench.tables")

_BUILTINS_LOADED = False


def load_builtins() -> None:
    """Import the packages whose __init__ registers built-in entries (all lazy, no torch)."""
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    for package in ("bench.data.catalog", "baselines", "methods", "metrics", "leaderboards"):
        importlib.import_module(package)


def registry_for(kind: str) -> Registry[Any]:
    load_builtins()
    table: dict[str, Registry[Any]] = {
        "methods": METHODS,
        "datasets": DATASETS,
        "metrics": METRICS,
        "tables": TABLES,
    }
    if kind not in table:
        raise RegistryError(f"unknown registry {kind!r}; choose one of {', '.join(table)}")
    return table[kind]

