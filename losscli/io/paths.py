"""The user's input paths: at most one standard input, its copy in a spill folder, and
sources named as the user wrote them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from losscli.errors import UsageError
from losscli.io.readers import Source, open_source


def one_stdin(paths: Sequence[Path | None]) -> None:
    """Only one of ``paths`` may be ``-``."""
    from losscli.io.readers import STDIN

    if sum(p == STDIN for p in paths) > 1:
        raise UsageError("only one input can be standard input ('-')")


def stdin_copy(path: Path, fmt: str | None, folder: Path, option: str) -> Path:
    """``path``, or the copy in ``folder`` of standard input when ``path`` is ``-``."""
    from losscli.io.readers import stdin_to_file

    return stdin_to_file(path, fmt, folder, option)


def open_path(real: Path, given: Path, key: str | None, chunk_rows: int) -> Source:
    """Open ``real`` (``given`` itself or its standard-input copy), named as the user sees it."""
    from losscli.io.readers import STDIN_NAME

    src = open_source(real, key=key, chunk_rows=chunk_rows)
    if real != given:
        src.name = STDIN_NAME
    return src
