"""Data chunks of the static site: one JS file per piece of data, `erbench.put("key", {...});`.

A `<script src>` can load such a file from file:// where fetch() of JSON cannot. The JSON is
written with every `<`, `>`, `&` and line/paragraph separator as a \\u escape, so no text in
it (a model output holding `</script>`) can end the script or be read as markup; the page
renders the values with textContent only (bench/site/static/app.js).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench.api.run_folder import atomic_write_text

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _finite(value: Any) -> Any:
    """NaN and ±inf are not JSON: they travel as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def chunk_text(key: str, data: Any) -> str:
    """The JS source of one chunk: a call that hands `data` to the page under `key`."""
    try:
        body = json.dumps([key, data], ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    except ValueError:  # a NaN or infinity somewhere: walk the data once more
        body = json.dumps([key, _finite(data)], ensure_ascii=False, separators=(",", ":"), default=str)
    for ch, esc in _ESCAPES.items():
        body = body.replace(ch, esc)
    return f"erbench.put({body[1:-1]});\n"


def write_chunk(out: Path, relpath: str, key: str, data: Any) -> int:
    """Write the chunk to out/relpath; returns its size in bytes."""
    text = chunk_text(key, data)
    atomic_write_text(Path(out) / relpath, text)
    return len(text.encode("utf-8"))
