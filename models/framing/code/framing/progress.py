"""Progress bars, all on standard error: standard output carries data alone (``framing score`` writes JSONL there)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def stderr_console() -> Console:
    """The console every message and bar is drawn on."""
    return Console(stderr=True)


def bar() -> Progress:
    """A transient progress bar on standard error: done/total, time spent and time left ("0:00:05 elapsed, 0:01:20 left").

    Examples
    --------
    >>> with bar() as progress:
    ...     task = progress.add_task("embedding", total=2)
    ...     progress.advance(task, 2)
    """
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("elapsed,"),
        TimeRemainingColumn(),
        TextColumn("left"),
        console=stderr_console(),
        transient=True,
    )


def stream_bar(unit: str) -> Progress:
    """A transient bar on standard error for work counted in ``unit`` (done/total, or done alone when the total is unknown),
    with a free text field ``rate`` and the time left: "articles 120/400 3,100 paragraphs, 95 paragraphs/s 0:02:10 left".
    """
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("elapsed,"),
        TimeRemainingColumn(),
        TextColumn("left"),
        console=stderr_console(),
        transient=True,
    )
