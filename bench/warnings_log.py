"""Keep other packages' notices off the terminal during a run; they go to the run's log file.

Libraries erbench calls print notices that tell the user nothing they can act on (sacrebleu's
tokenisation notice, transformers' FutureWarnings and deprecation notices, TRL notices, torch
UserWarnings). Inside `route_third_party_warnings(log_path)`:

- a warning (the `warnings` module) is routed by the module that issued it: one from
  erbench's own packages (bench/, baselines/, methods/, metrics/, leaderboards/) is printed on
  stderr as usual and also logged, any other goes only to `log_path`;
- log records (the `logging` module) of every logger go to `log_path` at WARNING and above;
  on stderr only erbench's own and errors appear;
- other libraries' own stderr handlers (transformers, datasets, huggingface_hub) print only
  errors; their records reach `log_path` through the root logger.

Warning filters are left as they are (an "ignore" or "error" filter still wins); everything is
restored on exit.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import Any

OWN_PACKAGES = ("bench", "baselines", "methods", "metrics", "leaderboards")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def is_own(module: str | None) -> bool:
    return bool(module) and module.split(".", 1)[0] in OWN_PACKAGES  # type: ignore[union-attr]


def _issuing_module() -> str | None:
    """The module whose code called warnings.warn (whatever `stacklevel` attributes the warning
    to: a library's deprecation notice names its caller's line, which may be erbench's)."""
    frame = sys._getframe(2)  # 0: this, 1: the showwarning hook, 2: warnings' own frames or the warner
    while frame is not None and frame.f_globals.get("__name__") == "warnings":
        frame = frame.f_back
    return frame.f_globals.get("__name__") if frame is not None else None


class StderrNow(logging.StreamHandler):
    """A StreamHandler on whatever sys.stderr is at each record (rich swaps it under a bar)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _OwnOrError(logging.Filter):
    """Lets through erbench's own records and anyone's errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return is_own(record.name) or record.levelno >= logging.ERROR


class _Nothing(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


_OWN_OR_ERROR = _OwnOrError()
_NOTHING = _Nothing()


@contextmanager
def route_third_party_warnings(log_path: str | Path) -> Iterator[Path]:
    """Inside the block, third-party warnings and log records go to `log_path` (appended),
    erbench's own still reach stderr. Yields the log path."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(log_path, encoding="utf-8", delay=True)  # no empty file
    to_file.setLevel(logging.WARNING)
    to_file.setFormatter(logging.Formatter(_FORMAT))
    to_stderr = StderrNow()
    to_stderr.setLevel(logging.WARNING)
    to_stderr.addFilter(_OWN_OR_ERROR)
    file_logger = logging.getLogger("py.warnings")  # the stdlib's name for captured warnings

    def show(message: Any, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:  # fmt: skip
        text = warnings.formatwarning(message, category, filename, lineno, line)
        if is_own(_issuing_module()):
            sys.stderr.write(text)
        to_file.handle(file_logger.makeRecord(
            file_logger.name, logging.WARNING, filename, lineno, text.rstrip(), None, None
        ))  # fmt: skip

    _configure_transformers_logging()  # creates its stderr handler now, so it is found below
    transformers_logger = logging.getLogger("transformers")
    propagated = transformers_logger.propagate
    root = logging.getLogger()
    with warnings.catch_warnings():
        warnings.showwarning = show
        root.addHandler(to_file)
        root.addHandler(to_stderr)
        transformers_logger.propagate = True  # its records reach the file through the root
        quieted = _quiet_third_party_console_handlers()
        try:
            yield log_path
        finally:
            for handler, rule in quieted:
                handler.removeFilter(rule)
            transformers_logger.propagate = propagated
            root.removeHandler(to_stderr)
            root.removeHandler(to_file)
            to_file.close()


def _quiet_third_party_console_handlers() -> list[tuple[logging.Handler, logging.Filter]]:
    """Filter the stderr handlers other libraries put on their own loggers (transformers,
    datasets, huggingface_hub add one each): a logger that propagates reaches our handlers on
    the root, so its own handler prints nothing (no error twice); one that does not propagate
    still prints its errors. Returns what to remove on exit."""
    quieted = []
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger) or is_own(name):
            continue
        rule = _NOTHING if logger.propagate else _OWN_OR_ERROR
        # exactly StreamHandler: a FileHandler (a subclass) writes to a file, not the terminal
        for handler in [h for h in logger.handlers if type(h) is logging.StreamHandler]:
            handler.addFilter(rule)
            quieted.append((handler, rule))
    return quieted


def _configure_transformers_logging() -> None:
    """Let transformers set up its logger (and stderr handler) if it is installed."""
    if find_spec("transformers") is not None:
        from transformers.utils import logging as hf_logging

        hf_logging.get_verbosity()  # configures the library's root logger on first use
