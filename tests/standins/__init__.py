"""Same-architecture stand-ins for the checkpoints the `paper` profiles name: tiny random-weight
models built locally from `transformers` config classes, with tokenizers built by the
`tokenizers` library. Nothing is downloaded (the hub is never asked).

- `llms.py`: causal LMs (Qwen2.5-Instruct, Qwen3, Llama-3-Instruct, Llama-2-chat).
- `scorers.py`: encoders, classifiers and scorer checkpoints.

Every stand-in is a plain local folder, built once and then reused: `cached_folder` keys it by
name and a version string under $ERBENCH_STANDINS_DIR, else <erbench cache>/standins
($ERBENCH_CACHE_DIR or the user cache dir), so a test session (and the next one) builds each
folder once. Bump a builder's version when what it writes changes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

COMPLETE = "STANDIN_COMPLETE"  # written last: a folder without it is an interrupted build


def standins_root() -> Path:
    """Where stand-in folders live: $ERBENCH_STANDINS_DIR, else <erbench cache dir>/standins."""
    env = os.environ.get("ERBENCH_STANDINS_DIR")
    if env:
        root = Path(env).expanduser()
    else:
        from bench.api.paths import cache_dir

        root = cache_dir() / "standins"
    root.mkdir(parents=True, exist_ok=True)
    return root


def cached_folder(name: str, version: str, build: Callable[[Path], None]) -> Path:
    """<root>/<name>-<version>, built by `build(folder)` into a temporary sibling and renamed
    into place when it returns (so a concurrent or interrupted build never leaves a half folder
    behind under the final name). Later calls return the finished folder without building."""
    from transformers import __version__ as transformers_version

    # a folder saved by one transformers major may not load under another: part of the key
    key = f"{name}-{version}-tf{transformers_version.split('.')[0]}"
    target = standins_root() / key
    if (target / COMPLETE).exists():
        return target
    tmp = target.with_name(f"{key}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    build(tmp)
    (tmp / COMPLETE).write_text("ok\n")
    if (target / COMPLETE).exists():  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
        return target
    shutil.rmtree(target, ignore_errors=True)  # an interrupted build's leftovers
    tmp.rename(target)
    return target
