"""Progress bars for long work (training steps, generation, scoring).

A *progress sink* is `sink(description, total)`: a context manager yielding
`advance(n=1, **status)`, where `n` is the number of steps just done and `status` the latest
values shown beside the bar (loss, reward, the metric being scored). Two sinks:

- `progress_bar`: a rich bar on stderr with steps, status, elapsed time and ETA. A bar opened
  while another is live becomes one more row of the same display (rich draws one live display
  at a time). Off a terminal (pipes, CI logs, pytest) it draws nothing.
- `silent_bar`: draws nothing (quiet runs, tests).

Code far from the run (the TRL callback, the PPO update, the metrics, the sentence encoder)
opens its bars with `bar(description, total)`, which goes to the sink its caller chose with
`use_progress(sink)`; `progress_bar` when none was chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

Advance = Callable[..., None]  # advance(n: int = 1, **status: float | str) -> None
ProgressSink = Callable[[str, "int | None"], AbstractContextManager[Advance]]
T = TypeVar("T")

_live: Any = None  # the rich Progress on screen, shared by nested bars


def format_status(status: dict[str, Any]) -> str:
    """`loss 0.4123 reward 1.25`: floats to 4 significant digits."""
    return "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in status.items())


def _ignore(n: int = 1, **status: Any) -> None:
    return None


@contextmanager
def silent_bar(description: str, total: int | None) -> Iterator[Advance]:
    yield _ignore


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Advance]:
    global _live
    if _live is not None:
        yield from _task(_live, description, total)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)  # stdout stays clean for --json and tables
    if not (console.is_terminal or console.is_jupyter):
        yield _ignore
        return
    columns = [
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, transient=True) as progress:
        _live = progress
        try:
            yield from _task(progress, description, total)
        finally:
            _live = None


def _task(progress: Any, description: str, total: int | None) -> Iterator[Advance]:
    from rich.markup import escape  # "[all-MiniLM-L6-v2]" is text here, not a style tag

    task = progress.add_task(escape(description), total=total, status="")

    def advance(n: int = 1, **status: Any) -> None:
        if status:
            progress.update(task, advance=n, status=escape(format_status(status)))
        else:
            progress.advance(task, n)

    try:
        yield advance
    finally:
        progress.remove_task(task)


_SINK: ContextVar[ProgressSink] = ContextVar("erbench_progress_sink", default=progress_bar)


@contextmanager
def use_progress(sink: ProgressSink | None) -> Iterator[None]:
    """Send every `bar()` opened inside the block to `sink` (None keeps the current sink)."""
    if sink is None:
        yield
        return
    token = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(token)


def bar(description: str, total: int | None) -> AbstractContextManager[Advance]:
    """A bar on the sink chosen by the caller (`use_progress`)."""
    return _SINK.get()(description, total)


def track(
    items: Iterable[T],
    description: str,
    total: int | None,
    status: Callable[[T], dict[str, Any]] | None = None,
) -> Iterator[T]:
    """Iterate `items` under a `bar`, one step per item; `status(item)` is shown while it runs."""
    with bar(description, total) as advance:
        for item in items:
            if status is not None:
                advance(0, **status(item))
            yield item
            advance(1)


@contextmanager
def third_party_bars_off() -> Iterator[None]:
    """Hide the tqdm bars of Hugging Face libraries ("Loading weights", downloads) inside the
    block: under --quiet, and where stderr is a log file, where each redraw was a line (issue
    25.8). Set through HF_HUB_DISABLE_PROGRESS_BARS, which transformers and huggingface_hub read
    when first imported, and through transformers' own switch when it is imported already."""
    import os
    import sys

    before = os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS")
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    loaded = sys.modules.get("transformers.utils.logging")
    # outside the block: as it was, or (imported inside it) as the environment says
    on_after = loaded.is_progress_bar_enabled() if loaded is not None else before is None
    if loaded is not None:
        loaded.disable_progress_bar()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
        else:
            os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = before
        hf_logging = sys.modules.get("transformers.utils.logging")
        if hf_logging is not None and on_after:
            hf_logging.enable_progress_bar()
