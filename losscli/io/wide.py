"""Very wide text tables (thousands of columns: a vocabulary's logits per row).

pyarrow's CSV reader costs seconds per open at 50,000 columns, so past ``WIDE_COLUMNS``
columns rows are parsed with the standard ``csv`` module and converted with NumPy, a few
hundred rows at a time. Column kinds are decided from the head, as pyarrow would: a column
whose every value there is a number (or empty) is numeric; a later text value in it is an
error naming the row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.replay import open_input
from losscli.io.sources import DENSE_CHUNK_VALUES, ColumnKind, TableChunk, is_number

WIDE_COLUMNS = 2000
# Values pyarrow reads as null in a CSV; the same here.
_NULLS = frozenset(["", "NA", "N/A", "NaN", "nan", "NULL", "null", "n/a", "#N/A", "-nan", "-NaN"])
_MAX_FIELD = 1 << 30


class WideParser:
    """The same interface as the pyarrow-based parser: ``kinds``, ``chunks``, ``peek``."""

    def __init__(
        self, path: Path, names: list[str], skip: bool, delimiter: str, decimal: str
    ) -> None:
        self.path, self.names, self.skip = path, names, skip
        self.delimiter, self.decimal = delimiter, decimal
        self.numeric: np.ndarray = np.zeros(len(names), dtype=bool)

    def _rows(self) -> Iterator[list[str]]:
        csv.field_size_limit(_MAX_FIELD)
        with open_input(self.path) as raw:
            text = io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8-sig", newline="")
            reader = csv.reader(text, delimiter=self.delimiter)
            if self.skip:
                next(reader, None)
            try:
                yield from (row for row in reader if row)
            except (csv.Error, UnicodeDecodeError) as exc:
                raise InputError(
                    f"{self.path}: cannot parse row {reader.line_num}: {exc}"
                ) from None

    def kinds(self) -> dict[str, ColumnKind]:
        head = list(islice(self._rows(), 64))
        numeric = []
        for j in range(len(self.names)):
            values = [r[j].strip() for r in head if j < len(r)]
            numeric.append(all(v in _NULLS or self._number(v) for v in values))
        self.numeric = np.array(numeric, dtype=bool)
        return {
            n: ColumnKind.NUMBER if k else ColumnKind.TEXT
            for n, k in zip(self.names, numeric, strict=True)
        }

    def _number(self, value: str) -> bool:
        return is_number(value.replace(self.decimal, ".") if self.decimal != "." else value)

    def _batches(self, columns: list[str], rows: int) -> Iterator[TableChunk]:
        index = {n: i for i, n in enumerate(self.names)}
        wanted = [index[c] for c in columns]
        it = self._rows()
        start = 0
        while block := list(islice(it, rows)):
            yield self._convert(block, columns, wanted, start)
            start += len(block)

    def _convert(
        self, block: list[list[str]], columns: list[str], wanted: list[int], start: int
    ) -> TableChunk:
        width = len(self.names)
        for i, row in enumerate(block):
            if len(row) != width:
                raise InputError(
                    f"{self.path}: row {start + i} has {len(row)} fields, expected {width}"
                )
        cells = np.char.strip(np.array(block, dtype=str)[:, wanted])
        null = np.isin(cells, list(_NULLS))
        numeric = self.numeric[wanted]
        out: TableChunk = {}
        for k in np.flatnonzero(~numeric):
            text = cells[:, k].astype(object)
            text[null[:, k]] = None
            out[columns[k]] = text
        if numeric.any():
            matrix = self._numbers(cells[:, numeric], null[:, numeric], start)
            for k, values in zip(np.flatnonzero(numeric), matrix.T, strict=True):
                out[columns[k]] = values
        return {c: out[c] for c in columns}

    def _numbers(self, cells: np.ndarray, null: np.ndarray, start: int) -> np.ndarray:
        if self.decimal != ".":
            cells = np.char.replace(cells, self.decimal, ".")
        try:
            return np.where(null, "nan", cells).astype(np.float64)
        except ValueError:
            i, j = next(
                (i, j)
                for (i, j), v in np.ndenumerate(cells)
                if not null[i, j] and not is_number(str(v))
            )
            raise InputError(
                f"{self.path}: a numeric column holds {str(cells[i, j])!r} at row {start + i}; "
                "every prediction and numeric label must be a number"
            ) from None

    def chunks(self, rows: int) -> Any:
        step = max(1, min(rows, DENSE_CHUNK_VALUES // max(1, len(self.names))))
        return lambda columns: self._batches(columns, step)

    def peek(self) -> Any:
        return self.chunks(1 << 16)
