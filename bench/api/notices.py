"""A warning said once per process: a fallback or a slow setting is worth one line in the log,
not one per batch or per scorer call."""

from __future__ import annotations

import logging

_SAID: set[tuple[str, str]] = set()  # (logger name, line) already said


def warn_once(logger: logging.Logger, line: str) -> None:
    """`logger.warning(line)` the first time this logger says this line, nothing after."""
    key = (logger.name, line)
    if key not in _SAID:
        _SAID.add(key)
        logger.warning(line)
