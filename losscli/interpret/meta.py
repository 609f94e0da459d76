"""Per-row columns beside predictions and labels: sample weights and slice keys.

``--weight-col`` and ``--group-by`` name columns of either input file or of ``--meta FILE``.
``locate`` decides where each one is read from (the predictions file first, then the labels
file, then the meta file) and ``MetaRows`` reads the meta file's columns for each batch,
matched by position (the predictions file's row numbers) or by ``--id-col``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.errors import InputError, UsageError
from losscli.io.sources import ColumnKind, Header, Source, TableChunk, TableSource

PREDS, LABELS, META = "predictions", "labels", "meta"
_SHOW = 5


@dataclass(frozen=True, slots=True)
class MetaColumns:
    """The user's per-row columns: one weight column and the group-by columns, in order."""

    weight: str | None = None
    groups: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (*([self.weight] if self.weight else []), *self.groups)

    def __bool__(self) -> bool:
        return bool(self.names)


@dataclass
class MetaPlan:
    """Where each per-row column is read from: ``side[col]`` is PREDS, LABELS or META."""

    columns: MetaColumns
    side: dict[str, str] = field(default_factory=dict)
    meta_src: TableSource | None = None

    def on(self, side: str) -> list[str]:
        return [c for c in self.columns.names if self.side.get(c) == side]


def _columns_of(src: Source | None) -> list[str]:
    return src.columns if isinstance(src, TableSource) else []


def locate(
    columns: MetaColumns,
    preds_src: Source,
    labels_src: Source,
    meta_src: Source | None,
    id_col: str | None,
) -> MetaPlan:
    """Find each per-row column: the predictions file, then the labels file, then ``--meta``."""
    if meta_src is not None and not isinstance(meta_src, TableSource):
        raise UsageError(f"--meta needs a table (CSV, TSV, Parquet); {meta_src.name} is an array")
    if meta_src is not None and id_col is not None and id_col not in meta_src.columns:
        raise UsageError(
            f"{meta_src.name}: no id column {id_col!r} to match rows by; columns are: "
            f"{', '.join(meta_src.columns)}"
        )
    plan = MetaPlan(columns, meta_src=meta_src)
    if len(set(columns.groups)) != len(columns.groups):
        raise UsageError("--group-by names the same column twice; give each column once")
    if columns.weight is not None and columns.weight in columns.groups:
        raise UsageError(f"column {columns.weight!r} is both --weight-col and --group-by")
    for col in columns.names:
        if col == id_col:
            raise UsageError(f"{col!r} is the --id-col; it cannot be a weight or group column")
        for side, src in ((PREDS, preds_src), (LABELS, labels_src), (META, meta_src)):
            if col in _columns_of(src):
                plan.side[col] = side
                break
        else:
            where = [s.name for s in (preds_src, labels_src, meta_src) if s is not None]
            hint = "" if meta_src is not None else "; give --meta FILE for a third file"
            option = "--weight-col" if col == columns.weight else "--group-by"
            raise UsageError(f"{option} {col}: no column {col!r} in {', '.join(where)}{hint}")
    if columns.weight is not None:
        side = plan.side[columns.weight]
        src = {PREDS: preds_src, LABELS: labels_src, META: meta_src}[side]
        assert isinstance(src, TableSource)
        if src.kinds[columns.weight] is not ColumnKind.NUMBER:
            raise InputError(
                f"{src.name}: the weight column {columns.weight!r} is not numeric; "
                "weights must be non-negative numbers"
            )
    if plan.on(META) or meta_src is None:
        return plan
    raise UsageError(
        f"--meta {meta_src.name}: none of the columns "
        f"{', '.join(columns.names) or '(no --weight-col or --group-by)'} is read from it; "
        "drop --meta or name its columns with --weight-col / --group-by"
    )


def weights_of(meta: Mapping[str, np.ndarray], col: str, where: Any) -> np.ndarray:
    """The weight column of a batch as float64, checked: finite and >= 0 (exit 3 otherwise).

    ``where`` names rows from a mask (``Batch.where``)."""
    w = np.asarray(meta[col], dtype=np.float64)
    bad = ~np.isfinite(w)
    if bad.any():
        raise InputError(
            f"weight column {col!r}: NaN, infinite or empty weight at {where(bad)}; "
            "every row needs a weight >= 0"
        )
    negative = w < 0
    if negative.any():
        raise InputError(
            f"weight column {col!r}: negative weight {w[negative][0]:g} at {where(negative)}; "
            "weights must be >= 0 (scikit-learn's sample_weight)"
        )
    return w


class MetaRows:
    """The meta file's columns for the rows of each batch (by position or by id)."""

    def __init__(self, plan: MetaPlan, id_col: str | None) -> None:
        assert plan.meta_src is not None
        self.src = plan.meta_src
        self.cols = plan.on(META)
        self.id_col = id_col
        self._chunks: Iterator[TableChunk] | None = None
        self._buffer: TableChunk = {c: np.empty(0, dtype=object) for c in self.cols}
        self._offset = 0  # meta row number of the buffer's first row
        self._by_id: tuple[Any, TableChunk] | None = None

    def take(self, rows: np.ndarray, ids: np.ndarray | None) -> TableChunk:
        """Columns for the predictions file's ``rows`` (increasing), or for ``ids``."""
        if self.id_col is not None:
            assert ids is not None
            return self._by_ids(ids)
        return self._by_rows(rows)

    def _by_rows(self, rows: np.ndarray) -> TableChunk:
        if not len(rows):
            return {c: self._buffer[c][:0] for c in self.cols}
        if self._chunks is None:
            self._chunks = iter(self.src.chunks(self.cols))
        last = int(rows[-1])
        while self._offset + len(self._buffer[self.cols[0]]) <= last:
            chunk = next(self._chunks, None)
            if chunk is None:
                have = self._offset + len(self._buffer[self.cols[0]])
                raise InputError(
                    f"{self.src.name} has {have} rows but the predictions have at least "
                    f"{last + 1}; --meta "
                    "rows are matched by position (or pass --id-col NAME to match by id)"
                )
            self._buffer = {
                c: np.concatenate([self._buffer[c], np.asarray(chunk[c], dtype=object)])
                if len(self._buffer[c])
                else chunk[c]
                for c in self.cols
            }
        out = {c: self._buffer[c][rows - self._offset] for c in self.cols}
        drop = last + 1 - self._offset
        self._buffer = {c: v[drop:] for c, v in self._buffer.items()}
        self._offset = last + 1
        return out

    def finish(self, n_rows: int) -> None:
        """After the last batch: by position, the meta file must have exactly ``n_rows``."""
        if self.id_col is not None:
            return
        if self._chunks is None:
            self._chunks = iter(self.src.chunks(self.cols))
        rest = len(self._buffer[self.cols[0]]) + sum(
            len(next(iter(c.values()))) for c in self._chunks
        )
        total = self._offset + rest
        if total != n_rows:
            raise InputError(
                f"{self.src.name} has {total} rows but the predictions have {n_rows}; --meta "
                "rows are matched by position (or pass --id-col NAME to match by id)"
            )

    def _by_ids(self, ids: np.ndarray) -> TableChunk:
        import pandas as pd

        if self._by_id is None:
            assert self.id_col is not None
            parts = list(self.src.chunks([self.id_col, *self.cols]))
            table = {
                c: np.concatenate([p[c] for p in parts]) if parts else np.empty(0)
                for c in (self.id_col, *self.cols)
            }
            keys = table[self.id_col]
            if keys.dtype.kind == "f" and np.isfinite(keys).all() and (keys % 1 == 0).all():
                keys = keys.astype(np.int64)
            index = pd.Index(keys)
            if index.has_duplicates:
                dup = pd.unique(keys[index.duplicated()])[:_SHOW]
                raise InputError(
                    f"{self.src.name}: duplicate ids in {self.id_col!r}: "
                    f"{', '.join(map(str, dup))}; each id must appear once"
                )
            self._by_id = (index, table)
        index, table = self._by_id
        position = index.get_indexer(ids)
        missing = position < 0
        if missing.any():
            shown = ", ".join(map(str, ids[missing][:_SHOW]))
            raise InputError(
                f"{self.src.name}: no row for id {shown} ({int(missing.sum())} ids of the "
                f"predictions are missing); every evaluated id needs a row in --meta"
            )
        return {c: table[c][position] for c in self.cols}


def in_memory_table(name: str, columns: Mapping[str, Any], chunk_rows: int) -> TableSource:
    """Arrays by column name as a table source (the Python API's ``weights=`` and ``groups=``)."""
    arrays: dict[str, np.ndarray] = {}
    for col, data in columns.items():
        array = np.asarray(data)
        if array.ndim != 1:
            raise InputError(f"{name} {col!r}: expected one value per sample, got {array.shape}")
        if array.dtype.kind == "b":
            array = array.astype(object)
        arrays[col] = array if array.dtype.kind in "iuf" else array.astype(object)
    lengths = {len(a) for a in arrays.values()}
    if len(lengths) > 1:
        raise InputError(f"{name}: columns have different lengths {sorted(lengths)}")
    n = lengths.pop() if lengths else 0

    def chunks(cols: list[str]) -> Iterator[TableChunk]:
        for start in range(0, n, chunk_rows):
            yield {c: arrays[c][start : start + chunk_rows] for c in cols}

    def peek(cols: list[str]) -> Iterator[TableChunk]:
        yield {c: arrays[c][:chunk_rows] for c in cols}

    kinds = {
        c: ColumnKind.NUMBER if a.dtype.kind in "iuf" else ColumnKind.TEXT
        for c, a in arrays.items()
    }
    return TableSource(name, "array", list(arrays), kinds, Header(True), n, chunks, peek)
