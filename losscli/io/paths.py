"""The user's input paths: at most one standard input, copies of streams in a spill folder,
and sources named as the user wrote them."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from losscli.errors import UsageError
from losscli.io.cleanup import make_dir
from losscli.io.readers import Dialect, Source, open_source
from losscli.io.remote import fetch, remote_url
from losscli.io.shards import is_sharded, open_shards
from losscli.io.stdin import STDIN, copy_stream, show_as, shown_name, spill_folder, stdin_to_file

__all__ = ["one_stdin", "open_path", "spill_folder", "stdin_copy"]


def one_stdin(paths: Sequence[Path | None]) -> None:
    """Only one of ``paths`` may be ``-``."""
    if sum(p == STDIN for p in paths) > 1:
        raise UsageError("only one input can be standard input ('-')")


def stdin_copy(
    path: Path, fmt: str | None, folder: Path, option: str, *, stream: bool = False
) -> Path:
    """``path``, or its copy in ``folder`` when it is a stream (``-`` or a named pipe) or a
    remote URL (``losscli.io.remote``). ``stream``: the caller reads this input in one pass,
    so standard input in a format read front to back is streamed, not copied."""
    url = remote_url(path)
    if url is None:
        return stdin_to_file(path, fmt, folder, option, stream=stream)
    if fmt is not None:
        raise UsageError(
            f"{option} {fmt} applies to '-' (standard input); {url} is read by its suffix"
        )
    return fetch(url, make_dir(folder), copy_stream, show_as)


def open_path(
    real: Path, given: Path, key: str | None, chunk_rows: int, dialect: Dialect | None = None
) -> Source:
    """Open ``real`` (``given`` itself or its copy), named as the user sees it; a directory,
    a glob or a Hive dataset opens as one source over its shards."""
    url = remote_url(given)
    src: Source
    if (real == given or url is not None) and is_sharded(real):
        # A partial of the reader, not a lambda: a Dask worker reopens each shard with it.
        reader = partial(open_source, key=key, chunk_rows=chunk_rows, dialect=dialect)
        src = open_shards(real, reader, chunk_rows)
    else:
        src = open_source(real, key=key, chunk_rows=chunk_rows, dialect=dialect)
    if real != given:
        src.name = url or shown_name(given)
    return src
