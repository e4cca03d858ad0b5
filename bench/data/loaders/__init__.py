"""Strict raw-file loaders, one module per source layout.

Each `load(spec, found, cfg, problems) -> LoaderResult` reads every line, reports each bad
line to `problems` as `file:line: field: reason` (one problem per line), and counts lines
per file so that lines_read = kept + bad + filtered.
"""

from __future__ import annotations

import importlib
from typing import Any

LOADERS = {
    "amazon": "bench.data.loaders.amazon",
    "movielens-atomic": "bench.data.loaders.movielens",
    "movielens-csv": "bench.data.loaders.movielens",
    "bookcrossing": "bench.data.loaders.bookcrossing",
    "xrec": "bench.data.loaders.xrec",
}


def loader_for(kind: str) -> Any:
    from bench.errors import DataError

    if kind not in LOADERS:
        raise DataError(f"no loader {kind!r}; known: {', '.join(sorted(LOADERS))}")
    module = importlib.import_module(LOADERS[kind])
    return module.LOAD[kind] if hasattr(module, "LOAD") else module.load
