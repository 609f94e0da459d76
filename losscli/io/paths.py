"""The user's input paths: at most one standard input, copies of streams in a spill folder,
and sources named as the user wrote them."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from losscli.errors import UsageError
from losscli.io.readers import Dialect, Source, open_source
from losscli.io.shards import is_sharded, open_shards
from losscli.io.stdin import STDIN, shown_name, spill_folder, stdin_to_file

__all__ = ["one_stdin", "open_path", "spill_folder", "stdin_copy"]


def one_stdin(paths: Sequence[Path | None]) -> None:
    """Only one of ``paths`` may be ``-``."""
    if sum(p == STDIN for p in paths) > 1:
        raise UsageError("only one input can be standard input ('-')")


def stdin_copy(path: Path, fmt: str | None, folder: Path, option: str) -> Path:
    """``path``, or its copy in ``folder`` when it is a stream (``-`` or a named pipe)."""
    return stdin_to_file(path, fmt, folder, option)


def open_path(
    real: Path, given: Path, key: str | None, chunk_rows: int, dialect: Dialect | None = None
) -> Source:
    """Open ``real`` (``given`` itself or its copy), named as the user sees it; a directory,
    a glob or a Hive dataset opens as one source over its shards."""
    if real == given and is_sharded(real):
        # A partial of the reader, not a lambda: a Dask worker reopens each shard with it.
        reader = partial(open_source, key=key, chunk_rows=chunk_rows, dialect=dialect)
        return open_shards(real, reader, chunk_rows)
    src = open_source(real, key=key, chunk_rows=chunk_rows, dialect=dialect)
    if real != given:
        src.name = shown_name(given)
    return src
