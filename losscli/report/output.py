"""Printing a rendered report on standard output. Strings (JSON, CSV, Markdown, HTML) are
written as they are, without loading Rich; only a renderable (a table) loads it."""

from __future__ import annotations

import os
import sys

from losscli.errors import READER_GONE, ExitCode, Interrupted, OutputError


def print_output(rendered: object) -> None:
    """Print a report on stdout: strings as they are; renderables on a console, as plain text
    without trailing blanks when stdout is not a terminal (files and CI logs stay clean).

    A reader that went away (``| head``) stops the run (``Interrupted``, exit 141); any other
    failure to write (a full disk) is an ``OutputError`` (exit 3) with the OS reason.
    """
    try:
        if isinstance(rendered, str):
            _write(rendered)
        else:
            _print_renderable(rendered)
    except BrokenPipeError:
        _silence_stdout()
        raise Interrupted(ExitCode.BROKEN_PIPE, READER_GONE) from None
    except OSError as exc:
        _silence_stdout()
        raise OutputError(
            f"cannot write the report to standard output ({exc.strerror or exc})"
        ) from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # not a real file descriptor (a test runner's buffer): nothing will flush it


def _write(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def _print_renderable(rendered: object) -> None:
    from rich.console import Console

    from losscli.report.text import natural_width

    console = Console(highlight=False)
    if console.is_terminal:
        console.print(rendered, crop=False)
        return
    console.width = natural_width(rendered, console.width)  # logs keep every cell
    with console.capture() as captured:
        console.print(rendered, crop=False)
    _write("\n".join(line.rstrip() for line in captured.get().splitlines()))
