"""NPY and NPZ readers: never unpickled, never expanded beyond what their headers declare.

An ``.npy`` file is read in chunks of rows, each a fresh array (a memory map would keep every
page it touched resident: 880 MB for a 50M-row pair). An ``.npz`` member is checked before any
of its data is read: it must be an ``.npy`` whose header's shape and dtype account exactly for
the size the zip directory declares; then its rows are streamed out of the archive in chunks,
so a compressed archive of any size is read in bounded memory.
"""

from __future__ import annotations

import io
import mmap
import zipfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import IO, Any

import numpy as np

from losscli.errors import InputError, UsageError
from losscli.io.replay import Replay, stream_at
from losscli.io.sources import ArraySource, Source, sliced

# A Fortran-ordered member cannot be streamed by rows; it is read whole up to this size.
_MAX_FORTRAN_BYTES = 1 << 28


def _checked_dtype(name: str, dtype: np.dtype) -> np.dtype:
    if dtype.hasobject:
        raise InputError(
            f"{name}: the array holds Python objects, which losscli never unpickles; "
            "save a numeric or string array"
        )
    if dtype.kind not in "biufU" or dtype.fields is not None:
        raise InputError(f"{name}: arrays of {dtype} are not read; save numbers or text")
    return dtype


def _checked_shape(name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    if len(shape) == 0:
        raise InputError(f"{name}: the array is a scalar; expected one row per sample")
    return shape


def read_npy(path: Path, *, chunk_rows: int, key: str | None = None, dialect: Any = None) -> Source:
    """NPY, never unpickled, read in blocks of rows (see ``_npy_rows``)."""
    stream = stream_at(path)
    if stream is not None and not stream.spilled:
        return _streamed_npy(stream, chunk_rows)
    with path.open("rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            raise InputError(
                f"{path}: not a valid .npy file (no NumPy header); write it with numpy.save"
            )
        fh.seek(0)
        shape, fortran, dtype, skip = _member_header(fh, str(path))
    _checked_dtype(str(path), dtype)
    shape = _checked_shape(str(path), shape)
    data_bytes = int(np.prod(shape)) * dtype.itemsize
    size = path.stat().st_size
    if skip + data_bytes > size:
        raise InputError(
            f"{path}: the header declares {shape} {dtype} ({data_bytes} bytes) but the file holds "
            f"{size - skip} bytes; the file is cut short"
        )
    rows = _npy_rows(path, shape, dtype, skip, fortran and len(shape) > 1)
    return ArraySource(str(path), "npy", shape, dtype, rows, chunk_rows)


def _streamed_npy(stream: Replay, chunk_rows: int) -> Source:
    """NPY on standard input: the header from the head buffer, then one pass of rows (a
    Fortran-ordered array needs the whole file: spilled and read as one)."""
    path, name = stream.path, str(stream.path)
    with io.BufferedReader(stream.cursor(main=False)) as fh:
        if fh.peek(6)[:6] != b"\x93NUMPY":
            raise InputError(
                f"{name}: not a valid .npy file (no NumPy header); write it with numpy.save"
            )
        shape, fortran, dtype, skip = _member_header(fh, name)
    if fortran and len(shape) > 1:
        stream.spill()
        return read_npy(path, chunk_rows=chunk_rows)
    _checked_dtype(name, dtype)
    shape = _checked_shape(name, shape)

    def rows(step: int, main: bool = True) -> Iterator[np.ndarray]:
        with io.BufferedReader(stream.cursor(main=main), buffer_size=1 << 20) as fh:
            fh.read(skip)
            yield from _read_rows(fh, name, shape, dtype, step)

    source = ArraySource(name, "npy", shape, dtype, rows, chunk_rows)
    source.peek_rows = partial(rows, main=False)
    return source


def _read_rows(
    fh: IO[bytes], name: str, shape: tuple[int, ...], dtype: np.dtype, step: int
) -> Iterator[np.ndarray]:
    """A C-ordered array's rows from ``fh`` (at its first data byte), ``step`` at a time,
    each read straight into a fresh array; a short read is exit 3."""
    row_bytes = (int(np.prod(shape[1:])) if len(shape) > 1 else 1) * dtype.itemsize
    for start in range(0, shape[0], step):
        n = min(step, shape[0] - start)
        out = np.empty((n, *shape[1:]), dtype=dtype)
        if fh.readinto(out.reshape(-1).view(np.uint8).data) != n * row_bytes:  # type: ignore[attr-defined]
            raise InputError(f"{name}: the array data is cut short")
        yield out


def _npy_rows(
    path: Path, shape: tuple[int, ...], dtype: np.dtype, skip: int, fortran: bool
) -> Callable[[int], Iterator[np.ndarray]]:
    """Chunks of rows of an ``.npy`` file, each a fresh array: memory stays at one chunk.

    A C-ordered array is read with plain reads (its rows are contiguous). A Fortran-ordered
    one is memory-mapped, each chunk copied out, and the mapped pages released after every
    chunk (``MADV_DONTNEED``), so they never add up in the resident set.
    """

    def c_rows(step: int) -> Iterator[np.ndarray]:
        with path.open("rb", buffering=0) as fh:
            fh.seek(skip)
            yield from _read_rows(fh, str(path), shape, dtype, step)

    def f_rows(step: int) -> Iterator[np.ndarray]:
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            whole = np.frombuffer(mm, dtype=dtype, count=int(np.prod(shape)), offset=skip)
            array = whole.reshape(shape, order="F")
            try:
                for start in range(0, shape[0], step):
                    out = np.array(array[start : start + step], order="C")
                    if hasattr(mm, "madvise"):
                        mm.madvise(mmap.MADV_DONTNEED)
                    yield out
            finally:
                del whole, array  # the views must go before the map closes

    return f_rows if fortran else c_rows


def _member_header(fh: IO[bytes], where: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, Fortran order, dtype and header length of the ``.npy`` at the start of ``fh``."""
    fmt = np.lib.format
    if fh.read(6) != b"\x93NUMPY":
        raise InputError(f"{where} is not a NumPy array; an .npz holds arrays saved by numpy")
    major = fh.read(2)
    if len(major) != 2 or major[0] not in (1, 2, 3):
        raise InputError(f"{where}: unknown .npy format version")
    size_bytes = 2 if major[0] == 1 else 4
    length = int.from_bytes(fh.read(size_bytes), "little")
    fh_header = fh.read(length)
    if len(fh_header) != length:
        raise InputError(f"{where}: the .npy header is cut short")
    try:
        import ast

        meta = ast.literal_eval(fh_header.decode("latin-1"))
        dtype = fmt.descr_to_dtype(meta["descr"])
        shape = tuple(int(n) for n in meta["shape"])
        fortran = bool(meta["fortran_order"])
    except (ValueError, SyntaxError, KeyError, TypeError) as exc:
        raise InputError(f"{where}: not a valid .npy header ({exc})") from None
    if any(n < 0 for n in shape):
        raise InputError(f"{where}: negative size in the .npy header")
    return shape, fortran, dtype, 6 + 2 + size_bytes + length


def _member_rows(
    archive_path: Path, member: str, shape: tuple[int, ...], dtype: np.dtype, skip: int
) -> Any:
    """Chunks of ``rows`` rows, decompressed as they are read."""
    row_items = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    row_bytes = row_items * dtype.itemsize

    def rows(step: int) -> Iterator[np.ndarray]:
        with zipfile.ZipFile(archive_path) as zf, zf.open(member) as fh:
            fh.read(skip)
            for start in range(0, shape[0], step):
                n = min(step, shape[0] - start)
                data = fh.read(n * row_bytes)
                if len(data) != n * row_bytes:
                    raise InputError(f"{archive_path}[{member}]: the array data is cut short")
                yield np.frombuffer(data, dtype=dtype).reshape((n, *shape[1:]))

    return rows


def _pick_member(path: Path, names: list[str], key: str | None) -> str:
    keys = [n.removesuffix(".npy") for n in names]
    if key is None:
        if len(keys) != 1:
            raise UsageError(
                f"{path} holds {len(keys)} arrays ({', '.join(keys) or 'none'}); "
                "name one with --preds-key/--labels-key"
            )
        return names[0]
    if key not in keys:
        raise UsageError(f"{path} has no array {key!r}; it holds: {', '.join(keys)}")
    return names[keys.index(key)]


def read_npz(path: Path, *, chunk_rows: int, key: str | None = None, dialect: Any = None) -> Source:
    """NPZ: the single array it holds, or the one named by ``key``; checked, then streamed."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename: i for i in zf.infolist() if not i.is_dir()}
            member = _pick_member(path, list(infos), key)
            where = f"{path}[{member.removesuffix('.npy')}]"
            with zf.open(member) as fh:
                shape, fortran, dtype, skip = _member_header(fh, where)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise InputError(f"{path}: not a valid .npz file ({exc})") from None
    if dtype.hasobject:
        raise InputError(
            f"{path}: array {member.removesuffix('.npy')!r} holds Python objects, which losscli "
            "never unpickles; save a numeric or string array"
        )
    _checked_dtype(where, dtype)
    _checked_shape(where, shape)
    data_bytes = int(np.prod(shape)) * dtype.itemsize
    if skip + data_bytes != infos[member].file_size:
        raise InputError(
            f"{where}: the header declares {shape} {dtype} ({data_bytes} bytes) but the archive "
            f"holds {infos[member].file_size - skip} bytes; the file is damaged"
        )
    rows = _member_rows(path, member, shape, dtype, skip)
    if fortran and len(shape) > 1 and data_bytes:
        if data_bytes > _MAX_FORTRAN_BYTES:
            raise InputError(
                f"{where}: a Fortran-ordered array over 256 MiB cannot be streamed by rows; "
                "save numpy.ascontiguousarray(x)"
            )
        whole = next(_member_rows(path, member, (int(np.prod(shape)),), dtype, skip)(1 << 62))
        rows = sliced(whole.reshape(shape, order="F"))
    return ArraySource(where, "npz", shape, dtype, rows, chunk_rows)
