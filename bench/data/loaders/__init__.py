"""Strict raw-file loaders, one module per source layout.

Each `load(spec, found, cfg, problems) -> LoaderResult` reads every line, reports each bad
line to `problems` as `file:line: field: reason` (one problem per line), and counts lines
per file so that lines_read = kept + bad + filtered.
"""

from __future__ import annotations

from typing import Any

from bench.api.registry import LOADERS

# loader name (DatasetSpec.loader) -> its load function; plugins add theirs through the
# `bench.loaders` entry-point group
for _name, _target in (
    ("amazon", "bench.data.loaders.amazon:load"),
    ("movielens-atomic", "bench.data.loaders.movielens:load_atomic"),
    ("movielens-csv", "bench.data.loaders.movielens:load_csv"),
    ("bookcrossing", "bench.data.loaders.bookcrossing:load"),
    ("xrec", "bench.data.loaders.xrec:load"),
):
    LOADERS.register(_name, _target)


def loader_for(kind: str) -> Any:
    from bench.api.errors import DataError
    from bench.api.registry import RegistryError

    try:
        return LOADERS.get(kind)
    except RegistryError as exc:
        raise DataError(str(exc)) from None
