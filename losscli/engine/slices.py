"""Slices: the run's accumulators kept once per value of the ``--group-by`` columns.

A slice key is a tuple with one value per group column (several columns are crossed). Values
are strings, integers or booleans; a missing value (empty, NaN, null) is ``None``, a slice of
its own. ``SliceCoder`` turns a chunk's columns into one slice number per row, vectorised:
readers give group columns as ``Coded`` (dictionary codes and the chunk's distinct values,
decoded once), other arrays are factorised; a persistent code per distinct value and a
number per combination of codes survive across chunks. ``Sliced`` keeps, per slice number,
the row count and each loss's moments as arrays (``GroupMoments``), updated with
``np.bincount`` over the slice numbers. Memory grows with the number of slices, never with
the rows; two ``Sliced`` merge key by key.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.engine.accumulators import GroupMoments, Moments
from losscli.engine.intervals import replicate_columns, sums_interval
from losscli.engine.resample import GrowingSums, Resampler
from losscli.engine.results import LossResult, SliceResult
from losscli.errors import InputError
from losscli.io.sources import Coded
from losscli.losses import PerSample, Reduce

SliceValue = str | int | bool | None
FLUSH_ROWS = 1 << 20
# Module constants (mutmut leaves them alone; their mutants were equivalent, see
# tests/mutation/paired-resample-slices-state.md): the tag that keeps a boolean slice value
# apart from an integer one, the mark of a value not coded yet (only compared < 0), the sort
# text of a missing value (before every "~value"), and conversions with a fixed dtype.
_BOOL_TAG = "bool"
_UNSEEN = -1
_MISSING_FIRST = ""
_objects = functools.partial(np.asarray, dtype=object)
_int64s = functools.partial(np.asarray, dtype=np.int64)
_float64s = functools.partial(np.asarray, dtype=np.float64)
SliceKey = tuple[SliceValue, ...]


def _value(raw: Any, column: str) -> SliceValue:
    """A group value as a plain Python value; whole-number floats (numeric CSV columns) are
    integers; NaN, None and empty text (an empty CSV field) are missing."""
    if raw is None:
        return None
    if isinstance(raw, bool | np.bool_):
        return bool(raw)
    if isinstance(raw, int | np.integer):
        return int(raw)
    if isinstance(raw, float | np.floating):
        if np.isnan(raw):
            return None
        if float(raw).is_integer():
            return int(raw)
        raise InputError(
            f"--group-by {column}: the column holds {float(raw):g}; group values must be "
            "strings, integers or booleans (bin a continuous column first)"
        )
    text = str(raw)
    return text if text.strip() else None


def _key(value: SliceValue) -> Any:
    """A value as a dict key: True and 1 are equal in Python, a boolean slice and an integer
    slice are not."""
    return (_BOOL_TAG, value) if isinstance(value, bool) else value


class SliceCoder:
    """Rows to slice numbers 0, 1, ..., across chunks: per column a persistent code of each
    distinct value, then a slice number per combination of codes."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.keys: list[SliceKey] = []
        self._numbers: dict[tuple[int, ...], int] = {}
        # Per column: the distinct values seen so far and their codes (by ``_key``).
        self._values: list[list[SliceValue]] = [[] for _ in columns]
        self._codes: list[dict[Any, int]] = [{} for _ in columns]
        # One column: the slice number of each value code (-1: not seen yet).
        self._slot = np.zeros(0, dtype=np.int64)

    def _code(self, k: int, raw: Any) -> int:
        """The code of one raw value of column k (a new value gets the next code)."""
        value = _value(raw, self.columns[k])
        key = _key(value)
        code = self._codes[k].get(key)
        if code is None:
            code = self._codes[k][key] = len(self._values[k])
            self._values[k].append(value)
        return code

    def _table(self, k: int, distinct: list[Any], local: np.ndarray) -> np.ndarray:
        """Codes of the rows whose ``local`` codes index ``distinct`` (−1: missing), in the
        column's persistent numbering; text already seen is one dict lookup."""
        known = self._codes[k]
        found = [known.get(raw, _UNSEEN) if type(raw) is str else _UNSEEN for raw in distinct]
        table = _int64s([*found, _UNSEEN])
        for i in np.flatnonzero(table[:-1] < 0):
            table[i] = self._code(k, distinct[int(i)])
        if (local < 0).any():  # the index −1 picks the last entry: the code of a missing value
            table[-1] = self._code(k, None)
        return table[local]

    def _column_codes(self, k: int, raw: Any) -> np.ndarray:
        """Codes of one column's rows in this column's persistent numbering."""
        if isinstance(raw, Coded):  # the reader's dictionary: decode each value once
            return self._table(k, list(raw.values), raw.codes)
        import pandas as pd

        local, uniques = pd.factorize(np.asarray(raw))  # a missing value's code: −1
        return self._table(k, list(_objects(uniques)), np.asarray(local))

    def codes(self, meta: Mapping[str, Any]) -> np.ndarray:
        """Each row's slice number; new slices get the next numbers."""
        per_column = [self._column_codes(k, meta[c]) for k, c in enumerate(self.columns)]
        if len(per_column) == 1:
            return self._single(per_column[0])
        rows = np.stack(per_column, axis=1)
        uniques, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        numbers = np.empty(len(uniques), dtype=np.int64)
        for j in np.argsort(first):  # new slices numbered in order of first appearance
            numbers[j] = self._number(tuple(int(x) for x in uniques[j]))
        return numbers[inverse.ravel()]

    def _single(self, codes: np.ndarray) -> np.ndarray:
        """One group column: slice numbers through a table indexed by value code."""
        size = len(self._values[0])
        if len(self._slot) < size:
            self._slot = np.concatenate([self._slot, np.full(size - len(self._slot), _UNSEEN)])
        seen = np.bincount(codes, minlength=size) > 0
        for code in np.flatnonzero(seen & (self._slot < 0)):  # codes: in order of first sight
            self._slot[code] = self._number((int(code),))
        return self._slot[codes]

    def _number(self, codes: tuple[int, ...]) -> int:
        """The slice number of a combination of value codes (a new slice gets the next)."""
        number = self._numbers.get(codes)
        if number is None:
            number = self._numbers[codes] = len(self.keys)
            self.keys.append(tuple(self._values[k][c] for k, c in enumerate(codes)))
        return number

    def number_of(self, key: SliceKey) -> int:
        """The slice number of a slice key (from another run's slices)."""
        codes = []
        for k, value in enumerate(key):
            code = self._codes[k].get(_key(value))
            if code is None:
                code = self._codes[k][_key(value)] = len(self._values[k])
                self._values[k].append(value)
            codes.append(code)
        return self._number(tuple(codes))


@dataclass
class Sliced:
    """The run's accumulators per slice: rows per slice and, per loss, a ``GroupMoments``
    indexed by slice number (arrays that grow with the slices, never with the rows)."""

    columns: tuple[str, ...]
    n_losses: int
    kish: bool = False
    # --ci bootstrap: the run's replicate weights, summed per slice (``GrowingSums``).
    resampler: Resampler | None = None
    coder: SliceCoder = field(init=False, repr=False)
    rows_of: np.ndarray = field(init=False, repr=False)
    moments: list[GroupMoments] = field(init=False, repr=False)
    # Chunks not yet added: their group columns and terms (see ``add``).
    boot: GrowingSums | None = field(init=False, repr=False)
    _pending: list[tuple[Mapping[str, Any], list[PerSample], np.ndarray | None]] = field(
        default_factory=list, repr=False
    )
    _pending_rows: int = 0

    def __post_init__(self) -> None:
        self.coder = SliceCoder(self.columns)
        self.rows_of = np.zeros(0)
        self.moments = [GroupMoments(self.kish) for _ in range(self.n_losses)]
        self.boot = (
            None
            if self.resampler is None
            else GrowingSums(self.resampler, 2 * self.n_losses + 1, groups=0)
        )

    def add(
        self, meta: Mapping[str, Any], terms: list[PerSample], keys: np.ndarray | None = None
    ) -> None:
        """Add a chunk: its group columns, every loss's terms and, when bootstrapping, its
        samples' keys (``sample_keys``). Chunks are held until ``FLUSH_ROWS`` rows have come
        (readers yield blocks of ~40k rows), so the work per slice is done once per million
        rows, not once per block."""
        self._pending.append((meta, terms, keys))
        self._pending_rows += len(terms[0].values) if terms else 0
        if self._pending_rows >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Add the held chunks to the slices' accumulators."""
        if not self._pending:
            return
        parts, self._pending, self._pending_rows = self._pending, [], 0
        codes = np.concatenate([self.coder.codes(m) for m, _, _ in parts])
        size = len(self.coder.keys)
        self.rows_of = _grown(self.rows_of, size) + np.bincount(codes, minlength=size)
        terms = []
        for i in range(self.n_losses):
            values = np.concatenate([t[i].values for _, t, _ in parts])
            weighted = any(t[i].weights is not None for _, t, _ in parts)
            weights = (
                np.concatenate(
                    [
                        np.ones(len(t[i].values)) if t[i].weights is None else t[i].weights
                        for _, t, _ in parts
                    ]
                )
                if weighted
                else None
            )
            self.moments[i].update(codes, size, values, weights)
            terms.append(PerSample(values, weights))
        if self.boot is not None:
            keys = np.concatenate([k for _, _, k in parts if k is not None])
            self.boot.update(keys, replicate_columns(terms, len(codes)), codes)

    def interval(
        self, key: SliceKey, i: int, reduce: Reduce, reduction: str, level: float
    ) -> tuple[float, float] | None:
        """Loss ``i``'s bootstrap interval in a slice (None without --ci bootstrap): the
        run's replicate weights restricted to the slice's rows."""
        if self.boot is None:
            return None
        number = self.coder.number_of(key)
        sums = self.boot.finalize()[number]
        return sums_interval(sums, i, reduce, reduction, float(self.rows_of[number]), level)

    @property
    def keys(self) -> list[SliceKey]:
        """The slices seen, by slice number."""
        self.flush()
        return self.coder.keys

    def merge(self, other: Sliced) -> None:
        """Add another run's slices (same losses and group columns), key by key."""
        self.flush()
        at = np.array([self.coder.number_of(key) for key in other.keys], dtype=np.int64)
        size = len(self.coder.keys)
        self.rows_of = _grown(self.rows_of, size)
        np.add.at(self.rows_of, at, other.rows_of[: len(at)])
        for mine, theirs in zip(self.moments, other.moments, strict=True):  # pragma: no mutate
            theirs.grow(len(at))
            mine.merge(theirs, at)
        if self.boot is not None and other.boot is not None:
            self.boot.merge_at(other.boot, at)

    def to_state(self) -> dict[str, Any]:
        """The slices for a saved state: their keys (JSON values: text, integers, booleans,
        null), rows and each loss's per-slice sums (exact hex floats)."""
        keys = self.keys
        return {
            "columns": list(self.columns),
            "kish": self.kish,
            "keys": [list(k) for k in keys],
            "rows": [int(r) for r in _grown(self.rows_of, len(keys))],
            "moments": [m.to_state() for m in self.moments],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], n_losses: int) -> Sliced:
        out = cls(tuple(state["columns"]), n_losses, bool(state["kish"]))
        for key in state["keys"]:
            if len(key) != len(out.columns):
                raise ValueError(f"slice key {key!r} for columns {out.columns!r}")
            out.coder.number_of(tuple(key))
        out.rows_of = _float64s(state["rows"])
        out.moments = [GroupMoments.from_state(m) for m in state["moments"]]
        sizes = {len(out.rows_of), len(state["keys"]), *(len(m) for m in out.moments)}
        if len(sizes) != 1 or len(out.moments) != n_losses:
            raise ValueError("slice keys, rows and per-slice sums of different lengths")
        return out

    def finalize(
        self, result: Callable[[int, Moments, SliceKey], LossResult], min_size: int = 0
    ) -> tuple[SliceResult, ...]:
        """Each slice's results (``result(loss index, moments, key)``), worst first by the first
        loss; slices under ``min_size`` rows, or whose rows are all left out (weight 0,
        ignore_index), keep only their count and come last, largest first."""
        shown, hidden = [], []
        for number, key in enumerate(self.keys):
            n = int(self.rows_of[number])
            moments = [m.moments(number) for m in self.moments]
            if n < min_size or any(m.sum_w == 0 for m in moments):
                hidden.append(SliceResult(key, n, (), hidden=True))
                continue
            results = tuple(result(i, m, key) for i, m in enumerate(moments))
            shown.append(SliceResult(key, n, results))
        shown.sort(key=lambda s: (-_rank(s.results[0].value), _order(s.values)))
        hidden.sort(key=lambda s: (-s.n, _order(s.values)))
        return tuple(shown + hidden)


def _grown(array: np.ndarray, size: int) -> np.ndarray:
    """``array`` padded with zeros to ``size`` entries."""
    return np.concatenate([array, np.zeros(max(size - len(array), 0))])


def key_text(columns: Sequence[str], key: SliceKey) -> str:
    """A slice as one line, e.g. ``lang=de,device=ios`` (missing values as ``(missing)``)."""

    def text(v: SliceValue) -> str:
        if v is None:
            return "(missing)"
        return ("true" if v else "false") if isinstance(v, bool) else str(v)

    return ",".join(f"{c}={text(key[i])}" for i, c in enumerate(columns))  # one value a column


def _rank(value: float) -> float:
    return value if value == value else -math.inf  # NaN ranks last


def _order(values: Sequence[SliceValue]) -> tuple[str, ...]:
    """A stable tie-break between slices: their values as text (missing first)."""
    return tuple(_MISSING_FIRST if v is None else f"~{v}" for v in values)
