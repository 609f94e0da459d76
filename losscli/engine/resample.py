"""Counter-based resampling: Poisson bootstrap weights and random sign flips that depend only
on (seed, sample key, replicate), summed by accumulators that merge by addition.

A sample's key is its row number in the predictions file, or a hash of its id with
``--id-col``. Replicate ``b`` gives the sample the weight ``r_b = f(mix(key, seed), b)``:
nothing depends on which chunk, shard or process saw the sample, so every way of cutting
the data draws the same resamples, and two models evaluated on the same samples share them
(a paired bootstrap for free).

The generator is splitmix64's finaliser (a bijection on 64-bit integers, Steele, Lea and
Flood 2014) applied to ``base + (g + 1)·γ`` for the per-sample ``base = mix(key ^ seed)``:
one 64-bit hash per sample and group ``g`` of replicates. Poisson(1) weights use its four
16-bit lanes (four replicates per hash), each turned into a count by the inverse CDF:
``r = #{k ≥ 1 : u ≥ T_k}`` with ``T_k = round(2¹⁶·P(X ≤ k - 1))``, so every probability
is exact to 2⁻¹⁶ (counts 0 to 8). Sign flips use its 64 bits (64 replicates per hash).

The work is B × n weights however it is done; it is vectorised per block of ``2¹⁸ / B``
samples (a 2 MiB float64 weight matrix, cache-sized) and reduced by one matrix product per
block, so memory stays independent of B × n. Blocks follow the order in which samples
arrive, not the chunks they arrive in, so the sums are bitwise identical for any chunk size.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from losscli.engine.choices import DEFAULT_SAMPLES, DEFAULT_SEED

_BLOCK_ELEMENTS = 1 << 18  # weights per block: a 2 MiB float64 matrix

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # 2⁶⁴ / golden ratio, splitmix64's increment
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
# Streams of the same seed that must not share draws.
_STREAM = {"poisson": 0x5A17, "signs": 0x51C4}
# Conversions with a fixed dtype (module constants: mutmut leaves them alone, see
# tests/mutation/paired-resample-slices-state.md): keys, values and groups of samples.
_as_uint64 = functools.partial(np.asarray, dtype=np.uint64)
_as_float64 = functools.partial(np.asarray, dtype=np.float64)
_as_int64 = functools.partial(np.asarray, dtype=np.int64)
_zeros_int64 = functools.partial(np.zeros, dtype=np.int64)


def mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on a uint64 array (wraps modulo 2⁶⁴; a bijection)."""
    z = z ^ (z >> np.uint64(30))
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def _hash_text(ids: np.ndarray) -> np.ndarray:
    """FNV-1a over each id's UTF-32 code points (padding skipped), then mixed: uint64."""
    text = np.asarray(ids).astype(str)
    if text.size == 0:
        return np.empty(0, np.uint64)
    # one uint32 code point per column: a '<Uk' string takes 4·k bytes
    codes = text.view(np.uint32).reshape(len(text), text.itemsize // 4).astype(np.uint64)
    h = np.full(len(text), _FNV_OFFSET)  # uint64, the fill value's type
    for j in range(codes.shape[1]):
        c = codes[:, j]
        h = np.where(c != 0, (h ^ c) * _FNV_PRIME, h)
    return mix(h)


def sample_keys(rows: np.ndarray, ids: np.ndarray | None) -> np.ndarray:
    """Each sample's key: a hash of its id when there are ids, else its row number."""
    if ids is not None:
        return _hash_text(ids)
    return _as_uint64(rows)


def _poisson_thresholds() -> np.ndarray:
    """``T_k`` for k = 1, 2, ...: a 16-bit uniform u gives the count #{k : u ≥ T_k}."""
    out: list[int] = []
    cdf, k = 0.0, 0
    while True:
        cdf += math.exp(-1.0) / math.factorial(k)
        t = round(cdf * 65536)
        if t >= 65536:
            return np.array(out, dtype=np.uint16)
        out.append(t)
        k += 1


_THRESHOLDS = _poisson_thresholds()


class Draw(StrEnum):
    """What a replicate gives each sample: a Poisson(1) count or a random sign."""

    POISSON = "poisson"
    SIGNS = "signs"


@dataclass(frozen=True, slots=True)
class Resampler:
    """Replicate weights of samples from their keys: ``matrix(keys)[b, i]`` is sample i's
    weight in replicate b, the same for the same (seed, key, b) whatever else is drawn."""

    samples: int = DEFAULT_SAMPLES
    seed: int = DEFAULT_SEED
    draw: Draw = Draw.POISSON

    @property
    def block(self) -> int:
        """Samples per block: the weight matrix of a block has ~2¹⁸ entries."""
        return max(16, _BLOCK_ELEMENTS // max(self.samples, 1))

    def _hashes(self, keys: np.ndarray, per_hash: int) -> np.ndarray:
        """(groups, n) uint64: one hash per sample and group of ``per_hash`` replicates."""
        stream = (self.seed & 0xFFFFFFFFFFFFFFFF) ^ (_STREAM[self.draw] << 48)
        base = mix(keys.astype(np.uint64) ^ mix(np.array([stream], np.uint64)))
        groups = -(-self.samples // per_hash)
        counter = np.arange(1, groups + 1, dtype=np.uint64)[:, None] * _GAMMA
        return mix(base[None, :] + counter)

    def matrix(self, keys: np.ndarray) -> np.ndarray:
        """(samples, n) float64 weights of the samples with these keys."""
        n = len(keys)
        if self.draw is Draw.POISSON:
            hashes = self._hashes(keys, 4)
            lanes = hashes.astype("<u8").view("<u2").reshape(len(hashes), n, 4)
            count = (lanes >= _THRESHOLDS[0]).view(np.uint8)
            for t in _THRESHOLDS[1:]:
                count += (lanes >= t).view(np.uint8)
            # replicate 4g + q is lane q of hash g
            out = np.ascontiguousarray(count.transpose(0, 2, 1), dtype=np.float64)
        else:
            hashes = self._hashes(keys, 64)
            octets = hashes.astype("<u8").view(np.uint8).reshape(len(hashes), n, 8)
            bits = np.unpackbits(octets, axis=2, bitorder="little")  # (groups, n, 64)
            out = 1.0 - 2.0 * np.ascontiguousarray(bits.transpose(0, 2, 1), dtype=np.float64)
        # (groups, per hash, n) → (replicates, n): replicate g·(per hash) + q is out[g, q]
        return out.reshape(out.shape[0] * out.shape[1], n)[: self.samples]


@dataclass
class ResampledSums:
    """B running sums ``Σ_i r_bi · x_ij`` of each column j of per-sample values, per group.

    ``update`` takes each sample's key, its row of ``columns`` values and, optionally, its
    group (a class or a slice, 0 ≤ group < ``groups``); ``finalize`` returns the sums as a
    (groups, B, columns) array. Samples are processed in blocks of ``resampler.block`` in the
    order they arrive, so the sums do not depend on how the rows were cut into chunks;
    ``merge`` adds another accumulator's sums (equal to one pass up to rounding).
    """

    resampler: Resampler
    columns: int
    groups: int = 1
    sums: np.ndarray = field(init=False)
    _keys: list[np.ndarray] = field(init=False, default_factory=list)
    _x: list[np.ndarray] = field(init=False, default_factory=list)
    _group: list[np.ndarray] = field(init=False, default_factory=list)
    _pending: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.sums = np.zeros((self.groups, self.resampler.samples, self.columns))

    def update(self, keys: np.ndarray, x: np.ndarray, group: np.ndarray | None = None) -> None:
        """Add samples: ``keys`` (n,), ``x`` (n, columns), ``group`` (n,) ints or None."""
        x = _as_float64(x).reshape(len(keys), self.columns)
        self._keys.append(_as_uint64(keys))
        self._x.append(x)
        self._group.append(_zeros_int64(len(keys)) if group is None else _as_int64(group))
        self._pending += len(keys)
        if self._pending >= self.resampler.block:
            self._drain(final=False)

    def _drain(self, final: bool) -> None:
        keys, x, group = (np.concatenate(p) for p in (self._keys, self._x, self._group))
        block = self.resampler.block
        end = len(keys) if final else len(keys) - len(keys) % block
        for start in range(0, end, block):
            stop = min(start + block, end)
            self._add(keys[start:stop], x[start:stop], group[start:stop])
        rest = keys[end:]
        self._keys, self._x, self._group = [rest], [x[end:]], [group[end:]]
        self._pending = len(rest)

    def _add(self, keys: np.ndarray, x: np.ndarray, group: np.ndarray) -> None:
        weights = self.resampler.matrix(keys)
        if self.groups == 1:
            self.sums[0] += weights @ x
            return
        for g in np.unique(group):
            sel = group == g
            self.sums[g] += weights[:, sel] @ x[sel]

    def merge(self, other: ResampledSums) -> None:
        """Add another accumulator's samples (same resampler, columns and groups)."""
        if (other.resampler, other.columns, other.groups) != (
            self.resampler,
            self.columns,
            self.groups,
        ):
            raise ValueError("cannot merge resampled sums of different shapes or seeds")
        self.finalize()
        self.sums += other.finalize()

    def finalize(self) -> np.ndarray:
        """The (groups, B, columns) sums over every sample added so far."""
        if self._pending:
            self._drain(final=True)
        return self.sums


@dataclass
class GrowingSums(ResampledSums):
    """``ResampledSums`` whose groups are numbered as they come (``--group-by`` slices):
    the sums grow with the largest group seen. Within a block, each group's sums are one
    ``np.add.reduceat`` over the samples sorted by group, so a thousand groups cost no
    Python loop per group."""

    def _add(self, keys: np.ndarray, x: np.ndarray, group: np.ndarray) -> None:
        if not len(keys):
            return
        self.grow(int(group.max()) + 1)
        order = np.argsort(group, kind="stable")
        g = group[order]
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        weights = self.resampler.matrix(keys[order])  # (B, m)
        for j in range(self.columns):
            self.sums[g[starts], :, j] += np.add.reduceat(weights * x[order, j], starts, axis=1).T

    def grow(self, groups: int) -> None:
        """Room for groups 0..groups-1."""
        if groups > self.groups:
            extra = np.zeros((groups - self.groups, *self.sums.shape[1:]))
            self.sums = np.concatenate([self.sums, extra])
            self.groups = groups

    def merge_at(self, other: GrowingSums, at: np.ndarray) -> None:
        """Add another's sums, its group j to this one's group ``at[j]``."""
        theirs = other.finalize()
        self.finalize()
        self.grow(int(at.max()) + 1 if len(at) else 0)
        np.add.at(self.sums, at, theirs[: len(at)])


def percentile_interval(replicates: np.ndarray, level: float) -> tuple[float, float]:
    """The percentile interval of the finite replicates (linear quantiles), as
    ``scipy.stats.bootstrap(method="percentile")`` forms it; NaN when none is finite."""
    finite = replicates[np.isfinite(replicates)]
    if not len(finite):
        return math.nan, math.nan
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return float(low), float(high)


def ratio_replicates(num: np.ndarray, den: np.ndarray, root: bool = False) -> np.ndarray:
    """Each replicate's Σ r·v / Σ r·w (NaN for a replicate with no weight), or its root."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(den > 0, num / den, np.nan)
        return np.sqrt(np.where(ratio >= 0, ratio, np.nan)) if root else ratio


def paired_bootstrap(sums: np.ndarray, root: bool = False) -> np.ndarray:
    """value(B) − value(A) in each shared resample, from (B, 4) sums of (v_A, w_A, v_B, w_B)."""
    return ratio_replicates(sums[:, 2], sums[:, 3], root) - ratio_replicates(
        sums[:, 0], sums[:, 1], root
    )


def sign_flips(flipped: np.ndarray, totals: np.ndarray, root: bool = False) -> np.ndarray:
    """value(B) − value(A) when each sample's two models are swapped at random.

    ``flipped`` are the (B, 2) sums Σ s·(v_B − v_A) and Σ s·(w_B − w_A) for signs s = ±1
    (+1 keeps the pair, −1 swaps it); ``totals`` are Σ v_A, Σ w_A, Σ v_B, Σ w_B. With a swap,
    model B's sums are (T_A + T_B)/2 + Σ s·(x_B − x_A)/2 and model A's the rest.
    """
    mid_v, mid_w = (totals[0] + totals[2]) / 2, (totals[1] + totals[3]) / 2
    dv, dw = flipped[:, 0] / 2, flipped[:, 1] / 2
    return ratio_replicates(mid_v + dv, mid_w + dw, root) - ratio_replicates(
        mid_v - dv, mid_w - dw, root
    )
