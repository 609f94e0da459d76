"""Content hashes of the input files (``inputs.*.sha256`` and the labels part of signatures).

A file is hashed in one streaming pass on a background thread, started when the file is
opened, so hashing overlaps with the readers that parse the same (by then cached) bytes;
``hexdigest()`` waits for the pass to finish. ``hashlib`` releases the GIL on large blocks.
"""

from __future__ import annotations

import hashlib
import stat
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from losscli.errors import InputError

if TYPE_CHECKING:
    import numpy as np

_BLOCK = 1 << 20
# Digests already started in this process, by (path, size, mtime): compare and check open the
# same labels file once per model.
_STARTED: dict[tuple[str, int, int], ContentDigest] = {}


class ContentDigest:
    """The sha256 of the bytes of one or more files (in the given order), hashed in a thread."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._paths = list(paths)
        self._hex: str | None = None
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="losscli-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        h = hashlib.sha256()
        buf = bytearray(_BLOCK)
        view = memoryview(buf)
        try:
            for path in self._paths:
                with path.open("rb", buffering=0) as fh:
                    while n := fh.readinto(buf):
                        h.update(view[:n])
        except OSError as exc:
            self._error = exc
            return
        self._hex = h.hexdigest()

    def hexdigest(self) -> str:
        """The hex digest (waits for the hashing pass)."""
        self._thread.join()
        if self._hex is None:
            err = self._error
            raise InputError(
                f"{err.filename if err else self._paths}: cannot read the file to hash it "
                f"({err.strerror if err else 'unknown error'})"
            )
        return self._hex


class ArrayDigest:
    """The sha256 of an in-memory array (dtype, shape and C-order bytes), for the Python API."""

    def __init__(self, array: np.ndarray) -> None:
        import numpy as np

        h = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
        if array.dtype.hasobject:
            h.update(repr(array.tolist()).encode())
        else:
            h.update(np.ascontiguousarray(array).tobytes())
        self._hex = h.hexdigest()

    def hexdigest(self) -> str:
        return self._hex


class StreamDigest:
    """The sha256 of a stream, hashed as its bytes pass (``losscli.io.replay``)."""

    def __init__(self, finish: Callable[[], str]) -> None:
        self._finish = finish

    def hexdigest(self) -> str:
        return self._finish()


Digest = ContentDigest | ArrayDigest | StreamDigest


def file_digest(path: Path) -> ContentDigest:
    """Start hashing ``path`` (once per process for an unchanged file)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _STARTED:
        _STARTED[key] = ContentDigest([path])
    return _STARTED[key]


def hash_ahead(paths: Iterable[Path | None]) -> None:
    """Start hashing the regular files among ``paths`` now, before the command loads NumPy,
    pyarrow and the engine: the second core hashes while the first imports, and the readers
    find the pass started (``file_digest`` runs it once per file). Anything else (standard
    input, pipes, URLs, folders, missing files) is left to the readers and their errors."""
    for path in paths:
        if path is None or str(path) == "-":
            continue
        try:
            if stat.S_ISREG(path.stat().st_mode):
                file_digest(path)
        except (OSError, ValueError):  # missing, unreadable, a name the OS refuses
            continue
