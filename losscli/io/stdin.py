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

import secrets
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from losscli.errors import LossCliError, UsageError
from losscli.io.cleanup import make_dir, remove
from losscli.io.formats import FORMAT_NAMES, INPUT_FORMATS
from losscli.io.readers import format_of
from losscli.io.replay import (
    STREAMED,
    Replay,
    check_start,
    copy_limit,
    drop_stream,
    over_limit,
)

STDIN = Path("-")
STDIN_NAME = "<stdin>"
_COPY_BYTES = 1 << 20
_FIX = "check --preds-format/--labels-format"


@contextmanager
def spill_folder() -> Iterator[Path]:
    """A private temporary folder for standard-input copies, made when the first copy is
    (``make_dir``: a streamed run writes nothing), removed on any exit (and by the CLI's
    signal handling: it is registered in ``losscli.io.cleanup``); errors raised inside
    name ``<stdin>`` instead of the copy's path."""
    folder = Path(tempfile.gettempdir()) / f"losscli-{secrets.token_hex(8)}"
    try:
        yield folder
    except LossCliError as exc:
        exc.args = tuple(_stdin_named(a, folder) for a in exc.args)
        raise
    finally:
        for copy in [c for c in _SHOWN if c.parent == folder]:
            del _SHOWN[copy]
            drop_stream(copy)
        remove(folder)


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


def stdin_to_file(
    path: Path, fmt: str | None, folder: Path, option: str, *, stream: bool = False
) -> Path:
    """The file to open for ``path``: ``path`` itself, or a copy of standard input (``-``) or of
    a named pipe (read once, so copied once into ``folder``). ``stream``: the caller reads the
    input in one pass, so standard input in a streamed format is not copied but read as it
    comes (``losscli.io.replay``; the returned name in ``folder`` stands for it)."""
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
    if stream and suffix in STREAMED:
        target = _next_name(folder, suffix)
        _SHOWN[target] = STDIN_NAME
        return Replay(sys.stdin.buffer, target, STDIN_NAME, _FIX).path
    return _spill(None, suffix, folder, STDIN_NAME)


def _next_name(folder: Path, suffix: str) -> Path:
    made = list(folder.iterdir()) if folder.is_dir() else []
    taken = {p.name for p in made} | {p.name for p in _SHOWN if p.parent == folder}
    names = (f"input{i}{suffix}" for i in range(len(taken) + 1))
    return folder / next(n for n in names if n not in taken)


def _spill(pipe: Path | None, suffix: str, folder: Path, shown: str) -> Path:
    target = _next_name(make_dir(folder), suffix)
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
    fix: str = _FIX,
) -> None:
    limit, written = copy_limit(folder), 0
    first = source.read(_COPY_BYTES)
    check_start(first, suffix, shown, fix)
    block = first
    while block:
        written += len(block)
        if written > limit:
            raise over_limit(shown, limit)
        out.write(block)
        block = source.read(_COPY_BYTES)
