"""Arrow decoding (shared by the CSV and Parquet readers) and the Parquet reader.

Conversions stay inside Arrow and NumPy: Arrow's generic ``to_numpy`` would import pandas,
which costs more than parsing a large file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli.errors import InputError
from losscli.io.sources import (
    PEEK_ROWS,
    Coded,
    ColumnKind,
    Header,
    Source,
    TableChunk,
    TableSource,
    rechunked,
)

if TYPE_CHECKING:
    import pyarrow as pa


def _is_number_type(typ: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_boolean(typ)
        or pa.types.is_null(typ)
        or pa.types.is_decimal(typ)
    )


def column_kind(typ: pa.DataType) -> ColumnKind:
    """How losscli reads a column of this Arrow type."""
    import pyarrow as pa

    if _is_number_type(typ):
        return ColumnKind.NUMBER
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_dictionary(typ):
        return ColumnKind.TEXT
    is_list = pa.types.is_list(typ) or pa.types.is_large_list(typ)
    if (is_list or pa.types.is_fixed_size_list(typ)) and _is_number_type(typ.value_type):
        return ColumnKind.SCORES
    return ColumnKind.OTHER


def batch_to_chunk(
    batch: pa.RecordBatch, columns: list[str], name: str, coded: Collection[str] = ()
) -> TableChunk:
    """Columns of an Arrow batch as ndarrays: numbers as float64 (null -> NaN), text as object,
    a list of numbers per row as an (n, C) float64 array; the ``coded`` columns as ``Coded``
    (their values as the file types them: text, integers, booleans)."""
    out: TableChunk = {}
    for col_name in columns:
        col = batch.column(col_name)
        kind = column_kind(col.type)
        if col_name in coded:
            out[col_name] = _coded(col, f"{name}: column {col_name!r}")
        elif kind is ColumnKind.NUMBER:
            out[col_name] = _numbers(col)
        elif kind is ColumnKind.TEXT:
            out[col_name] = _text(col)
        elif kind is ColumnKind.SCORES:
            out[col_name] = _score_rows(col, f"{name}: column {col_name!r}")
        else:
            raise InputError(
                f"{name}: column {col_name!r} holds {col.type}; losscli reads numbers, text and "
                "lists of numbers (a row's scores)"
            )
    return out


def _numbers(col: pa.Array) -> np.ndarray:
    import pyarrow as pa

    # Array.cast imports pyarrow.compute (~0.1 s): float64 columns need no cast.
    values = _values_view(col if col.type == pa.float64() else col.cast(pa.float64()), np.float64)
    return np.where(_valid(col), values, np.nan) if col.null_count else values


def _text(col: pa.Array) -> np.ndarray:
    """Text (class names, ids) repeats: decode each distinct value once."""
    import pyarrow as pa

    encoded = col.cast(pa.string()).dictionary_encode()
    words = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
    codes = _values_view(encoded.indices.cast(pa.int64()), np.int64)
    if encoded.indices.null_count:
        codes = np.where(_valid(encoded.indices), codes, len(words) - 1)
    return words[codes]


def _coded(col: pa.Array, where: str) -> Coded:
    """A column as dictionary codes and its distinct values (null -> code −1)."""
    import pyarrow as pa

    if not pa.types.is_dictionary(col.type):
        try:
            col = col.dictionary_encode()
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            raise InputError(
                f"{where} holds {col.type}; group values must be text, integers or booleans"
            ) from None
    indices = col.indices.cast(pa.int64())
    codes = _values_view(indices, np.int64)
    if indices.null_count:
        codes = np.where(_valid(indices), codes, -1)
    return Coded(codes, np.array(col.dictionary.to_pylist(), dtype=object))


def _score_rows(col: pa.Array, where: str) -> np.ndarray:
    """A list<number> or fixed_size_list<number> column as an (n, C) matrix (null row -> NaN)."""
    import pyarrow as pa

    n = len(col)
    if pa.types.is_fixed_size_list(col.type):
        width = col.type.list_size
    else:
        lengths = np.asarray(col.value_lengths().fill_null(-1).to_numpy(zero_copy_only=False))
        present = lengths[lengths >= 0]
        width = int(present[0]) if len(present) else 0
        if (present != width).any():
            row = int(np.flatnonzero((lengths >= 0) & (lengths != width))[0])
            raise InputError(
                f"{where} holds score lists of different lengths ({width} in the first row, "
                f"{int(lengths[row])} at row {row} of this chunk); every row needs one score "
                "per class"
            )
    if col.null_count:
        filled = [None if v is None else v for v in col.to_pylist()]
        rows = [[np.nan] * width if v is None else v for v in filled]
        return np.asarray(rows, dtype=np.float64).reshape(n, width)
    flat = col.flatten() if n else pa.array([], pa.float64())
    values = _numbers(flat) if len(flat) else np.empty(0)
    return values.reshape(n, width)


def _valid(col: pa.Array) -> np.ndarray:
    """The validity bitmap of an Arrow array as booleans (True where a value is present)."""
    bits = np.frombuffer(col.buffers()[0], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[col.offset : col.offset + len(col)].astype(bool)


def _values_view(col: pa.Array, dtype: Any) -> np.ndarray:
    """The value buffer of a fixed-width Arrow array as an ndarray, without copying."""
    return np.frombuffer(
        col.buffers()[1], dtype=dtype, count=len(col), offset=col.offset * np.dtype(dtype).itemsize
    )


def arrow_error(name: str, exc: Exception) -> InputError:
    return InputError(f"{name}: cannot read the file: {exc}")


# Parquet is decoded in batches of at most this many rows: pyarrow holds a few batches' worth of
# decoded pages besides the batch itself, so 1M-row batches cost ~50 MiB more than 128k-row ones.
PARQUET_BATCH_ROWS = 1 << 16


def read_parquet(
    path: Path, *, chunk_rows: int, key: str | None = None, dialect: Any = None
) -> Source:
    """Parquet, read by row groups with only the columns asked for."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(str(path), pre_buffer=False)
    except (pa.ArrowInvalid, OSError) as exc:
        raise arrow_error(str(path), exc) from None
    schema = pfile.schema_arrow
    dupes = sorted(n for n, k in Counter(schema.names).items() if k > 1)
    if dupes:
        raise InputError(
            f"{path}: duplicate column names: {', '.join(dupes)}; each column needs its own "
            "name (rename them before saving)"
        )
    kinds = {f.name: column_kind(f.type) for f in schema}
    types = {f.name: str(f.type) for f in schema if kinds[f.name] is ColumnKind.OTHER}

    def arrow_batches(columns: list[str], rows: int = chunk_rows) -> Iterator[pa.RecordBatch]:
        try:
            yield from pfile.iter_batches(batch_size=min(rows, PARQUET_BATCH_ROWS), columns=columns)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            raise arrow_error(str(path), exc) from None

    def batches(columns: list[str], rows: int) -> Iterator[TableChunk]:
        for batch in arrow_batches(columns, rows):
            yield batch_to_chunk(batch, columns, str(path), source.coded)

    source = TableSource(
        str(path),
        "parquet",
        list(schema.names),
        kinds,
        Header(True),
        pfile.metadata.num_rows,
        lambda columns: rechunked(batches(columns, chunk_rows), chunk_rows),
        lambda columns: batches(columns, PEEK_ROWS),
        types,
    )
    source.arrow = arrow_batches
    source.number_types = {
        f.name: _number_type(f.type) for f in schema if kinds[f.name] is not ColumnKind.OTHER
    }
    return source


def _number_type(typ: pa.DataType) -> str:
    """NumPy's name of a number column's type, or of a score list's values ("" for text)."""
    value = getattr(typ, "value_type", typ)
    try:
        return str(value.to_pandas_dtype().__name__)
    except (NotImplementedError, AttributeError, TypeError):
        return ""
