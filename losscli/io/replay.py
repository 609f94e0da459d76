"""Standard input read as a stream: a bounded head buffer replayed in front of the rest.

A CSV/TSV (plain or gzip) or ``.npy`` on standard input is not copied to disk. The reader's
early looks (encoding and header sniff, schema, the planner's peeks) each open a cursor that
reads from the head buffer, which grows from the stream as they need (at most
``LOSSCLI_STDIN_HEAD_BYTES``, 64 MiB by default). The main pass opens the one *main* cursor:
it replays the head, then reads the stream itself, and the head is dropped once passed, so
memory stays at the head buffer plus the reader's own blocks. Every byte taken from the
stream goes through one sha256 (the input's ``sha256``), never read a second time.

When the early looks need more than the head buffer (a header line of 100 MB, the first
65,536 rows of a wide ``.npy``), the stream falls back to the spill: the head and the rest
are copied to the spill folder with the size check of ``losscli.io.stdin``, and every cursor
reads that file. A second pass over a stream that was not spilled stops with exit 3.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import threading
from pathlib import Path
from typing import Any, BinaryIO

from losscli.errors import InputError
from losscli.io.formats import INPUT_FORMATS, format_of

_HEAD_ENV = "LOSSCLI_STDIN_HEAD_BYTES"
_HEAD_BYTES = 1 << 26
_MAX_ENV = "LOSSCLI_STDIN_MAX_BYTES"
# Keep this much of the temporary folder's disk free while copying.
_KEEP_FREE_BYTES = 1 << 30
_PULL_BYTES = 1 << 16
_COPY_BYTES = 1 << 20
# The first bytes each binary format starts with (text formats must hold no NUL byte).
_MAGIC = {
    ".npy": b"\x93NUMPY",
    ".npz": b"PK",
    ".parquet": b"PAR1",
    ".pq": b"PAR1",
    ".csv.gz": b"\x1f\x8b",
    ".tsv.gz": b"\x1f\x8b",
}
# Formats read front to back in one main pass (the others need seeks: always spilled).
STREAMED = frozenset({".csv", ".csv.gz", ".tsv", ".tsv.gz", ".tab", ".npy"})
_STREAMS: dict[Path, Replay] = {}


def check_start(first: bytes, suffix: str, shown: str, fix: str) -> None:
    """The first bytes of a stream must look like ``suffix`` (``< /dev/zero`` stops at once)."""
    magic = _MAGIC.get(suffix)
    if first and magic is not None and not first.startswith(magic):
        raise InputError(f"{shown}: the data does not start like a {suffix} file; {fix}")
    if magic is None and suffix in INPUT_FORMATS and b"\x00" in first[:4096]:
        raise InputError(f"{shown}: the data holds NUL bytes, so it is not {suffix} text; {fix}")


def copy_limit(folder: Path) -> int:
    """How many bytes a copy into ``folder`` may hold (free disk, ``LOSSCLI_STDIN_MAX_BYTES``)."""
    free = shutil.disk_usage(folder).free - _KEEP_FREE_BYTES
    cap = os.environ.get(_MAX_ENV)
    return min(free, int(cap)) if cap and cap.isdigit() else free


def over_limit(shown: str, limit: int) -> InputError:
    return InputError(
        f"{shown}: the input is over {limit >> 20} MiB, more than losscli copies to the "
        f"temporary folder ({_MAX_ENV} or the free disk space); write it to a file and pass "
        "its path"
    )


def head_bytes() -> int:
    cap = os.environ.get(_HEAD_ENV)
    return int(cap) if cap and cap.isdigit() else _HEAD_BYTES


def stream_at(path: Path) -> Replay | None:
    """The stream that stands for ``path`` (a name in a spill folder), if any."""
    return _STREAMS.get(path)


def rereadable(path: Path) -> bool:
    """Whether ``path`` can be read from the start again (a file, or a spilled stream)."""
    stream = _STREAMS.get(path)
    return stream is None or stream.spilled


def drop_stream(path: Path) -> None:
    """Forget the stream standing for ``path`` (its spill folder is being removed)."""
    _STREAMS.pop(path, None)


def open_input(path: Path, *, main: bool = False, decompress: bool = True) -> Any:
    """A pyarrow input stream of ``path``: the file, or a cursor over the stream it stands
    for (``main``: the one pass that reads the stream past its head). ``decompress``:
    gunzip a ``.gz`` name (else the raw bytes, e.g. to measure progress)."""
    import pyarrow as pa

    stream = _STREAMS.get(path)
    gz = decompress and path.name.lower().endswith(".gz")
    if stream is None:
        return pa.input_stream(str(path), compression="gzip" if gz else None)
    return pa.input_stream(stream.cursor(main=main), compression="gzip" if gz else None)


class Replay:
    """One stream (standard input) with its head buffer, its digest and its fallback spill."""

    def __init__(self, source: BinaryIO, path: Path, shown: str, fix: str) -> None:
        self.path, self.shown, self._fix = path, shown, fix
        self._suffix = format_of(path.name)
        self._source = source
        self._lock = threading.RLock()
        self._head = bytearray()  # bytes [0, len) of the stream while no main pass runs
        self._head_end = 0  # where the head ended when the main pass began
        self._pulled = 0
        self._eof = False
        self._hash = hashlib.sha256()
        self._main: _Cursor | None = None
        self._spilled = False
        # Set when a read or the copy failed: bytes may be gone, so every later read fails
        # the same way (a reader that swallowed it, pyarrow's read-ahead, must not hide it).
        self._broken: InputError | None = None
        self._limit = head_bytes()
        _STREAMS[path] = self

    @property
    def spilled(self) -> bool:
        return self._spilled

    def _pull(self, n: int) -> bytes:
        """Up to ``n`` bytes from the stream, hashed (b"" at its end)."""
        if self._eof:
            return b""
        try:
            block = self._source.read(n)
        except OSError as exc:
            raise InputError(
                f"{self.shown}: cannot read ({exc.strerror or exc}); the input stopped"
            ) from None
        if self._pulled == 0:
            check_start(block, self._suffix, self.shown, self._fix)
        self._hash.update(block)
        self._pulled += len(block)
        self._eof = not block
        return block

    def cursor(self, *, main: bool) -> _Cursor:
        """A new reader from byte 0 (``main``: the pass that goes on past the head)."""
        with self._lock:
            if self._broken is not None:
                raise self._broken
            if self._main is not None and not self._spilled:
                raise InputError(
                    f"{self.shown}: this command reads the input twice here, and standard input "
                    "can be read once; write it to a file and pass its path"
                )
            cursor = _Cursor(self)
            if main and not self._spilled:
                self._main, self._head_end = cursor, len(self._head)
            return cursor

    def read_at(self, cursor: _Cursor, pos: int, n: int) -> bytes:
        with self._lock:
            if self._broken is not None:
                raise self._broken
            try:
                return self._read_at(cursor, pos, n)
            except InputError as exc:
                self._broken = exc
                raise

    def _read_at(self, cursor: _Cursor, pos: int, n: int) -> bytes:
        with self._lock:
            if self._spilled:
                with self.path.open("rb") as fh:
                    fh.seek(pos)
                    return fh.read(n)
            if self._main is None:
                return self._from_head(pos, n)
            if cursor is not self._main:
                raise OSError(f"{self.shown}: the stream has moved on")
            if pos < self._head_end:
                out = bytes(self._head[pos : min(pos + n, self._head_end)])
                if pos + len(out) >= self._head_end:
                    self._head = bytearray()  # replayed: the rest comes from the stream
                return out
            return self._pull(n)

    def _from_head(self, pos: int, n: int) -> bytes:
        """Bytes of the head, growing it from the stream; past the limit, the spill."""
        while len(self._head) < pos + n and not self._eof:
            if len(self._head) + _PULL_BYTES > self._limit:
                self.spill()
                with self.path.open("rb") as fh:
                    fh.seek(pos)
                    return fh.read(n)
            self._head += self._pull(max(_PULL_BYTES, pos + n - len(self._head)))
        return bytes(self._head[pos : pos + n])

    def spill(self) -> Path:
        """Copy the stream (head and rest) to its path in the spill folder, size-checked;
        every cursor reads that file from now on."""
        with self._lock:
            if self._spilled:
                return self.path
            if self._main is not None:
                raise InputError(
                    f"{self.shown}: the stream is being read and can not be copied now; "
                    "write it to a file and pass its path"
                )
            from losscli.io.cleanup import make_dir

            limit, written = copy_limit(make_dir(self.path.parent)), len(self._head)
            with self.path.open("wb") as out:
                out.write(self._head)
                while block := self._pull(_COPY_BYTES):
                    written += len(block)
                    if written > limit:
                        raise over_limit(self.shown, limit)
                    out.write(block)
            self._head, self._spilled = bytearray(), True
            return self.path

    def hexdigest(self) -> str:
        """The sha256 of every byte of the stream (the rest read now if a pass stopped early)."""
        with self._lock:
            if self._main is None and not self._spilled:
                self.spill()
            while self._pull(_COPY_BYTES):
                pass
            return self._hash.hexdigest()


class _Cursor(io.RawIOBase):
    """A file-like reader of a ``Replay`` from byte 0 (what pyarrow's readers are given)."""

    def __init__(self, replay: Replay) -> None:
        super().__init__()
        self._replay = replay
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.closed:  # a reader dropped while pyarrow still reads ahead: its end
            return 0
        view = memoryview(buffer).cast("B")
        data = self._replay.read_at(self, self._pos, len(view))
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos
