"""One generic registry for methods, datasets, metrics, tables and data loaders.

Entries may be lazy ("module:attr" strings) so `bench ls` lists names and summaries
without importing torch. Out-of-tree packages add entries through entry-point groups
(`bench.methods`, `bench.datasets`, `bench.metrics`, `bench.tables`, `bench.loaders`).

As in lm-evaluation-harness's registry, an entry must be what its registry holds (a
subclass, or an instance, of the registry's `base`): checked at registration for objects and
on first use for lazy entries. What an entry declares (a metric's needs and reported names,
a method's outputs, a dataset's aliases) is read from the object itself, on first access
(`Registry.declared`), never copied into the registration.

A plugin never replaces a built-in entry: a plugin name that is taken is ignored with a
one-line warning naming the distribution.
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, TypeVar

from bench.api.errors import BenchError, BenchWarning

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

    def __init__(
        self,
        kind: str,
        entry_point_group: str | None = None,
        *,
        base: type | str | None = None,
        instances: bool = False,
    ):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._base = base  # required class ("module:attr" until first needed)
        self.instances = instances  # entries are instances of `base`, not subclasses
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
        if not isinstance(target, str):
            self._check_base(name, target, origin)
        if not summary and not isinstance(target, str):
            summary = (getattr(target, "__doc__", None) or "").strip().splitlines()[0:1]
            summary = summary[0] if summary else ""
        self._entries[name] = Entry(name, target, summary, dict(meta), origin)
        return target

    @property
    def base(self) -> type | None:
        if isinstance(self._base, str):
            self._base = import_target(self._base)
        return self._base

    def _check_base(self, name: str, obj: Any, origin: str) -> None:
        base = self.base
        if base is None:
            return
        if self.instances:
            ok, what = isinstance(obj, base), "instance"
        else:
            ok, what = isinstance(obj, type) and issubclass(obj, base), "subclass"
        if not ok:
            where = "" if origin == "builtin" else f" (from {origin})"
            raise RegistryError(
                f"{self.kind} {name!r}{where} is {obj!r}, not a "
                f"{base.__module__}.{base.__qualname__} {what}"
            )

    def register_lazy(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Register (name, "module:attr", summary) rows, imported on first use."""
        for name, target, summary in rows:
            self.register(name, target, summary=summary)

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    # -- lookup ---------------------------------------------------------------------
    def load_plugins(self) -> None:
        """Add entries advertised by installed distributions under the entry-point group, after
        the built-ins, so a plugin can never take a built-in name."""
        if self._plugins_loaded or not self.entry_point_group:
            return
        load_builtins()
        if not _BUILTINS_LOADED:
            return  # asked while the built-ins register themselves: plugins come after
        self._plugins_loaded = True
        for ep in metadata.entry_points(group=self.entry_point_group):
            dist = ep.dist.name if ep.dist is not None else "plugin"
            if ep.name in self._entries:
                taken = self._entries[ep.name].origin
                owner = "erbench" if taken == "builtin" else taken
                warnings.warn(
                    f"{dist} registers {self.kind} {ep.name!r}, a name {owner} already uses; "
                    "the plugin's entry is ignored",
                    BenchWarning,
                    stacklevel=2,
                )
                continue
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
                target = import_target(entry.target)  # type: ignore[arg-type]
            except ImportError as exc:
                raise RegistryError(
                    f"{self.kind} {name!r} needs a package that is not installed: {exc}. "
                    "Install the matching extra, e.g. pip install 'erbench[llm]'"
                ) from exc
            self._check_base(name, target, entry.origin)
            entry.target = target
        return entry.target  # type: ignore[return-value]

    def declared(self, name: str) -> dict[str, Any]:
        """What the entry declares about itself: the registration's meta, then the object's
        own `declarations()` (imports a lazy entry on first call)."""
        entry = self.entry(name)
        declare = getattr(self.get(name), "declarations", None)
        return {**entry.meta, **(declare() if callable(declare) else {})}

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


METHODS: Registry[Any] = Registry("method", "bench.methods", base="bench.api.method:Method")
DATASETS: Registry[Any] = Registry(
    "dataset", "bench.datasets", base="bench.data.spec:DatasetSpec", instances=True
)
METRICS: Registry[Any] = Registry("metric", "bench.metrics", base="metrics.base:Metric")
TABLES: Registry[Any] = Registry("table", "bench.tables")
LOADERS: Registry[Any] = Registry("loader", "bench.loaders")  # raw-file loaders of datasets

_BUILTINS_STARTED = False
_BUILTINS_LOADED = False


def load_builtins() -> None:
    """Import the packages whose __init__ registers built-in entries (all lazy, no torch)."""
    global _BUILTINS_STARTED, _BUILTINS_LOADED
    if _BUILTINS_STARTED:
        return
    _BUILTINS_STARTED = True
    packages = ("bench.data.catalog", "bench.data.loaders", "baselines", "methods", "metrics", "leaderboards")
    for package in packages:
        importlib.import_module(package)
    _BUILTINS_LOADED = True


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

