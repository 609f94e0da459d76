"""Slices: the run's accumulators kept once per value of the ``--group-by`` columns.

A slice key is a tuple with one value per group column (several columns are crossed). Values
are strings, integers or booleans; a missing value (empty, NaN, null) is ``None``, a slice of
its own. ``SliceCoder`` turns a chunk's columns into one slice number per row, vectorised
(``pandas.factorize`` per column, then a dict from slice key to number that persists across
chunks); ``Sliced`` keeps, per slice key, the same accumulators the run keeps overall and
updates them with ``np.bincount`` over the slice numbers. Memory grows with the number of
slices, never with the rows; two ``Sliced`` merge key by key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.engine.accumulators import Moments
from losscli.engine.results import LossResult, SliceResult
from losscli.errors import InputError
from losscli.losses import PerSample

SliceValue = str | int | bool | None
FLUSH_ROWS = 1 << 20
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


class SliceCoder:
    """Rows to slice numbers 0, 1, ... in order of first appearance, across chunks."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.keys: list[SliceKey] = []
        self._numbers: dict[SliceKey, int] = {}
        # Per column: the distinct values seen so far and their codes.
        self._values: list[list[SliceValue]] = [[] for _ in columns]
        self._codes: list[dict[SliceValue, int]] = [{} for _ in columns]

    def _column_codes(self, k: int, raw: np.ndarray) -> np.ndarray:
        """Codes of one column's values in this column's persistent numbering."""
        import pandas as pd

        local, uniques = pd.factorize(raw, use_na_sentinel=True)
        codes, values = self._codes[k], self._values[k]
        table = np.empty(len(uniques) + 1, dtype=np.int64)
        for i, u in enumerate([*np.asarray(uniques, dtype=object), None]):
            v = _value(u, self.columns[k])
            if v not in codes:
                codes[v] = len(values)
                values.append(v)
            table[i] = codes[v]
        # factorize's -1 (missing) picks the last entry, the code of None.
        return table[np.asarray(local, dtype=np.int64)]

    def codes(self, meta: Mapping[str, np.ndarray]) -> np.ndarray:
        """Each row's slice number; new slices get the next numbers."""
        import pandas as pd

        per_column = [
            self._column_codes(k, np.asarray(meta[c])) for k, c in enumerate(self.columns)
        ]
        combined = per_column[0]
        for k in range(1, len(per_column)):
            combined = combined * len(self._values[k]) + per_column[k]
            combined = np.asarray(pd.factorize(combined)[0], dtype=np.int64)
        local, uniques = pd.factorize(combined)
        local = np.asarray(local, dtype=np.int64)
        # One representative row per distinct combination: its first row.
        first = np.empty(len(uniques), dtype=np.int64)
        first[local[::-1]] = np.arange(len(local) - 1, -1, -1)
        numbers = np.empty(len(uniques), dtype=np.int64)
        for j, row in enumerate(first):
            key = tuple(self._values[k][per_column[k][row]] for k in range(len(self.columns)))
            number = self._numbers.get(key)
            if number is None:
                number = self._numbers[key] = len(self.keys)
                self.keys.append(key)
            numbers[j] = number
        return numbers[local]


@dataclass
class SliceState:
    """One slice's accumulators: its rows and one ``Moments`` per loss, as the run keeps."""

    n: int
    moments: list[Moments]

    def merge(self, other: SliceState) -> None:
        self.n += other.n
        for mine, theirs in zip(self.moments, other.moments, strict=True):
            mine.merge(theirs)


@dataclass
class Sliced:
    """The run's accumulators per slice key (a dict that grows with the slices, not rows)."""

    columns: tuple[str, ...]
    n_losses: int
    kish: bool = False
    slices: dict[SliceKey, SliceState] = field(default_factory=dict)
    coder: SliceCoder = field(init=False, repr=False)
    # Chunks not yet added: their group columns and terms (see ``add``).
    _pending: list[tuple[Mapping[str, np.ndarray], list[PerSample]]] = field(
        default_factory=list, repr=False
    )
    _pending_rows: int = 0

    def __post_init__(self) -> None:
        self.coder = SliceCoder(self.columns)

    def add(self, meta: Mapping[str, np.ndarray], terms: list[PerSample]) -> None:
        """Add a chunk: its group columns and every loss's terms. Chunks are held until
        ``FLUSH_ROWS`` rows have come (readers yield blocks of ~40k rows), so the work per
        slice is done once per million rows, not once per block."""
        self._pending.append((meta, terms))
        self._pending_rows += len(terms[0].values) if terms else 0
        if self._pending_rows >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Add the held chunks to the slices' accumulators."""
        if not self._pending:
            return
        parts, self._pending, self._pending_rows = self._pending, [], 0
        meta = {c: _joined([m[c] for m, _ in parts]) for c in self.columns}
        codes = self.coder.codes(meta)
        self.rows(codes)
        for i in range(self.n_losses):
            values = np.concatenate([t[i].values for _, t in parts])
            weighted = any(t[i].weights is not None for _, t in parts)
            weights = (
                np.concatenate(
                    [
                        np.ones(len(t[i].values)) if t[i].weights is None else t[i].weights
                        for _, t in parts
                    ]
                )
                if weighted
                else None
            )
            self.update(i, codes, PerSample(values, weights))

    def _state(self, key: SliceKey) -> SliceState:
        state = self.slices.get(key)
        if state is None:
            state = self.slices[key] = SliceState(
                0, [Moments(kish=self.kish) for _ in range(self.n_losses)]
            )
        return state

    def rows(self, codes: np.ndarray) -> None:
        """Count a chunk's rows per slice (``codes`` from ``self.coder.codes``)."""
        counts = np.bincount(codes, minlength=len(self.coder.keys))
        for number in np.flatnonzero(counts):
            self._state(self.coder.keys[number]).n += int(counts[number])

    def update(self, loss: int, codes: np.ndarray, terms: PerSample) -> None:
        """Add one loss's terms of a chunk to each slice's accumulator of that loss."""
        size = len(self.coder.keys)
        for number, chunk in Moments.grouped(codes, size, terms.values, terms.weights, self.kish):
            self._state(self.coder.keys[number]).moments[loss].merge(chunk)

    def merge(self, other: Sliced) -> None:
        """Add another run's slices (same losses and group columns), key by key."""
        self.flush()
        other.flush()
        for key, state in other.slices.items():
            self._state(key).merge(state)

    def finalize(
        self, result: Callable[[int, Moments, SliceKey], LossResult], min_size: int = 0
    ) -> tuple[SliceResult, ...]:
        """Each slice's results (``result(loss index, moments, key)``), worst first by the first
        loss; slices under ``min_size`` rows, or whose rows are all left out (weight 0,
        ignore_index), keep only their count and come last, largest first."""
        self.flush()
        shown, hidden = [], []
        for key, state in self.slices.items():
            if state.n < min_size or any(m.sum_w == 0 for m in state.moments):
                hidden.append(SliceResult(key, state.n, (), hidden=True))
                continue
            results = tuple(result(i, m, key) for i, m in enumerate(state.moments))
            shown.append(SliceResult(key, state.n, results))
        shown.sort(key=lambda s: (-_rank(s.results[0].value), _order(s.values)))
        hidden.sort(key=lambda s: (-s.n, _order(s.values)))
        return tuple(shown + hidden)


def key_text(columns: Sequence[str], key: SliceKey) -> str:
    """A slice as one line, e.g. ``lang=de,device=ios`` (missing values as ``(missing)``)."""

    def text(v: SliceValue) -> str:
        if v is None:
            return "(missing)"
        return ("true" if v else "false") if isinstance(v, bool) else str(v)

    return ",".join(f"{c}={text(v)}" for c, v in zip(columns, key, strict=True))


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """Chunks of one column as one array (object when their dtypes differ)."""
    if len(parts) == 1:
        return parts[0]
    if len({p.dtype for p in parts}) > 1:
        parts = [p.astype(object) for p in parts]
    return np.concatenate(parts)


def _rank(value: float) -> float:
    return value if value == value else -float("inf")  # NaN ranks last


def _order(values: Sequence[SliceValue]) -> tuple[str, ...]:
    """A stable tie-break between slices: their values as text (missing first)."""
    return tuple("" if v is None else f"~{v}" for v in values)
