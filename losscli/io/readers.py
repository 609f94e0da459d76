"""The reader table: one reader per file format, chosen by suffix, behind one signature.

Every reader is ``read_X(path, *, chunk_rows, key=None, dialect=None) -> Source``. The table
says which readers take an array ``key`` (``.npz``) and a text ``dialect`` (CSV, TSV); the
format lists in ``--help`` and in error messages are generated from it. Heavy libraries
(pyarrow) are imported inside the readers, so importing this module stays cheap.
"""

from __future__ import annotations

import importlib
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np

from losscli.errors import InputError, UsageError
from losscli.io.digest import ArrayDigest, StreamDigest, file_digest
from losscli.io.formats import FORMAT_NAMES, INPUT_FORMATS, InputFormat, known_suffixes
from losscli.io.formats import format_of as _format_of
from losscli.io.replay import stream_at
from losscli.io.sources import (
    DEFAULT_CHUNK_ROWS,
    PEEK_ROWS,
    ArraySource,
    Source,
    TableSource,
    sliced,
)
from losscli.io.text import Dialect

# The names the other layers use: sources, the table, and opening a file or an array.
__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "FORMAT_NAMES",
    "INPUT_FORMATS",
    "PEEK_ROWS",
    "ArraySource",
    "Dialect",
    "Source",
    "TableSource",
    "array_source",
    "check_dialect",
    "format_of",
    "known_suffixes",
    "open_source",
]


def reader_for(fmt: InputFormat) -> Callable[..., Source]:
    """The reader function a format names, imported now."""
    module, _, name = fmt.reader.partition(":")
    return cast("Callable[..., Source]", getattr(importlib.import_module(module), name))


def format_of(path: Path) -> str:
    """The reader key for a path: its last suffix, or the last two for compressed files."""
    return _format_of(path.name)


def _check_path(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{path}: is a directory; expected a file")
    if not stat.S_ISREG(mode):
        raise InputError(
            f"{path}: not a regular file (a device or socket); losscli reads files, pipes, or "
            "standard input as '-' with --preds-format/--labels-format"
        )


def open_source(
    path: Path,
    *,
    key: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    dialect: Dialect | None = None,
) -> Source:
    """Open a file with the reader its suffix names (exit-3 errors for bad files)."""
    fmt = format_of(path)
    reader = INPUT_FORMATS.get(fmt)
    if reader is None:
        raise InputError(
            f"{path}: unsupported file type {fmt or '(no suffix)'!r}; losscli reads "
            f"{known_suffixes()}"
        )
    stream = stream_at(path)
    if stream is None:
        _check_path(path)
    if key is not None and not reader.keyed:
        raise UsageError(f"{path}: an array key only applies to {known_suffixes(keyed=True)} files")
    try:
        text = dialect if reader.text else None
        src = reader_for(reader)(path, chunk_rows=chunk_rows, key=key, dialect=text)
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    if stream is not None and not stream.spilled:
        src.digest = StreamDigest(stream.hexdigest)  # hashed as the bytes pass
        return src
    src.digest = file_digest(path)
    src.nbytes = path.stat().st_size
    return src


def check_dialect(dialect: Dialect | None, paths: list[Path]) -> None:
    """Text options (--delimiter, --decimal, --header) need a text table among the inputs."""
    if dialect is None or dialect == Dialect():
        return
    if not any(getattr(INPUT_FORMATS.get(_shards_format(p)), "text", False) for p in paths):
        raise UsageError(
            "--delimiter, --decimal and --header/--no-header apply to text tables "
            f"({known_suffixes(text=True)}); no input is one"
        )


def _shards_format(path: Path) -> str:
    """The format of a file, or of the files of a shard folder or glob ("" if none)."""
    from losscli.io.shards import is_sharded, shard_files

    if not is_sharded(path):
        return format_of(path)
    try:
        return format_of(shard_files(path)[0])
    except InputError:  # a Hive dataset (Parquet), or nothing to read: reported when opened
        return ""


def array_source(name: str, data: Any, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> ArraySource:
    """An in-memory array-like (lists, NumPy arrays) as a source, for the Python API."""
    array = np.asarray(data)
    if array.dtype.hasobject:
        array = array.astype(str)
    if array.ndim == 0:
        raise InputError(f"{name}: expected one value per sample, got a scalar")
    return ArraySource(
        name,
        "array",
        tuple(array.shape),
        array.dtype,
        sliced(array),
        chunk_rows,
        digest=ArrayDigest(array),
    )
