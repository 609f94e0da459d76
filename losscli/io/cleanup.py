"""Temporary files and folders that must not outlive the run, however it ends.

Everything losscli writes that is not yet a finished output (an output being written beside
its target, a copy of standard input, a scratch folder) is made through this module and stays
registered while it exists. Normal ends and errors remove it where it was made (``with``
blocks, ``finally``). A run stopped by a signal while its main thread is stuck in C code (a
read from a FIFO that never gets data, say) is ended by the CLI's watchdog, which calls
``remove_all_and_exit``: it removes every registered path and exits while holding the
registry's lock, so nothing new can be made between the two.

Readers and sinks use it like this::

    with temp_dir(prefix="losscli-") as folder:   # removed on leaving the block
        ...
    path = temp_file(folder, prefix=".out.")     # made and registered at once
    ...; path.replace(target); forget(path)      # renamed into place: no longer temporary

Only this module touches the registry; it imports nothing of losscli.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_lock = threading.Lock()
_paths: dict[Path, None] = {}  # insertion-ordered set of live temporary paths


def register(path: Path) -> Path:
    """Track ``path`` (a file or a folder) until ``forget``; returns it."""
    with _lock:
        _paths[path] = None
    return path


def forget(path: Path) -> None:
    """Stop tracking ``path`` (it was removed, or renamed into its final place)."""
    with _lock:
        _paths.pop(path, None)


def registered() -> list[Path]:
    """The paths tracked now (for tests and diagnostics)."""
    with _lock:
        return list(_paths)


def temp_file(folder: Path, *, prefix: str, suffix: str = "") -> Path:
    """A new empty file in ``folder`` (mode 0600), made and registered under the lock."""
    with _lock:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
        os.close(fd)
        path = Path(name)
        _paths[path] = None
    return path


def make_dir(path: Path) -> Path:
    """Make the folder ``path`` (mode 0700) and register it, unless it is already one of ours
    (a folder made on first use: a run that needs no scratch space leaves no trace)."""
    with _lock:
        if path not in _paths:
            path.mkdir(mode=0o700)
            _paths[path] = None
    return path


def remove(path: Path) -> None:
    """Delete ``path`` (file or folder tree) if it exists, and stop tracking it."""
    _delete(path)
    forget(path)


@contextmanager
def temp_dir(prefix: str = "losscli-", folder: Path | None = None) -> Iterator[Path]:
    """A registered scratch folder, removed with its content when the block ends."""
    with _lock:
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
        _paths[path] = None
    try:
        yield path
    finally:
        remove(path)


def _delete(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass  # best effort: a path we cannot delete is not a reason to fail the run


def remove_all_and_exit(code: int) -> None:
    """Delete every registered path and end the process at once with ``code``.

    The lock is held until the process is gone, so no thread can make a new temporary file
    after the sweep.
    """
    _lock.acquire()
    for path in reversed(list(_paths)):
        _delete(path)
    os._exit(code)
