"""What the CLI says besides the report: warnings, ``--verbose`` notes, GitHub annotations.

- ``--quiet``: nothing but errors (the report, warnings and notes are not printed; files
  named by ``-o`` and the GitHub step summary are still written; the exit code is the same).
- ``--verbose``: every decision, the chunks read and timings, on stderr, from the
  ``losscli`` logger the library writes to.
- On a terminal, a run longer than half a second shows a progress bar on stderr (bytes of the
  inputs read, rate, ETA; ``LOSSCLI_PROGRESS_DELAY`` sets the half second), removed before the
  report is printed; never off a terminal, with ``--quiet`` or with ``--verbose``.
- Under GitHub Actions (``GITHUB_ACTIONS=true``), errors and warnings are also written as
  workflow commands (``::error title=...::...``), on stderr so that stdout stays the report.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from losscli.errors import UsageError

LOG = logging.getLogger("losscli")


@dataclass
class _State:
    quiet: bool = False
    verbose: bool = False
    start: float = field(default_factory=time.perf_counter)
    bar: Any = None  # the progress bar while one may be shown (losscli.report.progress)


STATE = _State()


class _Stderr(logging.Handler):
    """Writes to the current ``sys.stderr`` (test runners swap it), with the elapsed time."""

    def emit(self, record: logging.LogRecord) -> None:
        elapsed = time.perf_counter() - STATE.start
        sys.stderr.write(f"losscli [{elapsed:7.3f} s] {record.getMessage()}\n")
        sys.stderr.flush()


_HANDLER = _Stderr()


def configure(quiet: bool, verbose: bool) -> None:
    """Set the verbosity for one command (called first by every command)."""
    if quiet and verbose:
        raise UsageError("--quiet and --verbose contradict each other; give one")
    STATE.quiet, STATE.verbose, STATE.start = quiet, verbose, time.perf_counter()
    if _HANDLER not in LOG.handlers:
        LOG.addHandler(_HANDLER)
    LOG.propagate = False
    LOG.setLevel(logging.DEBUG if verbose else logging.CRITICAL + 1)


@contextmanager
def progress_bar() -> Iterator[None]:
    """While the block runs, a progress bar of the inputs read on stderr, for runs longer than
    half a second; only when stderr is a terminal, never with ``--quiet`` (nor ``--verbose``,
    whose lines it would break). It is removed before anything else is printed."""
    if STATE.quiet or STATE.verbose or not sys.stderr.isatty():
        yield
        return
    from losscli.io.progress import listening
    from losscli.report.progress import ProgressBar

    STATE.bar = ProgressBar()
    try:
        with listening(STATE.bar):
            yield
    finally:
        end_progress()


def end_progress() -> None:
    """Remove the progress bar, if one is shown (before printing anything)."""
    if STATE.bar is not None:
        STATE.bar.close()
        STATE.bar = None


def show(rendered: object) -> None:
    """Print a report on stdout, unless ``--quiet``."""
    if STATE.quiet:
        return
    end_progress()
    from losscli.report.output import print_output

    print_output(rendered)


def warn(message: str, title: str = "losscli", *, echo: bool = True) -> None:
    """A ``warning: ...`` line on stderr (``echo``) and a GitHub warning annotation, unless
    ``--quiet``."""
    if STATE.quiet:
        return
    end_progress()
    from losscli.report.annotations import WARNING, annotation, in_github_actions
    from losscli.report.render import print_warning

    if echo:
        print_warning(message)
    if in_github_actions():
        sys.stderr.write(annotation(WARNING, message, title) + "\n")
        sys.stderr.flush()


def error_annotation(message: str, title: str = "losscli") -> None:
    """A GitHub error annotation (errors are shown even with ``--quiet``)."""
    from losscli.report.annotations import ERROR, annotation, in_github_actions

    if in_github_actions():
        sys.stderr.write(annotation(ERROR, message, title) + "\n")
        sys.stderr.flush()


def note(message: str) -> None:
    """A ``--verbose`` line."""
    LOG.info(message)
