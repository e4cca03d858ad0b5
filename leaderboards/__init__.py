"""Table specs and renderers that regenerate the papers' tables from the results store.

Importing this package registers one TABLES entry per specs/*.yaml file; the file is parsed
only when the table is used, and nothing heavy (matplotlib, scipy, torch) is imported here.
"""

from __future__ import annotations

from pathlib import Path

from bench.api.registry import TABLES
from leaderboards.spec import SPEC_DIR, SpecRef, quick_title


def _register_builtin_specs() -> None:
    for path in sorted(Path(SPEC_DIR).glob("*.yaml")):
        name = path.stem
        if name not in TABLES:
            TABLES.register(name, SpecRef(path), summary=quick_title(path))


_register_builtin_specs()
