"""Two or more models on the same samples, streamed: paired moments, a bounded heap of the
largest disagreements, and the alignment of the models' chunks by sample key.

``compare`` and ``check --baseline-preds`` evaluate each model in its own pass over the
files, side by side in chunks; what pairs them is here, in memory bounded by the chunk size
(plus ``k`` rows for the disagreements), whatever the number of rows.

- ``PairedMoments``: for model A against model B on one loss, the running sums of both
  models' terms and the centred co-moments of ``x = (v_A, w_A, v_B − v_A, w_B − w_A)``
  (Chan et al.'s merge, as ``losscli.engine.accumulators.Moments``), in float64. The paired
  standard error of ``value(B) − value(A)`` is a quadratic form in them: each sample's
  influence on the difference, ``u_i = z_B,i − z_A,i`` with ``z_i = s·(v_i − R·w_i)/w̄``
  (``losscli.stats.influence``), is linear in ``x_i`` once R, w̄ and s are known at the end,
  so ``Σ(u − ū)² = cᵀ M c``. Differences are a coordinate of their own so that a model
  compared with itself has a spread of exactly 0.
- ``Disagreements``: the ``k`` samples whose first-loss values differ most between models,
  ties broken by the order samples arrive in, so the list does not depend on the chunks.
- ``Aligned``: the models' chunks cut to the samples present for every model, in order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from losscli.losses import Reduce
from losscli.stats import PAIRED, Difference, difference_interval

Terms = tuple[np.ndarray, np.ndarray | None]  # per-sample (values, weights or None for 1)


def paired_terms(a: Terms, b: Terms) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """v_A, w_A, v_B, w_B as float64 arrays (weights of 1 where there are none)."""
    va, vb = np.asarray(a[0], np.float64), np.asarray(b[0], np.float64)
    wa = np.ones(len(va)) if a[1] is None else np.asarray(a[1], np.float64)
    wb = np.ones(len(vb)) if b[1] is None else np.asarray(b[1], np.float64)
    return va, wa, vb, wb


_BLOCK = 1 << 16  # rows summed at a time by BlockSums


@dataclass
class BlockSums:
    """Column sums taken over fixed blocks of rows in the order they arrive, so the float
    sums are the same bits however the rows were cut into chunks. A column given as None
    is all ones (its sum is the count)."""

    columns: int
    sums: np.ndarray = field(init=False)
    _pending: list[tuple[int, Sequence[np.ndarray | None]]] = field(
        init=False, default_factory=list
    )
    _held: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.sums = np.zeros(self.columns)

    def update(self, n: int, columns: Sequence[np.ndarray | None]) -> None:
        self._pending.append((n, columns))
        self._held += n
        if self._held >= _BLOCK:  # pragma: no mutate
            self._drain(final=False)

    def _drain(self, final: bool) -> None:
        held = self._held
        end = held if final else held - held % _BLOCK
        joined = [self._column(k) for k in range(self.columns)]
        for k, x in enumerate(joined):
            for start in range(0, end, _BLOCK):
                stop = min(start + _BLOCK, end)
                self.sums[k] += float(stop - start) if x is None else float(x[start:stop].sum())
        rest = [None if x is None else x[end:] for x in joined]
        self._pending, self._held = ([(held - end, rest)] if held > end else []), held - end

    def _column(self, k: int) -> np.ndarray | None:
        parts = [(n, cols[k]) for n, cols in self._pending]
        if all(x is None for _, x in parts):
            return None
        if len(parts) == 1:
            return parts[0][1]
        return np.concatenate([np.ones(n) if x is None else x for n, x in parts])

    def merge(self, other: BlockSums) -> None:
        self.sums = self.finalize() + other.finalize()

    def finalize(self) -> np.ndarray:
        if self._held:
            self._drain(final=True)
        return self.sums


@dataclass
class PairedMoments:
    """Mergeable moments of two models' per-sample terms on the same samples (one loss).

    ``sums`` are Σv_A, Σw_A, Σv_B, Σw_B (``totals``); ``mean`` and ``comoment`` are the mean and the
    centred sums of products of ``(v_A, w_A, v_B − v_A, w_B − w_A)``. ``better``/``worse``
    count samples where B's own loss is lower/higher than A's among ``counted`` samples
    (both own losses defined).
    """

    n: int = 0
    sums: BlockSums = field(default_factory=lambda: BlockSums(4))
    mean: np.ndarray = field(default_factory=lambda: np.zeros(4))
    comoment: np.ndarray = field(default_factory=lambda: np.zeros((4, 4)))
    counted: int = 0
    better: int = 0
    worse: int = 0

    def update(
        self, a: Terms, b: Terms, shown: tuple[np.ndarray, np.ndarray] | None = None
    ) -> None:
        """Add aligned samples: each model's (values, weights) and, for the shares, each
        sample's own loss under each model (NaN where it is not counted)."""
        va, vb = np.asarray(a[0], np.float64), np.asarray(b[0], np.float64)
        n = len(va)
        if n:
            wa = None if a[1] is None else np.asarray(a[1], np.float64)
            wb = None if b[1] is None else np.asarray(b[1], np.float64)
            self.sums.update(n, (va, wa, vb, wb))
            dw = None
            if wa is not None or wb is not None:
                dw = (np.ones(n) if wb is None else wb) - (1.0 if wa is None else wa)
            self._merge_moments(n, *_centred([va, wa, vb - va, dw]))
        if shown is not None:
            sa, sb = shown
            # NaN compares false both ways, so samples not counted fall out by themselves.
            self.counted += n - int(np.count_nonzero(np.isnan(sa) | np.isnan(sb)))
            self.better += int(np.count_nonzero(sb < sa))
            self.worse += int(np.count_nonzero(sb > sa))

    def _merge_moments(self, n: int, mean: np.ndarray, comoment: np.ndarray) -> None:
        if n == 0:
            return
        if self.n == 0:
            self.n, self.mean, self.comoment = n, mean.copy(), comoment.copy()
            return
        total = self.n + n
        delta = mean - self.mean
        self.comoment = self.comoment + comoment + np.outer(delta, delta) * (self.n * n / total)
        self.mean = self.mean + delta * (n / total)
        self.n = total

    def merge(self, other: PairedMoments) -> None:
        """Add another part of the same samples (a chunk, a partition)."""
        self._merge_moments(other.n, other.mean, other.comoment)
        self.sums.merge(other.sums)
        self.counted += other.counted
        self.better += other.better
        self.worse += other.worse

    def shares(self) -> tuple[float, float]:
        """Shares of counted samples where B's loss is lower / higher than A's."""
        if self.counted == 0:
            return math.nan, math.nan
        return self.better / self.counted, self.worse / self.counted

    def values(self, reduce: Reduce) -> tuple[float, float]:
        """Both models' values re-summed over these samples: Σv/Σw, or its root."""
        totals, n = self.totals, self.n
        return _side(totals[0], totals[1], n, reduce)[0], _side(totals[2], totals[3], n, reduce)[0]

    @property
    def totals(self) -> np.ndarray:
        """Σv_A, Σw_A, Σv_B, Σw_B."""
        return self.sums.finalize()

    def finalize(self, reduce: Reduce, *, exact: tuple[float, float] | None = None) -> Difference:
        """``value(B) − value(A)`` with the paired t interval (n − 1 degrees of freedom).

        ``exact`` are the two values as the engine reported them over exactly these samples
        (as ``losscli.stats.paired_difference``)."""
        n, totals = self.n, self.totals
        value_a, ratio_a, w_a, s_a = _side(totals[0], totals[1], n, reduce)
        value_b, ratio_b, w_b, s_b = _side(totals[2], totals[3], n, reduce)
        if exact is not None:
            value_a, value_b = exact
        # u = z_B − z_A in the coordinates (v_A, w_A, v_B − v_A, w_B − w_A).
        c = np.array(
            [
                s_b / w_b - s_a / w_a,
                s_a * ratio_a / w_a - s_b * ratio_b / w_b,
                s_b / w_b,
                -s_b * ratio_b / w_b,
            ]
        )
        # A coordinate that never varies adds nothing, whatever its coefficient (0·inf).
        c = np.where(np.diag(self.comoment) == 0, 0.0, c)
        if n > 1:
            spread = max(float(c @ self.comoment @ c), 0.0)
            se = math.sqrt(spread / (n - 1)) / math.sqrt(n)
        else:
            se = math.nan
        return difference_interval(value_b - value_a, se, n - 1, n, PAIRED)


def _centred(columns: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and centred sums of products of columns; None is a weight column of ones (or,
    for the weights' difference, zeros): no spread. Products without BLAS (see
    ``losscli.engine.accumulators._sums``)."""
    mean = np.array([math.nan, 1.0, math.nan, 0.0])  # only columns 1 and 3 may be None
    comoment = np.zeros((4, 4))
    centred: list[tuple[int, np.ndarray]] = []
    for k, x in enumerate(columns):
        if x is not None:
            mean[k] = x.mean()
            centred.append((k, x - mean[k]))
    for i, (j, dj) in enumerate(centred):
        for k, dk in centred[i:]:
            comoment[j, k] = comoment[k, j] = float(np.einsum("i,i->", dj, dk))
    return mean, comoment


def _side(sum_v: float, sum_w: float, n: int, reduce: Reduce) -> tuple[float, float, float, float]:
    """One model's value, ratio R = Σv/Σw, mean weight w̄ and influence scale s (1, or
    1/(2√R) for a root; 0 when the root is 0 or undefined, as ``stats.influence``)."""
    if not sum_w or n == 0:
        return math.nan, math.nan, math.nan, math.nan
    ratio = float(sum_v) / float(sum_w)
    if reduce is not Reduce.SQRT_MEAN:
        return ratio, ratio, float(sum_w) / n, 1.0
    root = math.sqrt(ratio) if ratio >= 0 else math.nan
    return root, ratio, float(sum_w) / n, (1.0 / (2 * root) if root > 0 else 0.0)


# --------------------------------------------------------------------------- disagreements


@dataclass
class Disagreements:
    """The ``k`` samples with the largest spread (max − min over models) of one loss.

    Samples where every model's value is NaN never enter; NaN values are left out of a
    sample's spread. Ties keep the sample that arrived first (``position``)."""

    k: int
    keys: list[str] = field(default_factory=list)
    values: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    spread: np.ndarray = field(default_factory=lambda: np.empty(0))
    position: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def update(self, keys: np.ndarray, columns: Sequence[np.ndarray], start: int) -> None:
        """Add samples: their keys, each model's values of them, and the position of the
        first of them among every sample added."""
        if self.k <= 0 or not len(keys):
            return
        high, low = columns[0], columns[0]
        for x in columns[1:]:
            high, low = np.fmax(high, x), np.fmin(low, x)  # NaN only where all are NaN
        spread = high - low
        if len(self.spread) == self.k:  # full: a row must beat the k-th (ties came later)
            idx = np.flatnonzero(spread > self.spread[-1])
        else:
            idx = np.flatnonzero(~np.isnan(spread))
        if len(idx) > self.k:
            kth = np.partition(-spread[idx], self.k - 1)[self.k - 1]
            idx = idx[-spread[idx] <= kth]  # every row tied with the k-th stays a candidate
        if not len(idx):
            return
        values = np.column_stack([x[idx] for x in columns])
        self.merge(
            Disagreements(
                self.k,
                [str(keys[i]) for i in idx],
                values,
                spread[idx],
                idx.astype(np.int64) + start,
            )
        )

    def merge(self, other: Disagreements) -> None:
        if not len(other.spread):
            return
        if not len(self.spread):
            values = other.values
        else:
            values = np.concatenate([self.values, other.values])
        keys = self.keys + other.keys
        spread = np.concatenate([self.spread, other.spread])
        position = np.concatenate([self.position, other.position])
        order = np.lexsort((position, -spread))[: self.k]
        self.keys = [keys[i] for i in order]
        self.values, self.spread, self.position = values[order], spread[order], position[order]

    def finalize(self) -> list[tuple[str, tuple[float, ...], float]]:
        """(key, each model's value, spread), largest spread first."""
        rows = zip(self.keys, self.values, self.spread, strict=True)  # pragma: no mutate
        return [(key, tuple(float(v) for v in row), float(s)) for key, row, s in rows]


# --------------------------------------------------------------------------- alignment


@dataclass
class Samples:
    """Some samples of one model: keys and, per loss, the terms and each sample's own loss.

    ``keys`` name the samples (ids, or row numbers of the predictions file); ``values`` and
    ``weights`` are the loss terms (weights None: all 1); ``shown`` is each sample's own loss
    (NaN when ignored).
    """

    keys: np.ndarray
    values: list[np.ndarray] = field(default_factory=list)
    weights: list[np.ndarray | None] = field(default_factory=list)
    shown: list[np.ndarray] = field(default_factory=list)
    groups: dict[str, np.ndarray] = field(default_factory=dict)  # --group-by columns

    def __len__(self) -> int:
        return len(self.keys)

    def take(self, idx: np.ndarray | slice | None) -> Samples:
        if idx is None:
            return self
        return Samples(
            self.keys[idx],
            [v[idx] for v in self.values],
            [None if w is None else w[idx] for w in self.weights],
            [s[idx] for s in self.shown],
            {c: g[idx] for c, g in self.groups.items()},
        )

    @staticmethod
    def concat(parts: Sequence[Samples], n_losses: int) -> Samples:
        """The parts one after the other (weights None only where every part has none)."""
        if len(parts) == 1:
            return parts[0]

        def joined(arrays: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(arrays) if arrays else np.empty(0)

        out = Samples(joined([p.keys for p in parts]))
        for j in range(n_losses):
            out.values.append(joined([p.values[j] for p in parts]))
            weighted = any(p.weights[j] is not None for p in parts)
            out.weights.append(
                joined(
                    [
                        np.ones(len(p)) if p.weights[j] is None else p.weights[j]  # type: ignore[misc]
                        for p in parts
                    ]
                )
                if weighted
                else None
            )
            out.shown.append(joined([p.shown[j] for p in parts]))
        for c in dict.fromkeys(c for p in parts for c in p.groups):  # every part's columns
            columns = [p.groups[c] for p in parts]
            if len({g.dtype for g in columns}) > 1:  # e.g. text in one chunk, all-null in another
                columns = [g.astype(object) for g in columns]
            out.groups[c] = np.concatenate(columns)
        return out


class NotAligned(Exception):
    """The models list their samples in different orders: they cannot be paired in one
    streamed pass (the caller pairs them in memory instead)."""


@dataclass
class Aligned:
    """The samples every model has, in chunks, from each model's stream of ``Samples``.

    By row (keys are row numbers, increasing in every stream): a sorted merge keeps the
    rows present in every stream (``--nan skip`` may drop different rows per model). By id:
    the streams must list the same ids in the same order, else ``NotAligned`` is raised.
    ``complete`` stays True while no sample of any model was left out.
    """

    streams: Sequence[Iterator[Samples]]
    n_losses: int
    by_row: bool
    complete: bool = True
    _buffers: list[list[Samples]] = field(init=False)
    _done: list[bool] = field(init=False)
    _last: list[int | None] = field(init=False)

    def __post_init__(self) -> None:
        self._buffers = [[] for _ in self.streams]
        self._done = [False for _ in self.streams]
        self._last = [None for _ in self.streams]

    def _pull(self) -> None:
        for m, stream in enumerate(self.streams):
            if self._done[m]:
                continue
            part = next(stream, None)
            if part is None:
                self._done[m] = True
            elif len(part):
                if self.by_row:
                    self._in_order(m, part.keys)
                self._buffers[m].append(part)

    def _in_order(self, m: int, keys: np.ndarray) -> None:
        """Row numbers must increase along each stream (they do for files read in order)."""
        last = self._last[m]
        if np.any(np.diff(keys) <= 0) or (last is not None and keys[0] <= last):
            raise NotAligned("rows out of order")
        self._last[m] = int(keys[-1])

    def __iter__(self) -> Iterator[list[Samples]]:
        while not all(self._done):
            self._pull()
            held = [Samples.concat(b, self.n_losses) for b in self._buffers]
            ready, rest = self._cut(held)
            self._buffers = [[r] if len(r) else [] for r in rest]
            if ready is not None and len(ready[0]):
                yield ready

    def _cut(self, held: list[Samples]) -> tuple[list[Samples] | None, list[Samples]]:
        """The samples ready to pair now, and what stays held."""
        if self.by_row:
            return self._cut_rows(held)
        length = min(len(h) for h in held)
        ended = any(done and not len(h) for h, done in zip(held, self._done, strict=True))
        if ended and any(len(h) for h in held):
            raise NotAligned("different numbers of ids")
        first = held[0].keys[:length]
        if any(not np.array_equal(h.keys[:length], first) for h in held[1:]):
            raise NotAligned("ids in different orders")
        return [h.take(slice(0, length)) for h in held], [h.take(slice(length, None)) for h in held]

    def _cut_rows(self, held: list[Samples]) -> tuple[list[Samples] | None, list[Samples]]:
        live = [h for h, done in zip(held, self._done, strict=True) if not done]
        if any(not len(h) for h in live):
            return None, held  # a stream still running has nothing held: wait for it
        upto = min((int(h.keys[-1]) for h in live), default=None)
        cut = [
            len(h) if upto is None else int(np.searchsorted(h.keys, upto, "right")) for h in held
        ]
        ready = [h.take(slice(0, c)) for h, c in zip(held, cut, strict=True)]
        rest = [h.take(slice(c, None)) for h, c in zip(held, cut, strict=True)]
        first = ready[0].keys
        if all(np.array_equal(r.keys, first) for r in ready[1:]):
            return ready, rest
        self.complete = False
        common = first
        for r in ready[1:]:
            common = np.intersect1d(common, r.keys, assume_unique=True)
        picks = [np.flatnonzero(np.isin(r.keys, common, assume_unique=True)) for r in ready]
        return [r.take(p) for r, p in zip(ready, picks, strict=True)], rest  # pragma: no mutate
