"""Install a distribution as pip leaves it (its modules and a .dist-info with entry points) in
a temporary site folder, so plugin tests run without pip and leave the registries as found."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.api.registry import DATASETS, LOADERS, METHODS, METRICS, TABLES

REGISTRIES = (METHODS, DATASETS, METRICS, TABLES, LOADERS)


def install_distribution(
    site: Path, dist: str, modules: dict[str, str], entry_points: dict[str, dict[str, str]]
) -> None:
    """`modules`: file name (relative to site) -> source; `entry_points`: group -> name -> target."""
    for name, source in modules.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(source, encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in names.items())
            for group, names in entry_points.items()
        )
    )


@contextmanager
def plugins_from(site: Path, monkeypatch) -> Iterator[None]:
    """Registries that read entry points from `site` too; plugin entries are dropped after."""
    monkeypatch.syspath_prepend(str(site))
    for registry in REGISTRIES:
        registry._plugins_loaded = False
    try:
        yield
    finally:
        for registry in REGISTRIES:
            for entry in list(registry._entries.values()):
                if entry.origin != "builtin":
                    registry.unregister(entry.name)
            registry._plugins_loaded = False
