"""What a reader returns: a table of named columns or an N-d array, each read in row chunks.

A table source (CSV, TSV, Parquet) yields chunks as ``{column name: ndarray}``: numbers as
float64 (null -> NaN), text as object arrays, and a list-of-numbers column (a row's C scores,
as polars, Spark and Hugging Face datasets store them) as an (n, C) float64 array. An array
source (NPY, NPZ, in-memory arrays) yields ndarray slices along the first axis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np

from losscli.io.digest import Digest
from losscli.io.progress import by_rows, metered

T = TypeVar("T")

DEFAULT_CHUNK_ROWS = 1 << 17
# Decisions about a file (column types, task, logits or probabilities) look at its head.
PEEK_ROWS = 1 << 16
# Dense arrays are cut into chunks of about this many values.
DENSE_CHUNK_VALUES = 1 << 21

TableChunk = dict[str, Any]  # column name -> ndarray (or ``Coded`` for group columns)


@dataclass(frozen=True, slots=True)
class Coded:
    """A column as dictionary codes: row i holds ``values[codes[i]]``, code −1 is missing.

    Readers give the ``--group-by`` columns of a table this way (``TableSource.coded``): the
    distinct values are decoded once per chunk, never once per row. ``values`` are plain
    Python values (str, int, float or bool) as the file types them. Slicing and masks give a
    ``Coded``; anything else (``np.asarray``, ``np.concatenate``) sees the object array of the
    values, None where missing.
    """

    codes: np.ndarray
    values: np.ndarray  # object array of the distinct values

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, index: Any) -> Coded:
        return Coded(self.codes[index], self.values)

    @staticmethod
    def joined(parts: list[Coded]) -> Coded:
        """Parts one after the other, with one entry per distinct value (the parts' own
        dictionaries overlap, and a part cut from a larger chunk keeps all its values)."""
        index: dict[tuple[type, Any], int] = {}  # by type too: True == 1 in Python
        codes = []
        for p in parts:
            table = [index.setdefault((type(v), v), len(index)) for v in p.values]
            codes.append(np.array([*table, -1], dtype=np.int64)[p.codes])
        values = np.empty(len(index), dtype=object)
        values[:] = [v for _, v in index]
        return Coded(np.concatenate(codes), values)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        table = np.array([*self.values, None], dtype=object)
        out = table[self.codes]  # code -1 picks the last entry: None
        return out if dtype is None else out.astype(dtype)


class ColumnKind(StrEnum):
    """What a table column holds, as far as losscli reads it."""

    NUMBER = "number"
    TEXT = "text"
    SCORES = "scores"  # a list of numbers per row: the row's C scores
    OTHER = "other"  # structs, maps, dates, lists of text: not read


@dataclass(frozen=True, slots=True)
class Header:
    """Whether a text table's first row is a header, and why (None: nothing to explain)."""

    present: bool
    why: str | None = None
    # The first row could be pandas' default header (0, 1, ...) as well as data.
    ambiguous: bool = False


@dataclass
class TableSource:
    """A file of named columns; ``kinds`` says what each column holds."""

    name: str
    format: str
    columns: list[str]
    kinds: dict[str, ColumnKind]
    header: Header
    n_rows: int | None
    _open: Callable[[list[str]], Iterator[TableChunk]] = field(repr=False)
    _peek: Callable[[list[str]], Iterator[TableChunk]] = field(repr=False)
    # Arrow type names of columns losscli does not read, for messages.
    types: dict[str, str] = field(default_factory=dict)
    # The content hash of the file, computed while it streams (see losscli.io.digest).
    digest: Digest | None = field(default=None, repr=False)
    # The same chunks as Arrow record batches, where the reader has them (CSV, Parquet).
    arrow: Callable[[list[str]], Iterator[Any]] | None = field(default=None, repr=False)
    # The size of the file(s) in bytes, and the bytes a pass has read so far where the reader
    # knows it (CSV); otherwise progress is counted in rows of ``n_rows``.
    nbytes: int = field(default=0, repr=False)
    position: Callable[[], int] | None = field(default=None, repr=False)
    # Stored number type of numeric columns where the file keeps one (Parquet: "float32",
    # "float64", ...; a score list's values), so --convention sklearn computes in float32.
    number_types: dict[str, str] = field(default_factory=dict)
    # Columns the reader gives as ``Coded`` (the --group-by columns), where it can.
    coded: set[str] = field(default_factory=set, repr=False)

    @property
    def has_header(self) -> bool:
        return self.header.present

    def is_numeric(self, column: str) -> bool:
        return self.kinds[column] in (ColumnKind.NUMBER, ColumnKind.SCORES)

    def chunks(self, columns: list[str]) -> Iterator[TableChunk]:
        """Row chunks holding only ``columns`` (column projection where the format allows),
        the pass's progress reported (``losscli.io.progress``)."""
        return self.metered(self._open(columns), _rows_or_none)

    def metered(self, items: Iterator[T], rows_of: Callable[[T], int]) -> Iterator[T]:
        """A pass over the file (chunks or Arrow batches), its progress reported."""
        if self.position is not None:
            position = self.position
            return metered(items, self.nbytes, lambda _: position())
        if self.n_rows is not None:
            return metered(items, self.nbytes, by_rows(self.nbytes, self.n_rows, rows_of))
        return items

    def head(self, columns: list[str]) -> TableChunk | None:
        """The first rows (a cheap read), for deciding how to interpret the file."""
        return next(iter(self._peek(columns)), None)


@dataclass
class ArraySource:
    """An N-d array (rows on axis 0), read in chunks of rows by ``_rows(rows_per_chunk)``."""

    name: str
    format: str
    shape: tuple[int, ...]
    dtype: np.dtype
    _rows: Callable[[int], Iterator[np.ndarray]] = field(repr=False)
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    digest: Digest | None = field(default=None, repr=False)
    nbytes: int = field(default=0, repr=False)  # of the file(s): progress by rows read
    # The first rows for a look at the head, where that differs from ``_rows`` (a stream:
    # only the main pass may read past the head, see ``losscli.io.replay``).
    peek_rows: Callable[[int], Iterator[np.ndarray]] | None = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        return int(self.shape[0])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def chunks(self) -> Iterator[np.ndarray]:
        row_values = max(1, int(np.prod(self.shape[1:])))
        step = max(1, min(self.chunk_rows, DENSE_CHUNK_VALUES // row_values))
        return metered(self._rows(step), self.nbytes, by_rows(self.nbytes, self.n_rows, len))

    def head(self) -> np.ndarray | None:
        rows = self.peek_rows or self._rows
        return next(rows(PEEK_ROWS), None) if self.n_rows else None


def sliced(array: np.ndarray) -> Callable[[int], Iterator[np.ndarray]]:
    """Chunks of an array held in memory or memory-mapped: slices along axis 0."""

    def rows(step: int) -> Iterator[np.ndarray]:
        for start in range(0, int(array.shape[0]), step):
            yield np.asarray(array[start : start + step])

    return rows


Source = TableSource | ArraySource


def _rows_of(chunk: TableChunk) -> int:
    return len(next(iter(chunk.values())))


def _rows_or_none(chunk: TableChunk) -> int:
    return _rows_of(chunk) if chunk else 0


def rechunked(chunks: Iterator[TableChunk], rows: int) -> Iterator[TableChunk]:
    """Table chunks of ``rows`` rows (the last one shorter): small decoded batches joined,
    large ones cut. Readers decode in small batches to keep their own buffers small (CSV
    blocks of 256 KiB, Parquet batches of 64k rows); the engine gets fewer, larger chunks, so
    its per-chunk cost stays small. Chunks without columns pass through as they are."""
    pending: list[TableChunk] = []
    held = 0
    for chunk in chunks:
        if not chunk:
            yield chunk
            continue
        size = _rows_of(chunk)
        if not size:
            continue
        pending.append(chunk)
        held += size
        if held < rows:
            continue
        whole = pending[0] if len(pending) == 1 else _joined(pending)
        cut = held - held % rows
        for start in range(0, cut, rows):
            yield {k: v[start : start + rows] for k, v in whole.items()}
        pending = [{k: v[cut:] for k, v in whole.items()}] if cut < held else []
        held -= cut
    if pending:
        yield pending[0] if len(pending) == 1 else _joined(pending)


def _joined(chunks: list[TableChunk]) -> TableChunk:
    return {k: _concatenated([c[k] for c in chunks]) for k in chunks[0]}


def _concatenated(parts: list[Any]) -> Any:
    """Parts of one column as one: arrays concatenated, ``Coded`` parts kept coded."""
    if all(isinstance(p, Coded) for p in parts):
        return Coded.joined(parts)
    return np.concatenate(parts)


def is_number(text: str) -> bool:
    """Whether a text field parses as a float."""
    try:
        float(text)
    except ValueError:
        return False
    return True
