"""The ``--id-col`` join when the labels fit in memory: a sort-merge on 128-bit id hashes.

The labels file is read once: each id becomes two independent 64-bit hashes (for ids of at
most 8 bytes, the bytes themselves and the length: exact), kept with the label columns and
sorted. The predictions then stream in their own order: each chunk's ids are hashed, found
by binary search and checked against the second hash, and the matched rows go on at once
with their labels: one pass over each file, no temporary files. Memory is about 50 bytes a
label row, and at most ``MEMORY_ROWS`` label rows are held; past that (or on a 64-bit
collision, which the second hash detects) ``join.py`` falls back to its external hash join.

Duplicate ids and ids of one file only are found as in the external join and raised with
the same messages; the labels' are known before any row is given, the predictions' at the
end of the pass (an error then still stops the run before any output).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from losscli.io.arrow import batch_to_chunk
from losscli.io.sources import TableChunk

# Label rows held in memory at most (~50 bytes each); larger labels files spill to disk.
MEMORY_ROWS = 1 << 24
_P1, _P2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)


class Fallback(Exception):
    """The labels do not fit, or two ids share a 64-bit hash: use the external join."""


def _finalize(h: np.ndarray) -> np.ndarray:
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    return h


def id_hashes(keys: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two 64-bit hashes of each string of an Arrow string array.

    Ids of at most 8 bytes: their bytes (little-endian) and their length, an exact key.
    Longer ids: two multiply-xor folds of their 8-byte words, seeded by the length."""
    n = len(keys)
    offsets = np.frombuffer(keys.buffers()[1], np.int32, n + 1, keys.offset * 4).astype(np.int64)
    buffer = keys.buffers()[2]
    first, last = int(offsets[0]), int(offsets[-1])
    raw = np.frombuffer(buffer, np.uint8)[first:last] if buffer is not None else np.empty(0)
    lengths = np.diff(offsets)
    words = max(1, -(-int(lengths.max(initial=0)) // 8))
    padded = np.zeros(len(raw) + 8 * words, np.uint8)
    padded[: len(raw)] = raw
    windows = np.lib.stride_tricks.sliding_window_view(padded, 8)
    starts = offsets[:-1] - first
    size = lengths.astype(np.uint64)
    with np.errstate(over="ignore"):
        h1, h2 = size * _P1, size ^ _P2
        for w in range(words):
            word = np.ascontiguousarray(windows[starts + 8 * w]).view("<u8").reshape(n)
            left = np.clip(lengths - 8 * w, 0, 8)
            bits = (8 * left).astype(np.uint64)
            mask = np.where(left >= 8, ~np.uint64(0), (np.uint64(1) << bits) - np.uint64(1))
            word &= mask
            if words == 1:
                return word, size.copy()
            h1 = (h1 ^ word) * _P1
            h2 = (h2 ^ (word * _P1)) * _P2
        return _finalize(h1), _finalize(h2 ^ (h2 >> np.uint64(29)))


@dataclass
class _Labels:
    """The labels file in memory, sorted by the first hash."""

    h1: np.ndarray  # sorted
    order: np.ndarray  # label row of each sorted position
    h2: np.ndarray  # by label row
    columns: dict[str, np.ndarray]  # by label row

    @property
    def n(self) -> int:
        return len(self.order)


def read_labels(
    batches: Iterator[Any], key_of: Callable[[Any, int], Any], cols: list[str], name: str
) -> _Labels:
    """Hash and keep every label row; raise ``Fallback`` past ``MEMORY_ROWS`` rows."""
    h1s, h2s, parts = [], [], []
    rows = 0
    for batch in batches:
        keys = key_of(batch, rows)
        rows += batch.num_rows
        if rows > MEMORY_ROWS:
            raise Fallback
        h1, h2 = id_hashes(keys)
        h1s.append(h1)
        h2s.append(h2)
        if batch.num_rows:
            parts.append(batch_to_chunk(batch.combine_chunks().to_batches()[0], cols, name))
    # Each list is dropped as soon as it is joined: the peak is one array's two copies.
    h1 = _joined(h1s)
    h2 = _joined(h2s)
    columns: dict[str, np.ndarray] = {}
    for c in cols if parts else []:
        columns[c] = np.concatenate([p.pop(c) for p in parts])
    order = np.argsort(h1)
    h1 = h1[order]
    return _Labels(h1, order, h2, columns)


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    out = np.concatenate(parts) if parts else np.empty(0, np.uint64)
    parts.clear()
    return out


def duplicate_labels(labels: _Labels) -> np.ndarray:
    """Label rows whose id is another row's (the later ones); ``Fallback`` on a collision."""
    same = np.flatnonzero(labels.h1[1:] == labels.h1[:-1])
    if not len(same):
        return same
    a, b = labels.order[same], labels.order[same + 1]
    if (labels.h2[a] != labels.h2[b]).any():
        raise Fallback
    return np.maximum(a, b)


@dataclass
class Matched:
    """One chunk of predictions joined: the matched rows, their label rows and the rest."""

    found: np.ndarray  # bool per prediction row of the chunk
    label_rows: np.ndarray  # label row of each found row


def match(labels: _Labels, keys: Any) -> Matched:
    """Find each prediction id among the labels (binary search, checked by the second hash)."""
    h1, h2 = id_hashes(keys)
    if not labels.n:
        return Matched(np.zeros(len(h1), bool), np.empty(0, np.int64))
    # Searching the chunk's hashes in sorted order walks the labels' hashes forward (NumPy
    # starts each search at the previous result): several times faster than in file order.
    by_hash = np.argsort(h1)
    pos = np.empty(len(h1), np.int64)
    pos[by_hash] = np.searchsorted(labels.h1, h1[by_hash])
    np.minimum(pos, labels.n - 1, out=pos)
    found = labels.h1[pos] == h1
    rows = labels.order[pos]
    found &= labels.h2[rows] == h2
    return Matched(found, rows[found])


class Owners:
    """Which prediction row took each label row: duplicates across and within chunks."""

    def __init__(self, n: int) -> None:
        self.owner = np.full(n, -1, np.int64)

    def claim(self, label_rows: np.ndarray, pred_rows: np.ndarray) -> np.ndarray:
        """Claim the label rows; a mask of the prediction rows whose id came earlier."""
        before = self.owner[label_rows] >= 0
        self.owner[label_rows] = pred_rows
        within = self.owner[label_rows] != pred_rows  # a later row of this chunk took it
        # The last writer of a repeated id wins above: the earlier rows are the repeats here,
        # but every occurrence after the first is one duplicate, which is the same count.
        return before | within

    def unclaimed(self) -> np.ndarray:
        return np.flatnonzero(self.owner < 0)


def take_rows(batch: Any, cols: list[str], name: str, idx: np.ndarray) -> TableChunk:
    import pyarrow as pa

    return batch_to_chunk(batch.take(pa.array(idx)), cols, name)


def label_ids_at(
    batches: Iterator[Any], key_of: Callable[[Any, int], Any], rows: np.ndarray
) -> list[Any]:
    """The ids of some label rows (for messages), read again from the file."""
    import pyarrow as pa

    wanted = np.sort(rows)
    out: dict[int, Any] = {}
    start = 0
    for batch in batches:
        inside = wanted[(wanted >= start) & (wanted < start + batch.num_rows)]
        if len(inside):
            keys = key_of(batch, start).take(pa.array(inside - start)).to_pylist()
            out.update(zip(inside.tolist(), keys, strict=True))
        start += batch.num_rows
        if start > wanted[-1]:
            break
    return [out[int(r)] for r in rows if int(r) in out]
