"""Standard input ('-') and named pipes: copied once to a private temporary folder that is
always removed.

Readers open a file more than once (a look at the head, then the chunks), so a stream is
spilled to disk. The copy is checked as it is written: its first bytes must look like the
format named by --preds-format/--labels-format (``< /dev/zero`` stops at once), and it stops
before the disk runs low (or at ``LOSSCLI_STDIN_MAX_BYTES``). The folder is removed on every
exit from ``spill_folder`` (success, error, KeyboardInterrupt, SystemExit) and, being made by
``losscli.io.cleanup``, by the CLI's signal handling when the stack cannot unwind. Messages
name ``<stdin>``, never the temporary path.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from losscli.errors import InputError, LossCliError, UsageError
from losscli.io.cleanup import temp_dir
from losscli.io.formats import FORMAT_NAMES, INPUT_FORMATS
from losscli.io.readers import format_of

STDIN = Path("-")
STDIN_NAME = "<stdin>"
_COPY_BYTES = 1 << 20
# Keep this much of the temporary folder's disk free while copying.
_KEEP_FREE_BYTES = 1 << 30
_MAX_ENV = "LOSSCLI_STDIN_MAX_BYTES"
# The first bytes each binary format starts with (text formats must hold no NUL byte).
_MAGIC = {
    ".npy": b"\x93NUMPY",
    ".npz": b"PK",
    ".parquet": b"PAR1",
    ".pq": b"PAR1",
    ".csv.gz": b"\x1f\x8b",
    ".tsv.gz": b"\x1f\x8b",
}


@contextmanager
def spill_folder() -> Iterator[Path]:
    """A private temporary folder for standard-input copies, removed on any exit (and by the
    CLI's signal handling: it is registered in ``losscli.io.cleanup``); errors raised inside
    name ``<stdin>`` instead of the copy's path."""
    with temp_dir(prefix="losscli-") as folder:
        try:
            yield folder
        except LossCliError as exc:
            exc.args = tuple(_stdin_named(a, folder) for a in exc.args)
            raise
        finally:
            for copy in [c for c in _SHOWN if c.parent == folder]:
                del _SHOWN[copy]


# Copies of pipes in open spill folders -> the name the user gave.
_SHOWN: dict[Path, str] = {}


def _stdin_named(arg: object, folder: Path) -> object:
    if not isinstance(arg, str):
        return arg
    for copy, shown in _SHOWN.items():
        if copy.parent == folder:
            arg = arg.replace(str(copy), shown)
    return arg


def _is_pipe(path: Path) -> bool:
    try:
        return stat.S_ISFIFO(path.stat().st_mode)
    except OSError:
        return False


def stdin_to_file(path: Path, fmt: str | None, folder: Path, option: str) -> Path:
    """The file to open for ``path``: ``path`` itself, or a copy of standard input (``-``) or of
    a named pipe (read once, so copied once into ``folder``)."""
    if path != STDIN:
        if fmt is not None and "." + fmt.lower().lstrip(".") != format_of(path):
            raise UsageError(
                f"{option} {fmt} applies to '-' (standard input); {path} is read by its suffix"
            )
        if not _is_pipe(path):
            return path
        return _spill(path, format_of(path), folder, str(path))
    known = ", ".join(FORMAT_NAMES)
    if fmt is None:
        raise UsageError(f"reading standard input ('-') needs {option} ({known})")
    suffix = "." + fmt.lower().lstrip(".")
    if suffix not in INPUT_FORMATS:
        raise UsageError(f"{option} {fmt}: unknown format; choose one of {known}")
    return _spill(None, suffix, folder, STDIN_NAME)


def _spill(pipe: Path | None, suffix: str, folder: Path, shown: str) -> Path:
    target = folder / f"input{len(list(folder.iterdir()))}{suffix}"
    _SHOWN[target] = shown
    with target.open("wb") as out:
        if pipe is None:
            _copy(sys.stdin.buffer, out, suffix, folder, shown)
        else:
            with pipe.open("rb") as source:
                _copy(source, out, suffix, folder, shown)
    return target


def shown_name(given: Path) -> str:
    """How an input is named in messages and reports: its path, or ``<stdin>`` for ``-``."""
    return STDIN_NAME if given == STDIN else str(given)


def _limit(folder: Path) -> int:
    free = shutil.disk_usage(folder).free - _KEEP_FREE_BYTES
    cap = os.environ.get(_MAX_ENV)
    return min(free, int(cap)) if cap and cap.isdigit() else free


def show_as(copy: Path, shown: str) -> None:
    """Name ``copy`` (in a spill folder) as ``shown`` in the messages of errors raised inside
    that folder's ``spill_folder`` block."""
    _SHOWN[copy] = shown


def copy_stream(source: BinaryIO, target: Path, suffix: str, shown: str) -> None:
    """Copy an open stream (a remote file) to ``target`` in a spill folder, with the checks of
    a standard-input copy: its start fits ``suffix``, and it stops before the disk runs low."""
    with target.open("wb") as out:
        _copy(source, out, suffix, target.parent, shown, "check the file's suffix")


def _copy(
    source: BinaryIO,
    out: BinaryIO,
    suffix: str,
    folder: Path,
    shown: str,
    fix: str = "check --preds-format/--labels-format",
) -> None:
    limit, written = _limit(folder), 0
    first = source.read(_COPY_BYTES)
    magic = _MAGIC.get(suffix)
    if first and magic is not None and not first.startswith(magic):
        raise InputError(f"{shown}: the data does not start like a {suffix} file; {fix}")
    if magic is None and suffix in INPUT_FORMATS and b"\x00" in first[:4096]:
        raise InputError(f"{shown}: the data holds NUL bytes, so it is not {suffix} text; {fix}")
    block = first
    while block:
        written += len(block)
        if written > limit:
            raise InputError(
                f"{shown}: the input is over {limit >> 20} MiB, more than losscli "
                f"copies to the temporary folder ({_MAX_ENV} or the free disk space); "
                "write it to a file and pass its path"
            )
        out.write(block)
        block = source.read(_COPY_BYTES)
