"""A mergeable histogram of per-sample losses on log-spaced bins, and the quantiles it gives.

Bins are those of DDSketch (Masson, Rim and Lee, VLDB 2019): bucket ``k`` holds the
magnitudes in ``(γ^(k-1), γ^k]`` with ``γ = (1 + α) / (1 - α)``, and its representative
``2γ^k / (γ + 1)`` is within a relative ``α`` of every value in it. Negative values get a
mirrored set of buckets, magnitudes below ``TINY`` one bucket of their own (reported as 0),
and magnitudes above ``HUGE`` the last bucket (reported within the exact minimum and maximum,
which are kept too). Up to ``EXACT_LIMIT`` samples the values themselves are kept as well,
so small runs get exact quantiles. Counts are exact, so merging two histograms (chunks,
partitions, saved states) is adding their counts, and memory does not depend on the number
of samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.errors import InputError

ALPHA = 0.005  # relative accuracy of a quantile: half a percent, inside the promised 1%
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
TINY, HUGE = 1e-12, 1e12
_K_MIN = math.ceil(math.log(TINY) / _LOG_GAMMA)
_K_MAX = math.ceil(math.log(HUGE) / _LOG_GAMMA)
_K = _K_MAX - _K_MIN + 1  # buckets per sign
N_BINS = 2 * _K + 1  # negative buckets (most negative first), the zero bucket, positive ones

QUANTILES = (0.5, 0.9, 0.99)
EXACT_LIMIT = 4096  # up to this many samples the values themselves are kept: exact quantiles


def bin_index(values: np.ndarray) -> np.ndarray:
    """Each finite or infinite value's bin, in value order: equal values share a bin.

    A magnitude ``m`` ≥ TINY has the bucket offset ``ceil(log(min(m, HUGE)) / log γ) - _K_MIN``,
    in 0.._K-1 (log(TINY) / log γ = -2763.08 and log(HUGE) / log γ = 2763.08 are far from an
    integer, so the magnitudes clipped to [TINY, HUGE] give exactly _K_MIN.._K_MAX, no second
    clip); bin ``_K ± (offset + 1)`` by its sign; below TINY the zero bucket.
    Computed in place in one float buffer (one pass per step, no masked copies)."""
    t = np.abs(values)
    small = t < TINY
    np.clip(t, TINY, HUGE, out=t)  # magnitudes above HUGE (infinity too): the last bucket
    np.log(t, out=t)
    t /= _LOG_GAMMA
    np.ceil(t, out=t)
    t -= _K_MIN - 1  # offset + 1
    np.copysign(t, values, out=t)
    t += _K
    if small.any():
        t[small] = _K  # the zero bucket
    return t.astype(np.intp)


def _representative(index: int) -> float:
    """The value a bin stands for: within α of every value in it (0 for the zero bucket)."""
    if index == _K:
        return 0.0
    k = abs(index - _K) - 1 + _K_MIN
    return math.copysign(2 * GAMMA**k / (GAMMA + 1), index - _K)  # bins below _K: negative


def bin_edges(index: int) -> tuple[float, float]:
    """The (lower, upper) values of a bin: a negative bin mirrors the positive one."""
    if index == _K:
        return -TINY, TINY
    k = abs(index - _K) - 1 + _K_MIN
    low, high = sorted(math.copysign(GAMMA**e, index - _K) for e in (k - 1, k))
    return low, high


@dataclass(frozen=True, slots=True)
class Distribution:
    """What a histogram says about the per-sample losses: exact count, min and max, the
    quantiles (within 0.5% relative) and a coarse histogram with exact counts."""

    count: int
    min: float
    max: float
    quantiles: dict[str, float]
    edges: tuple[float, ...]  # len(counts) + 1 values, from min to max
    counts: tuple[int, ...]


@dataclass
class Histogram:
    """Exact counts of per-sample values in log-spaced bins (NaN values are left out)."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(N_BINS, dtype=np.int64))
    min: float = math.inf
    max: float = -math.inf
    # The values themselves while there are at most EXACT_LIMIT of them (None past it).
    exact: np.ndarray | None = field(default_factory=lambda: np.empty(0))

    def update(self, values: np.ndarray) -> None:
        if not len(values):
            return
        low = float(np.min(values))
        if math.isnan(low):  # NaN values: left out
            values = values[~np.isnan(values)]
            if not len(values):
                return
            low = float(np.min(values))
        self.counts += np.bincount(bin_index(values), minlength=N_BINS)
        self.min, self.max = min(self.min, low), max(self.max, float(np.max(values)))
        if self.exact is not None:  # the values are kept (a copy, float64) while few
            self.exact = np.concatenate([self.exact, values]) if self.n <= EXACT_LIMIT else None

    def merge(self, other: Histogram) -> None:
        self.counts += other.counts
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        # Kept exactly when the union is small, whatever the chunks were.
        if self.exact is None or other.exact is None or self.n > EXACT_LIMIT:
            self.exact = None
        else:
            self.exact = np.concatenate([self.exact, other.exact])

    def to_state(self) -> dict[str, Any]:
        """The exact state for a saved state: filled bins and their counts, the ends (and
        the values themselves while they are kept) as hex floats."""
        filled = np.flatnonzero(self.counts)
        return {
            "bins": N_BINS,
            "filled": filled.tolist(),
            "counts": self.counts[filled].tolist(),
            "min": float(self.min).hex(),
            "max": float(self.max).hex(),
            "exact": None if self.exact is None else [float(v).hex() for v in self.exact],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Histogram:
        if state["bins"] != N_BINS:
            raise InputError(
                f"a saved histogram of {state['bins']} bins; this losscli keeps {N_BINS}"
            )
        out = cls()
        out.counts[np.asarray(state["filled"], dtype=np.int64)] = state["counts"]
        out.min, out.max = float.fromhex(state["min"]), float.fromhex(state["max"])
        exact = state["exact"]
        out.exact = None if exact is None else np.array([float.fromhex(v) for v in exact])
        return out

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def quantile(self, q: float) -> float:
        """The value of rank ⌊q·(n − 1)⌋ (0-based) among the sorted values, within α."""
        n = self.n
        if n == 0:
            return math.nan
        rank = math.floor(q * (n - 1))
        if self.exact is not None:
            return float(np.partition(self.exact, rank)[rank])
        if rank in (0, n - 1):  # the ends are kept exactly
            return self.min if rank == 0 else self.max
        index = int(np.searchsorted(np.cumsum(self.counts), rank, side="right"))
        return min(max(_representative(index), self.min), self.max)

    def finalize(self, groups: int = 20) -> Distribution | None:
        """Quantiles and a histogram of at most ``groups`` bars (None when empty)."""
        n = self.n
        if n == 0:
            return None
        quantiles = {f"p{round(q * 100)}": self.quantile(q) for q in QUANTILES}
        edges, counts = self._coarse(groups)
        return Distribution(n, self.min, self.max, quantiles, edges, counts)

    def _coarse(self, groups: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
        """Runs of neighbouring bins as at most ``groups`` bars, low to high. Exact zeros
        (and magnitudes below TINY) get a bar of their own; the bars left are shared by the
        negative and the positive values in proportion to the bins they span, at least one
        each (a rounded share that would pass ``groups`` bars in all is cut to what is left)."""
        filled = np.flatnonzero(self.counts)
        regions = (filled[filled < _K], filled[filled > _K])
        sides = [(int(r[0]), int(r[-1] - r[0]) + 1) for r in regions if len(r)]  # (first, span)
        total = sum(span for _, span in sides)
        cuts = [_K] if self.counts[_K] else []  # the zero bucket's own bar
        free = groups - len(cuts)
        room = free - len(sides) + 1  # what a side may take: one bar left for the next side
        for lo, span in sides:
            bars = max(1, min(round(free * span / total), room))  # past span: one per bin
            room += 1 - bars
            cuts += [int(c) for c in np.unique(np.linspace(lo, lo + span, bars + 1).round())[:-1]]
        cuts.sort()
        counts = np.add.reduceat(self.counts, cuts)
        inner = [min(max(bin_edges(c)[0], self.min), self.max) for c in cuts[1:]]
        return (self.min, *inner, self.max), tuple(int(c) for c in counts)
