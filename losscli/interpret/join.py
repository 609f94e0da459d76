"""Matching the rows of two tables by an id column, in memory bounded independently of size.

An external hash join with an external sort, on disk in a registered temporary folder
(``losscli.io.cleanup``: removed on any exit), all in Arrow (no Python object per row):

1. each file is streamed once; every row goes, with its id, row number and columns, to one of
   ``BUCKETS`` files chosen by a hash of the id (empty ids stop the run here, naming rows);
2. each bucket pair (a 1/``BUCKETS`` share of both files) is joined with Arrow's hash
   kernels: duplicate ids, and ids of one file only, are counted over every bucket; matched
   rows go to row-range files (``RANGE_ROWS`` prediction rows each);
3. the range files are read in order, each sorted by row: chunks come out in the predictions
   file's order, as a join in memory would give them.

Ids are compared as text: a whole-number id read as a number (``7.0`` from a numeric CSV
column) is the text ``7``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.interpret.memjoin import (
    Fallback,
    Owners,
    duplicate_labels,
    label_ids_at,
    match,
    read_labels,
)
from losscli.io.arrow import batch_to_chunk
from losscli.io.cleanup import temp_dir
from losscli.io.sources import Coded, TableChunk, TableSource

BUCKETS = 64
RANGE_ROWS = 1 << 20
# Rows hashed into the buckets at a time (a few blocks of the reader, gathered).
PARTITION_ROWS = 1 << 18
_SHOW = 5
_PRIME = np.uint64(0x100000001B3)


def _key_strings(ids: Any) -> Any:
    """An Arrow id column as strings; whole-number floats without their '.0'."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_floating(ids.type):
        values = np.asarray(ids.to_numpy(zero_copy_only=False), dtype=np.float64)
        finite = values[np.isfinite(values)]
        if len(finite) and (finite == np.round(finite)).all():
            ids = pc.cast(ids, pa.int64(), safe=False)
    if not pa.types.is_string(ids.type):
        ids = pc.cast(ids, pa.string())
    return ids


def _hash(keys: Any) -> np.ndarray:
    """A 64-bit hash of each string (a polynomial over its bytes, then murmur's finalizer),
    computed with NumPy over the Arrow buffers."""
    n = len(keys)
    offsets = np.frombuffer(keys.buffers()[1], np.int32, n + 1, keys.offset * 4).astype(np.int64)
    data_buffer = keys.buffers()[2]
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.empty(0)
    first, last = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    position = np.arange(last - first) - np.repeat(offsets[:-1] - first, lengths)
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(int(lengths.max(initial=0)) + 1, _PRIME, np.uint64))
        terms = data[first:last].astype(np.uint64) * powers[position]
        total = np.concatenate([[np.uint64(0)], np.cumsum(terms, dtype=np.uint64)])
        h = total[offsets[1:] - first] - total[offsets[:-1] - first]
        h ^= lengths.astype(np.uint64)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
    return h


def _arrow_batches(src: TableSource, columns: list[str]) -> Iterator[Any]:
    """The file as Arrow tables of about ``PARTITION_ROWS`` rows (few, large steps)."""
    import pyarrow as pa

    if src.arrow is not None:
        batches = src.metered(src.arrow(columns), lambda b: int(b.num_rows))
    else:  # a reader without Arrow batches (very wide CSV)
        batches = (
            pa.record_batch({c: _to_arrow(chunk[c]) for c in columns})
            for chunk in src.chunks(columns)
        )
    pending: list[Any] = []
    rows = 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= PARTITION_ROWS:
            yield pa.Table.from_batches(pending).combine_chunks()
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending).combine_chunks()


def _to_arrow(values: np.ndarray | Coded) -> Any:
    """One column of a decoded chunk as Arrow: a ``--group-by`` column stays dictionary-coded
    (its values as the file types them), a missing number or id (NaN, None) becomes null, so
    the id checks see an empty id as empty."""
    import pyarrow as pa

    if isinstance(values, Coded):
        words = values.values.tolist()
        dictionary = pa.array(words) if words else pa.array([], type=pa.string())
        return pa.DictionaryArray.from_arrays(
            pa.array(values.codes, mask=values.codes < 0), dictionary
        )
    if values.ndim == 2:
        flat = pa.array(np.ascontiguousarray(values, dtype=np.float64).reshape(-1))
        return pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
    if values.dtype == object:
        return pa.array(values, type=pa.string(), from_pandas=True)
    return pa.array(values, from_pandas=True)


class _Spill:
    """Arrow IPC stream files, one per part, opened on first write."""

    def __init__(self, folder: Path, prefix: str) -> None:
        self.folder, self.prefix = folder, prefix
        self.writers: dict[int, Any] = {}
        self.sinks: dict[int, Any] = {}
        self.parts: set[int] = set()
        self.lock = threading.Lock()  # buckets are joined in two threads

    def path(self, part: int) -> Path:
        return self.folder / f"{self.prefix}-{part}.arrow"

    def write(self, part: int, table: Any) -> None:
        import pyarrow as pa

        with self.lock:
            if part not in self.writers:
                self.parts.add(part)
                self.sinks[part] = pa.OSFile(str(self.path(part)), "wb")
                self.writers[part] = pa.ipc.new_stream(self.sinks[part], table.schema)
            self.writers[part].write_table(table)

    def close(self) -> None:
        """Finish every file (safe to call again)."""
        for part, writer in self.writers.items():
            writer.close()
            self.sinks[part].close()
        self.writers.clear()
        self.sinks.clear()

    def read(self, part: int) -> Any:
        import pyarrow as pa

        if part not in self.parts:
            return None
        with pa.OSFile(str(self.path(part)), "rb") as source:
            table = pa.ipc.open_stream(source).read_all().combine_chunks()
        self.path(part).unlink()
        return table


@dataclass
class _Problems:
    """Duplicate and one-sided ids, counted over every bucket (a few examples kept)."""

    shown: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    count: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, kind: str, side: str, examples: list[Any], count: int) -> None:
        kept = self.shown.setdefault((kind, side), [])
        kept.extend(examples[: _SHOW - len(kept)])
        self.count[kind, side] = self.count.get((kind, side), 0) + count

    def extend(self, other: _Problems) -> None:
        for key, count in other.count.items():
            self.add(*key, other.shown.get(key, []), count)


def _partition(
    src: TableSource, cols: list[str], id_col: str, spill: _Spill, with_rows: bool
) -> None:
    """Stream ``src`` into the hash buckets (stopping at the first empty id)."""
    import pyarrow as pa

    start = 0
    for batch in _arrow_batches(src, [*cols, id_col]):
        keys = _checked_keys(src, id_col, batch, start)
        bucket = (_hash(keys) % np.uint64(BUCKETS)).astype(np.uint8)
        order = np.argsort(bucket, kind="stable")  # a radix sort for 8-bit keys
        edges = np.searchsorted(bucket[order], np.arange(BUCKETS + 1))
        columns = {"key": keys, **{f"c{i}": batch.column(c) for i, c in enumerate(cols)}}
        if with_rows:
            columns["row"] = pa.array(np.arange(start, start + batch.num_rows, dtype=np.int64))
            columns["id"] = batch.column(id_col)
        table = pa.table(columns).take(pa.array(order))  # one gather; buckets are slices
        for b in np.flatnonzero(np.diff(edges)):
            spill.write(int(b), table.slice(int(edges[b]), int(edges[b + 1] - edges[b])))
        start += batch.num_rows


def _checked_keys(src: TableSource, id_col: str, batch: Any, start: int) -> Any:
    """The batch's ids as strings; an error naming the rows (from ``start``) of empty ids."""
    import pyarrow.compute as pc

    keys = _key_strings(batch.column(id_col).combine_chunks())
    # Only null, empty ids and ids starting with a space or a non-ASCII byte can be blank.
    n = len(keys)
    offsets = np.frombuffer(keys.buffers()[1], np.int32, n + 1, keys.offset * 4)
    buffer = keys.buffers()[2]
    data = np.frombuffer(buffer, np.uint8) if buffer is not None else np.zeros(1, np.uint8)
    first = data[np.minimum(offsets[:-1], len(data) - 1)]
    maybe = (np.diff(offsets) == 0) | (first <= 32) | (first >= 128)
    if keys.null_count:
        maybe |= ~keys.is_valid().to_numpy(zero_copy_only=False)
    if not maybe.any():
        return keys
    which = np.flatnonzero(maybe)
    few = keys.take(which)
    blank = pc.or_(pc.equal(pc.utf8_length(few), 0), pc.utf8_is_space(few)).fill_null(True)
    if pc.any(blank).as_py():
        bad = which[np.asarray(blank.to_numpy(zero_copy_only=False))][:_SHOW] + start
        raise InputError(
            f"{src.name}: the id column {id_col!r} has empty values (rows "
            f"{', '.join(map(str, bad))}); every row needs an id to be matched"
        )
    return keys


def _duplicates(keys: Any, side: str, problems: _Problems) -> bool:
    import pyarrow.compute as pc

    counts = pc.value_counts(keys)
    repeated = counts.filter(pc.greater(counts.field("counts"), 1))
    if not len(repeated):
        return False
    extra = int(pc.sum(repeated.field("counts")).as_py()) - len(repeated)
    problems.add("dup", side, repeated.field("values").to_pylist(), extra)
    return True


def _join_bucket(
    preds: Any, labels: Any, names: tuple[str, str], ranges: _Spill
) -> tuple[int, _Problems]:
    """Join one bucket pair; matched rows go to the row-range files. Returns the match count
    and the bucket's duplicate and one-sided ids."""
    problems = _Problems()
    return _join_pair(preds, labels, names, problems, ranges), problems


def _join_pair(
    preds: Any, labels: Any, names: tuple[str, str], problems: _Problems, ranges: _Spill
) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc

    empty = pa.array([], pa.string())
    keys_p = preds.column("key") if preds is not None else empty
    keys_l = labels.column("key") if labels is not None else empty
    dup = [_duplicates(k, side, problems) for side, k in zip(names, (keys_p, keys_l), strict=True)]
    if any(dup):
        return 0
    position = pc.index_in(keys_p, value_set=keys_l)
    in_p = np.zeros(len(keys_l), dtype=bool)
    in_p[position.drop_null().to_numpy()] = True
    for side, keys, miss in (
        (names[0], keys_p, pc.is_null(position)),
        (names[1], keys_l, pa.array(~in_p)),
    ):
        missing = keys.filter(miss)
        if len(missing):
            problems.add("only", side, missing[:_SHOW].to_pylist(), len(missing))
    if preds is None or labels is None:
        return 0
    hit = pc.indices_nonzero(pc.is_valid(position))
    matched = preds.take(hit)
    out = {n: matched.column(n) for n in matched.column_names if n != "key"}
    taken = labels.take(pc.take(position, hit))
    out.update({"l" + n[1:]: taken.column(n) for n in taken.column_names if n.startswith("c")})
    table = pa.table(out)
    part = np.asarray(table.column("row").to_numpy()) // RANGE_ROWS
    for r in np.unique(part):
        ranges.write(int(r), table.filter(pa.array(part == r)))
    return table.num_rows


def _raise_problems(problems: _Problems, names: tuple[str, str], id_col: str) -> None:
    for side in names:
        if problems.count.get(("dup", side)):
            shown = ", ".join(map(str, problems.shown["dup", side]))
            raise InputError(
                f"{side}: duplicate ids in {id_col!r}: {shown} "
                f"({problems.count['dup', side]} duplicates); each id must appear once"
            )


def _only_parts(problems: _Problems, names: tuple[str, str]) -> list[str]:
    return [
        f"{problems.count['only', side]} ids only in {side} "
        f"(e.g. {', '.join(map(str, problems.shown['only', side][:3]))})"
        for side in names
        if problems.count.get(("only", side))
    ]


@dataclass
class IdJoin:
    """The matched rows of two tables, in the predictions file's order."""

    preds: TableSource
    labels: TableSource
    id_col: str
    pred_cols: list[str]
    label_cols: list[str]
    allow_unmatched: bool
    notes: list[tuple[str, str]] = field(default_factory=list)

    def chunks(
        self, chunk_rows: int
    ) -> Iterator[tuple[TableChunk, TableChunk, np.ndarray, np.ndarray]]:
        """(prediction columns, label columns, row numbers, ids) per chunk of matched rows:
        in memory when the labels fit (``losscli.interpret.memjoin``), else on disk."""
        try:
            labels = self._labels_in_memory()
        except Fallback:
            labels = None
        if labels is not None:
            yield from self._memory_chunks(labels, chunk_rows)
            return
        yield from self._external_chunks(chunk_rows)

    def _key_of(self, src: TableSource) -> Any:
        return lambda batch, start: _checked_keys(src, self.id_col, batch, start)

    def _labels_in_memory(self) -> Any:
        """The labels held and sorted in memory; duplicate ids raised now."""
        src = self.labels
        if src.coded.intersection(self.label_cols):
            raise Fallback  # --group-by columns of the labels keep their codes on disk only
        columns = [*self.label_cols, self.id_col]
        labels = read_labels(
            _arrow_batches(src, columns), self._key_of(src), self.label_cols, src.name
        )
        dups = duplicate_labels(labels)
        if len(dups):
            shown = _distinct(self._label_ids(dups[:_SHOW]))
            problems = _Problems()
            problems.add("dup", src.name, shown, len(dups))
            _raise_problems(problems, (self.preds.name, src.name), self.id_col)
        return labels

    def _memory_chunks(
        self, labels: Any, chunk_rows: int
    ) -> Iterator[tuple[TableChunk, TableChunk, np.ndarray, np.ndarray]]:
        """The predictions streamed in their order, each chunk matched as it comes."""
        from losscli.io.prefetch import prefetch

        names = (self.preds.name, self.labels.name)
        src = self.preds
        owners = Owners(labels.n)
        problems = _Problems()
        start = matched = 0
        for batch in prefetch(_arrow_batches(src, [*self.pred_cols, self.id_col])):
            keys = _checked_keys(src, self.id_col, batch, start)
            found = match(labels, keys)
            hit = np.flatnonzero(found.found)
            rows = start + hit
            repeated = owners.claim(found.label_rows, rows)
            if repeated.any():
                shown = keys.take(hit[repeated][:_SHOW]).to_pylist()
                problems.add("dup", src.name, _distinct(shown), int(repeated.sum()))
            if len(hit) < batch.num_rows:
                missing = np.flatnonzero(~found.found)
                shown = keys.take(missing[:_SHOW]).to_pylist()
                problems.add("only", src.name, shown, len(missing))
            start += batch.num_rows
            matched += len(hit)
            fatal = ("dup", src.name) in problems.count or (
                ("only", src.name) in problems.count and not self.allow_unmatched
            )
            if fatal or not len(hit):
                continue  # the checks at the end raise the error
            yield from self._matched(batch, hit, found.label_rows, rows, labels, chunk_rows)
        self._finish(problems, owners, names, matched)

    def _matched(
        self,
        batch: Any,
        hit: np.ndarray,
        label_rows: np.ndarray,
        rows: np.ndarray,
        labels: Any,
        chunk_rows: int,
    ) -> Iterator[tuple[TableChunk, TableChunk, np.ndarray, np.ndarray]]:
        """The found rows of a chunk of predictions with their labels, in their order."""
        import pyarrow as pa

        picked = batch.take(pa.array(hit)).combine_chunks().to_batches()[0]
        coded = self.preds.coded.intersection(self.pred_cols)
        p = batch_to_chunk(picked, self.pred_cols, self.preds.name, coded)
        ids = _shown_ids(np.asarray(picked.column(self.id_col).to_numpy(zero_copy_only=False)))
        for at in range(0, len(hit), chunk_rows):
            part = slice(at, at + chunk_rows)
            yield (
                {c: v[part] for c, v in p.items()},
                {c: labels.columns[c][label_rows[part]] for c in self.label_cols},
                rows[part],
                ids[part],
            )

    def _finish(
        self, problems: _Problems, owners: Owners, names: tuple[str, str], matched: int
    ) -> None:
        """The checks of the whole join, once the predictions are read."""
        unclaimed = owners.unclaimed()
        if len(unclaimed):
            problems.add("only", names[1], self._label_ids(unclaimed[:_SHOW]), len(unclaimed))
        self._check(problems, names, matched)

    def _label_ids(self, rows: np.ndarray) -> list[Any]:
        """The ids of some rows of the labels file, read again (for messages)."""
        src = self.labels
        return label_ids_at(_arrow_batches(src, [self.id_col]), self._key_of(src), rows)

    def _external_chunks(
        self, chunk_rows: int
    ) -> Iterator[tuple[TableChunk, TableChunk, np.ndarray, np.ndarray]]:
        names = (self.preds.name, self.labels.name)
        with temp_dir(prefix="losscli-join-") as folder:
            spills = [_Spill(folder, "p"), _Spill(folder, "l"), _Spill(folder, "r")]
            try:
                self._partition_both(spills)
                spills[0].close()
                spills[1].close()
                problems = _Problems()
                matched = 0
                for count, found in self._join_buckets(spills, names):
                    matched += count
                    problems.extend(found)  # in bucket order: the same message every run
                spills[2].close()
                self._check(problems, names, matched)
                yield from self._in_order(spills[2], chunk_rows)
            finally:
                for spill in spills:
                    spill.close()

    def _partition_both(self, spills: list[_Spill]) -> None:
        """Both files at once: Arrow and NumPy release the GIL, so two threads use two cores."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="losscli-join") as pool:
            labels = pool.submit(
                _partition, self.labels, self.label_cols, self.id_col, spills[1], False
            )
            _partition(self.preds, self.pred_cols, self.id_col, spills[0], True)
            labels.result()

    def _join_buckets(
        self, spills: list[_Spill], names: tuple[str, str]
    ) -> Iterator[tuple[int, _Problems]]:
        """Every bucket pair joined, two at a time (Arrow's kernels release the GIL)."""
        from concurrent.futures import ThreadPoolExecutor

        def join(b: int) -> tuple[int, _Problems]:
            return _join_bucket(spills[0].read(b), spills[1].read(b), names, spills[2])

        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="losscli-join") as pool:
            yield from pool.map(join, range(BUCKETS))

    def _check(self, problems: _Problems, names: tuple[str, str], matched: int) -> None:
        _raise_problems(problems, names, self.id_col)
        parts = _only_parts(problems, names)
        if parts and not self.allow_unmatched:
            raise InputError(
                f"{'; '.join(parts)}; pass --join inner to evaluate the ids present in both files"
            )
        if parts:
            self.notes.append(
                (f"evaluated the {matched} ids in both files", f"--join inner; {'; '.join(parts)}")
            )
        if not matched:
            raise InputError(f"no id appears in both {names[0]} and {names[1]}")

    def _in_order(
        self, ranges: _Spill, chunk_rows: int
    ) -> Iterator[tuple[TableChunk, TableChunk, np.ndarray, np.ndarray]]:
        p_cols = [f"c{i}" for i in range(len(self.pred_cols))]
        l_cols = [f"l{i}" for i in range(len(self.label_cols))]
        for part in sorted(ranges.parts):
            table = ranges.read(part)
            table = table.take(np.argsort(table.column("row").to_numpy(), kind="stable"))
            p_coded = {
                k for c, k in zip(self.pred_cols, p_cols, strict=True) if c in self.preds.coded
            }
            l_coded = {
                k for c, k in zip(self.label_cols, l_cols, strict=True) if c in self.labels.coded
            }
            for batch in table.to_batches(max_chunksize=chunk_rows):
                p = batch_to_chunk(batch, p_cols, self.preds.name, p_coded)
                labels = batch_to_chunk(batch, l_cols, self.labels.name, l_coded)
                ids = np.asarray(batch.column("id").to_numpy(zero_copy_only=False))
                yield (
                    {c: p[k] for c, k in zip(self.pred_cols, p_cols, strict=True)},
                    {c: labels[k] for c, k in zip(self.label_cols, l_cols, strict=True)},
                    np.asarray(batch.column("row").to_numpy()),
                    _shown_ids(ids),
                )


def _distinct(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _shown_ids(values: np.ndarray) -> np.ndarray:
    """Ids as read; whole-number float ids (numeric CSV columns) become int64 for display."""
    if values.dtype.kind in "OU" or values.dtype.kind == "S":
        return values.astype(object)
    if (
        values.dtype.kind == "f"
        and np.isfinite(values).all()
        and (values == np.round(values)).all()
    ):
        return values.astype(np.int64)
    return values
