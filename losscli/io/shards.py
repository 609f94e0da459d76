"""Inputs made of several files: a directory of shards, a quoted glob, a Hive-partitioned
Parquet dataset. Each becomes one source whose chunks stream the shards in name order.

Hidden files and files starting with ``_`` (Spark's ``_SUCCESS``, ``_metadata``, ``.crc``
checksums) are not shards and are skipped. Every shard is read by the reader of its format;
all shards of one input share one format and one set of columns. In a Hive dataset
(``key=value`` folders) the partition keys become columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.digest import ContentDigest
from losscli.io.formats import format_of, known_suffixes
from losscli.io.sources import ArraySource, ColumnKind, Source, TableChunk, TableSource

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Part:
    """One shard as another process reopens it (a Dask partition): its file, its Hive
    partition keys and the reader call (picklable: a ``functools.partial`` of a reader)."""

    path: Path
    keys: dict[str, Any]
    open_file: Callable[[Path], Source]

    def open(self, chunk_rows: int) -> Sharded:
        """The shard as a one-shard source (partition keys as columns, no content hash)."""
        return _combine(str(self.path), [self.open_file(self.path)], [self.keys], chunk_rows, None)


@dataclass
class ShardedTable(TableSource):
    """A table read from several files in order; ``shard_rows`` fills in as they stream."""

    shard_names: list[str] = field(default_factory=list)
    shard_rows: list[int | None] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)


@dataclass
class ShardedArray(ArraySource):
    """An array read from several files in order (rows of each shard on axis 0)."""

    shard_names: list[str] = field(default_factory=list)
    shard_rows: list[int | None] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)


Sharded = ShardedTable | ShardedArray


def _ignored(name: str) -> bool:
    return name.startswith((".", "_"))


def is_sharded(path: Path) -> bool:
    """Whether ``path`` names several files: a directory, or a glob that is not a file."""
    if path.is_dir():
        return True
    return bool(_GLOB_CHARS & set(str(path))) and not path.exists()


def _is_hive(folder: Path) -> bool:
    return any(p.is_dir() and "=" in p.name for p in folder.iterdir())


def shard_files(path: Path) -> list[Path]:
    """The shard files of a directory or a glob, sorted by name, markers and hidden left out."""
    if path.is_dir():
        subdirs = sorted(p.name for p in path.iterdir() if p.is_dir() and not _ignored(p.name))
        if subdirs:
            raise InputError(
                f"{path}: holds folders ({', '.join(subdirs[:3])}); losscli reads a folder of "
                "shard files, or a Hive-partitioned Parquet dataset (key=value folders)"
            )
        files = sorted(p for p in path.iterdir() if not _ignored(p.name))
    else:
        base = Path(path.anchor or ".")
        matches = list(base.glob(str(path.relative_to(path.anchor)) if path.anchor else str(path)))
        files = sorted(m for m in matches if m.is_file() and not _ignored(m.name))
    if not files:
        what = "folder" if path.is_dir() else "pattern"
        raise InputError(f"{path}: the {what} holds no data files; expected {known_suffixes()}")
    fmts = {format_of(p.name) for p in files}
    if len(fmts) > 1:
        found = ", ".join(sorted(f or "(no suffix)" for f in fmts))
        raise InputError(
            f"{path}: shards of several formats ({found}); every shard of one input needs the "
            "same format"
        )
    return files


def open_shards(path: Path, open_file: Callable[[Path], Source], chunk_rows: int) -> Sharded:
    """One source over the shards (or the Hive dataset) that ``path`` names."""
    if path.is_dir() and _is_hive(path):
        files, keys = _hive_files(path)
    else:
        files = shard_files(path)
        keys = [{} for _ in files]
    out = _combine(str(path), [open_file(f) for f in files], keys, chunk_rows, ContentDigest(files))
    out.parts = [Part(f, k, open_file) for f, k in zip(files, keys, strict=True)]
    return out


def _combine(
    name: str,
    parts: list[Source],
    keys: list[dict[str, Any]],
    chunk_rows: int,
    digest: ContentDigest | None,
) -> Sharded:
    if all(isinstance(p, TableSource) for p in parts):
        tables = [p for p in parts if isinstance(p, TableSource)]
        return _combine_tables(name, tables, keys, digest)
    if all(isinstance(p, ArraySource) for p in parts):
        arrays = [p for p in parts if isinstance(p, ArraySource)]
        return _combine_arrays(name, arrays, chunk_rows, digest)
    raise InputError(f"{name}: shards mix tables and arrays; every shard needs the same format")


def _hive_files(path: Path) -> tuple[list[Path], list[dict[str, Any]]]:
    """The files of a Hive-partitioned Parquet dataset and each one's partition keys."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    try:
        dataset = ds.dataset(str(path), format="parquet", partitioning="hive")
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: cannot read the Parquet dataset: {exc}") from None
    frags = sorted(dataset.get_fragments(), key=lambda f: f.path)
    if not frags:
        raise InputError(f"{path}: the dataset holds no Parquet files")
    files = [Path(f.path) for f in frags]
    keys = [dict(ds.get_partition_keys(f.partition_expression)) for f in frags]
    names = {k for d in keys for k in d}
    for f, d in zip(files, keys, strict=True):
        missing = names - set(d)
        if missing:
            raise InputError(
                f"{f}: not under a {'/'.join(sorted(missing))}=... folder like the other files "
                f"of {path}; every file of a Hive dataset needs the same partition keys"
            )
    return files, keys


def _key_kind(values: list[Any]) -> ColumnKind:
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    return ColumnKind.NUMBER if numeric else ColumnKind.TEXT


def _key_column(value: Any, kind: ColumnKind, n: int) -> np.ndarray:
    if kind is ColumnKind.NUMBER:
        return np.full(n, float(value))
    return np.full(n, None if value is None else str(value), dtype=object)


def _combine_tables(
    name: str,
    parts: list[TableSource],
    keys: list[dict[str, Any]],
    digest: ContentDigest | None,
) -> ShardedTable:
    first = parts[0]
    for part in parts[1:]:
        if part.columns != first.columns or part.kinds != first.kinds:
            raise InputError(
                f"{part.name}: columns {part.columns} differ from {first.columns} in "
                f"{first.name}; every shard needs the same columns"
            )
    key_names = list(keys[0]) if keys else []
    clash = sorted(set(key_names) & set(first.columns))
    if clash:
        raise InputError(f"{name}: partition key {clash[0]!r} is also a column of the files")
    key_kinds = {k: _key_kind([d[k] for d in keys]) for k in key_names}
    rows: list[int | None] = [p.n_rows for p in parts]
    total = None if any(r is None for r in rows) else sum(r for r in rows if r is not None)
    src = ShardedTable(
        name,
        first.format,
        [*first.columns, *key_names],
        {**first.kinds, **key_kinds},
        first.header,
        total,
        lambda cols: _chain(src, parts, keys, key_kinds, cols, peek=False),
        lambda cols: _chain(src, parts, keys, key_kinds, cols, peek=True),
        first.types,
        digest,
        shard_names=[p.name for p in parts],
        shard_rows=rows,
        nbytes=sum(p.nbytes for p in parts),
    )
    positions = [p.position for p in parts]
    if all(positions):
        src.position = lambda: sum(at() for at in positions if at is not None)
    if all(p.number_types == first.number_types for p in parts):  # else float64, as text
        src.number_types = dict(first.number_types)
    return src


def _chain(
    src: ShardedTable,
    parts: list[TableSource],
    keys: list[dict[str, Any]],
    key_kinds: dict[str, ColumnKind],
    cols: list[str],
    *,
    peek: bool,
) -> Iterator[TableChunk]:
    """The chunks of every shard in order, partition keys added; counts each shard's rows."""
    own = [c for c in cols if c not in key_kinds]
    for i, (part, values) in enumerate(zip(parts, keys, strict=True)):
        seen = 0
        part.coded |= src.coded  # the group columns, asked of the combined source
        opener = part._peek if peek else part._open
        for chunk in opener(own):
            n = len(next(iter(chunk.values()))) if chunk else 0
            for k in cols:
                if k in key_kinds:
                    chunk[k] = _key_column(values[k], key_kinds[k], n)
            seen += n
            yield chunk
        if not peek:
            src.shard_rows[i] = seen


def _combine_arrays(
    name: str, parts: list[ArraySource], chunk_rows: int, digest: ContentDigest | None
) -> ShardedArray:
    first = parts[0]
    for part in parts[1:]:
        if part.shape[1:] != first.shape[1:] or part.dtype.kind != first.dtype.kind:
            raise InputError(
                f"{part.name}: rows of shape {part.shape[1:]} ({part.dtype}) differ from "
                f"{first.shape[1:]} ({first.dtype}) in {first.name}; every shard needs the same"
            )
    total = sum(p.n_rows for p in parts)

    def rows(step: int) -> Iterator[np.ndarray]:
        for part in parts:
            yield from part._rows(step)

    return ShardedArray(
        name,
        first.format,
        (total, *first.shape[1:]),
        first.dtype,
        rows,
        chunk_rows,
        digest,
        shard_names=[p.name for p in parts],
        shard_rows=[p.n_rows for p in parts],
        nbytes=sum(p.nbytes for p in parts),
    )


def check_shard_pairs(preds: Source, labels: Source) -> None:
    """Rows matched by position across two sharded inputs: shard i of each must have as many
    rows (the counts known so far: Parquet and arrays up front, text as it streams)."""
    if not isinstance(preds, ShardedTable | ShardedArray) or not isinstance(
        labels, ShardedTable | ShardedArray
    ):
        return
    if len(preds.shard_names) != len(labels.shard_names):
        raise InputError(
            f"{preds.name} has {len(preds.shard_names)} shards but {labels.name} has "
            f"{len(labels.shard_names)}; rows are matched by position shard by shard, so both "
            "need the same shards (or pass --id-col NAME to match by id)"
        )
    pairs = zip(
        preds.shard_names, preds.shard_rows, labels.shard_names, labels.shard_rows, strict=True
    )
    for p_name, p_rows, l_name, l_rows in pairs:
        if p_rows is not None and l_rows is not None and p_rows != l_rows:
            raise InputError(
                f"shard {p_name} has {p_rows} rows but {l_name} has {l_rows}; rows are matched "
                "by position shard by shard, so paired shards need equal row counts (or pass "
                "--id-col NAME to match by id)"
            )


__all__ = ["Part", "check_shard_pairs", "is_sharded", "open_shards", "shard_files"]
