"""Where data, caches and runs live; every location can be overridden."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir


def cache_dir() -> Path:
    """Derived artefacts (prepared datasets, embedded backbones, encoder caches)."""
    path = Path(os.environ.get("ERBENCH_CACHE_DIR") or user_cache_dir("erbench"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Raw dataset files: --data-dir / data.data_dir, else $ERBENCH_DATA_DIR, else cache/data."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("ERBENCH_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return cache_dir() / "data"
