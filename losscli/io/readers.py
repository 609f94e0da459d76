"""Readers: one function per file format, chosen by suffix, each yielding row chunks.

A table source (CSV, TSV, Parquet) yields chunks as ``{column name: 1-D ndarray}``; an array
source (NPY, NPZ, in-memory arrays) yields ndarray slices along the first axis. pyarrow is
imported inside the readers that need it, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli.errors import InputError, UsageError
from losscli.io.digest import ArrayDigest, Digest, file_digest

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_CHUNK_ROWS = 1 << 20
# pyarrow parses CSV in blocks of this many bytes: 1 MiB streams as fast as larger blocks
# and keeps its read-ahead buffers (about 40 blocks) small.
_CSV_BLOCK_BYTES = 1 << 20
# Decisions about a file (column types, task, logits or probabilities) look at its head.
_PEEK_BLOCK_BYTES = 1 << 20
PEEK_ROWS = 1 << 16
# Dense arrays are cut into chunks of about this many values.
_DENSE_CHUNK_VALUES = 1 << 24

TableChunk = dict[str, np.ndarray]


@dataclass
class TableSource:
    """A file of named columns; ``numeric`` says which columns hold numbers."""

    name: str
    format: str
    columns: list[str]
    numeric: dict[str, bool]
    has_header: bool
    n_rows: int | None
    _open: Callable[[list[str]], Iterator[TableChunk]] = field(repr=False)
    _peek: Callable[[list[str]], Iterator[TableChunk]] = field(repr=False)
    # The content hash of the file, computed while it streams (see losscli.io.digest).
    digest: Digest | None = field(default=None, repr=False)

    def chunks(self, columns: list[str]) -> Iterator[TableChunk]:
        """Row chunks holding only ``columns`` (column projection where the format allows)."""
        return self._open(columns)

    def head(self, columns: list[str]) -> TableChunk | None:
        """The first rows (a cheap read), for deciding how to interpret the file."""
        return next(iter(self._peek(columns)), None)


@dataclass
class ArraySource:
    """An N-d array (rows on axis 0); memory-mapped for ``.npy``."""

    name: str
    format: str
    array: np.ndarray
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    digest: Digest | None = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        return int(self.array.shape[0])

    def chunks(self) -> Iterator[np.ndarray]:
        row_values = max(1, int(np.prod(self.array.shape[1:])))
        step = max(1, min(self.chunk_rows, _DENSE_CHUNK_VALUES // row_values))
        for start in range(0, self.n_rows, step):
            yield np.asarray(self.array[start : start + step])

    def head(self) -> np.ndarray | None:
        return np.asarray(self.array[:PEEK_ROWS]) if self.n_rows else None


Source = TableSource | ArraySource


def is_number(text: str) -> bool:
    """Whether a text field parses as a float."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_line(path: Path) -> str:
    """The file's first line, decompressing by suffix; '' for an empty file."""
    import pyarrow as pa

    with pa.input_stream(str(path), compression="detect") as stream:
        head = stream.read(1 << 16)
    if not head.strip():
        return ""
    text = head.decode("utf-8", errors="replace")
    return text.splitlines()[0] if text.splitlines() else ""


def _arrow_numeric(typ: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_boolean(typ)
        or pa.types.is_null(typ)
        or pa.types.is_decimal(typ)
    )


def _batch_to_chunk(batch: pa.RecordBatch, columns: list[str]) -> TableChunk:
    """Columns of an Arrow batch as ndarrays: numbers as float64 (null -> NaN), text as object.

    Conversions stay inside Arrow and NumPy: Arrow's generic ``to_numpy`` would import pandas,
    which costs more than parsing a large file.
    """
    import pyarrow as pa

    out: TableChunk = {}
    for name in columns:
        col = batch.column(name)
        if _arrow_numeric(col.type):
            values = _values_view(col.cast(pa.float64()), np.float64)
            if col.null_count:
                values = np.where(_valid(col), values, np.nan)
            out[name] = values
        else:
            # Text (class names, ids) repeats: decode each distinct value once.
            encoded = col.cast(pa.string()).dictionary_encode()
            words = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
            codes = _values_view(encoded.indices.cast(pa.int64()), np.int64)
            if encoded.indices.null_count:
                codes = np.where(_valid(encoded.indices), codes, len(words) - 1)
            out[name] = words[codes]
    return out


def _valid(col: pa.Array) -> np.ndarray:
    """The validity bitmap of an Arrow array as booleans (True where a value is present)."""
    bits = np.frombuffer(col.buffers()[0], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[col.offset : col.offset + len(col)].astype(bool)


def _values_view(col: pa.Array, dtype: Any) -> np.ndarray:
    """The value buffer of a null-free fixed-width Arrow array as an ndarray, without copying."""
    return np.frombuffer(
        col.buffers()[1], dtype=dtype, count=len(col), offset=col.offset * np.dtype(dtype).itemsize
    )


def _rechunk(chunks: Iterator[TableChunk], rows: int) -> Iterator[TableChunk]:
    """Cut chunks longer than ``rows`` (format blocks can be larger than asked for)."""
    for chunk in chunks:
        n = len(next(iter(chunk.values()))) if chunk else 0
        for start in range(0, n, rows):
            yield {k: v[start : start + rows] for k, v in chunk.items()}


def _arrow_error(name: str, exc: Exception) -> InputError:
    return InputError(f"{name}: cannot read the file: {exc}")


def _read_delimited(path: Path, fmt: str, delimiter: str, chunk_rows: int) -> TableSource:
    """CSV/TSV (optionally gzip-compressed), streamed by pyarrow in blocks.

    The first line is a header unless every field in it is a number; every numeric column is
    read as float64 so a later block cannot change a column's type.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    line = _first_line(path)
    if not line:
        raise InputError(f"{path}: the file is empty; expected a header and one row per sample")
    fields = [f.strip().strip('"') for f in line.split(delimiter)]
    has_header = not all(is_number(f) for f in fields)
    names = fields if has_header else [str(i) for i in range(len(fields))]
    if has_header and len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"{path}: duplicate column names in the header: {', '.join(dupes)}")
    # An empty line in a one-column file is a missing value, not nothing.
    parse_opts = pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False)

    def open_reader(
        types: dict[str, pa.DataType] | None, include: list[str] | None, block: int
    ) -> Any:
        convert = pacsv.ConvertOptions(column_types=types, include_columns=include)
        read_opts = pacsv.ReadOptions(block_size=block, column_names=None if has_header else names)
        try:
            return pacsv.open_csv(
                str(path),
                read_options=read_opts,
                parse_options=parse_opts,
                convert_options=convert,
            )
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                raise InputError(f"{path}: the file has a header but no rows") from None
            raise _arrow_error(str(path), exc) from None

    schema = open_reader(None, None, _PEEK_BLOCK_BYTES).schema
    numeric = {f.name: _arrow_numeric(f.type) for f in schema}
    types = {n: (pa.float64() if numeric[n] else pa.string()) for n in names}

    def batches(columns: list[str], block: int) -> Iterator[TableChunk]:
        reader = open_reader({c: types[c] for c in columns}, columns, block)
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise InputError(
                    f"{path}: {exc}; every prediction and numeric label must be a number"
                ) from None
            yield _batch_to_chunk(batch, columns)

    def chunks(columns: list[str]) -> Iterator[TableChunk]:
        return _rechunk(batches(columns, _CSV_BLOCK_BYTES), chunk_rows)

    def peek(columns: list[str]) -> Iterator[TableChunk]:
        return batches(columns, _PEEK_BLOCK_BYTES)

    return TableSource(str(path), fmt, names, numeric, has_header, None, chunks, peek)


def read_csv(path: Path, chunk_rows: int) -> Source:
    return _read_delimited(path, "csv", ",", chunk_rows)


def read_tsv(path: Path, chunk_rows: int) -> Source:
    return _read_delimited(path, "tsv", "\t", chunk_rows)


def read_parquet(path: Path, chunk_rows: int) -> Source:
    """Parquet, read by row groups with only the columns asked for."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise _arrow_error(str(path), exc) from None
    schema = pfile.schema_arrow
    numeric = {f.name: _arrow_numeric(f.type) for f in schema}

    def batches(columns: list[str], rows: int) -> Iterator[TableChunk]:
        for batch in pfile.iter_batches(batch_size=rows, columns=columns):
            yield _batch_to_chunk(batch, columns)

    def chunks(columns: list[str]) -> Iterator[TableChunk]:
        return batches(columns, chunk_rows)

    def peek(columns: list[str]) -> Iterator[TableChunk]:
        return batches(columns, PEEK_ROWS)

    return TableSource(
        str(path),
        "parquet",
        list(schema.names),
        numeric,
        True,
        pfile.metadata.num_rows,
        chunks,
        peek,
    )


def _checked_array(path: Path, array: np.ndarray) -> np.ndarray:
    if array.dtype.hasobject:
        raise InputError(f"{path}: the array holds Python objects; save numbers instead")
    if array.ndim == 0:
        raise InputError(f"{path}: the array is a scalar; expected one row per sample")
    return array


def read_npy(path: Path, chunk_rows: int) -> Source:
    """NPY, memory-mapped and never unpickled."""
    with path.open("rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            raise InputError(
                f"{path}: not a valid .npy file (no NumPy header); write it with numpy.save"
            )
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "object" in str(exc).lower() or "pickle" in str(exc).lower():
            raise InputError(
                f"{path}: the array holds Python objects, which losscli never unpickles; "
                "save a numeric or string array"
            ) from None
        raise InputError(f"{path}: not a valid .npy file ({exc})") from None
    except OSError as exc:
        raise InputError(f"{path}: not a valid .npy file ({exc})") from None
    return ArraySource(str(path), "npy", _checked_array(path, array), chunk_rows)


def read_npz(path: Path, chunk_rows: int, key: str | None = None) -> Source:
    """NPZ: the single array it holds, or the one named by ``key``; never unpickled."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: not a valid .npz file ({exc})") from None
    with archive:
        keys = list(archive.files)
        if key is None:
            if len(keys) != 1:
                raise UsageError(
                    f"{path} holds {len(keys)} arrays ({', '.join(keys) or 'none'}); "
                    "name one with --preds-key/--labels-key"
                )
            key = keys[0]
        if key not in keys:
            raise UsageError(f"{path} has no array {key!r}; it holds: {', '.join(keys)}")
        try:
            array = archive[key]
        except ValueError:
            raise InputError(
                f"{path}: array {key!r} holds Python objects, which losscli never unpickles"
            ) from None
    return ArraySource(f"{path}[{key}]", "npz", _checked_array(path, array), chunk_rows)


Reader = Callable[[Path, int], Source]

READERS: dict[str, Reader] = {
    ".csv": read_csv,
    ".csv.gz": read_csv,
    ".tsv": read_tsv,
    ".tsv.gz": read_tsv,
    ".tab": read_tsv,
    ".parquet": read_parquet,
    ".pq": read_parquet,
    ".npy": read_npy,
    ".npz": read_npz,
}


def format_of(path: Path) -> str:
    """The reader key for a path: its last suffix, or the last two for compressed files."""
    suffixes = [s.lower() for s in path.suffixes]
    double = "".join(suffixes[-2:])
    if len(suffixes) >= 2 and double in READERS:
        return double
    return suffixes[-1] if suffixes else ""


def open_source(
    path: Path, *, key: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Source:
    """Open a file with the reader its suffix names (exit-3 errors for bad files)."""
    fmt = format_of(path)
    reader = READERS.get(fmt)
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise InputError(
            f"{path}: unsupported file type {fmt or '(no suffix)'!r}; losscli reads {known}"
        )
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; expected a file")
    if key is not None and fmt != ".npz":
        raise UsageError(f"{path}: an array key only applies to .npz files")
    try:
        src = read_npz(path, chunk_rows, key) if fmt == ".npz" else reader(path, chunk_rows)
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    src.digest = file_digest(path)
    return src


def array_source(name: str, data: Any, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> ArraySource:
    """An in-memory array-like (lists, NumPy arrays) as a source, for the Python API."""
    array = np.asarray(data)
    if array.dtype.hasobject:
        array = array.astype(str)
    if array.ndim == 0:
        raise InputError(f"{name}: expected one value per sample, got a scalar")
    return ArraySource(name, "array", array, chunk_rows, digest=ArrayDigest(array))


# --------------------------------------------------------------------------- standard input

STDIN = Path("-")
STDIN_NAME = "<stdin>"
# What --preds-format / --labels-format accept: the reader keys without their dot.
FORMAT_NAMES = tuple(key.lstrip(".") for key in READERS)


def stdin_to_file(path: Path, fmt: str | None, folder: Path, option: str) -> Path:
    """The file to open for ``path``: ``path`` itself, or standard input when it is ``-``.

    Readers open their file more than once (a look at the head, then the chunks), so standard
    input is copied once into ``folder`` under the suffix ``fmt`` names (e.g. ``csv``).
    """
    if path != STDIN:
        if fmt is not None and "." + fmt.lower().lstrip(".") != format_of(path):
            raise UsageError(
                f"{option} {fmt} applies to '-' (standard input); {path} is read by its suffix"
            )
        return path
    known = ", ".join(FORMAT_NAMES)
    if fmt is None:
        raise UsageError(f"reading standard input ('-') needs {option} ({known})")
    suffix = "." + fmt.lower().lstrip(".")
    if suffix not in READERS:
        raise UsageError(f"{option} {fmt}: unknown format; choose one of {known}")
    import shutil
    import sys

    target = folder / f"stdin{suffix}"
    with target.open("wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out)
    return target
