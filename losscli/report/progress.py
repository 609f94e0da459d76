"""The progress bar of long runs: bytes of the inputs read, of the total, rate and ETA.

It listens to ``losscli.io.progress`` and draws on stderr with Rich, and only once the run
has lasted ``delay`` seconds (``LOSSCLI_PROGRESS_DELAY``, 0.5 by default), so short runs
show nothing. The command line creates it only when stderr is a terminal and ``--quiet`` is
not given; it is removed before the report, a warning or an error is printed.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

DELAY_ENV = "LOSSCLI_PROGRESS_DELAY"
DEFAULT_DELAY = 0.5


def delay_from_env() -> float:
    """``LOSSCLI_PROGRESS_DELAY`` in seconds (the default when unset or not a number ≥ 0)."""
    try:
        value = float(os.environ.get(DELAY_ENV, DEFAULT_DELAY))
    except ValueError:
        return DEFAULT_DELAY
    return value if value >= 0 else DEFAULT_DELAY


class ProgressBar:
    """A ``losscli.io.progress.Listener`` drawing one bar on stderr (thread-safe)."""

    def __init__(self, delay: float | None = None) -> None:
        self.delay = delay_from_env() if delay is None else delay
        self._start = time.monotonic()
        self._lock = threading.Lock()
        self._total = 0
        self._done = 0
        self._bar: Any = None
        self._task: Any = None
        self._closed = False

    def expect(self, total: int) -> None:
        with self._lock:
            self._total += total
            self._draw()

    def advance(self, done: int) -> None:
        with self._lock:
            self._done += done
            self._draw()

    def _draw(self) -> None:
        if self._closed:
            return
        if self._bar is None:
            if time.monotonic() - self._start < self.delay:
                return
            self._bar = _rich_bar()
            self._task = self._bar.add_task("reading", total=self._total)
            self._bar.start()
        self._bar.update(self._task, total=self._total, completed=min(self._done, self._total))

    def close(self) -> None:
        """Remove the bar (for good: later progress draws nothing)."""
        with self._lock:
            self._closed = True
            if self._bar is not None:
                self._bar.stop()
                self._bar = None


def _rich_bar() -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
        refresh_per_second=8,
    )
