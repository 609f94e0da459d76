"""How a loss's 95% interval is made: Student-t (the default) or a seeded Poisson bootstrap.

- ``t``: the Student-t interval of the mean (n − 1 df; for RMSE the root of the mean's
  bounds), cut at 0 for a loss that is never negative (``LossDef.nonnegative``), so the
  interval never leaves the loss's range. Costs nothing at any n.
- ``bootstrap``: percentile interval of B Poisson-bootstrap replicates (see
  ``losscli.engine.resample``); a replicate's value is Σ r·v / Σ r·w (its root for RMSE; for
  ``--reduction sum``, n times the replicate's mean, n held fixed as the t interval holds
  it). Replicates with no weight at all (likely only for tiny n) are left out. A percentile
  interval lies within the range of the replicates, so within the loss's range.
  ``LossBootstrap`` accumulates it overall and per true class; ``--group-by`` slices keep
  the same replicate sums per slice (``losscli.engine.slices``): each slice's interval comes
  from the very replicate weights of the overall one, restricted to the slice's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from losscli.engine.choices import CiMethod
from losscli.engine.resample import (
    DEFAULT_SAMPLES,
    DEFAULT_SEED,
    ResampledSums,
    Resampler,
    percentile_interval,
    ratio_replicates,
    sample_keys,
)
from losscli.errors import UsageError
from losscli.interpret.plan import Batch
from losscli.losses import PerSample, Reduce
from losscli.stats import LEVEL


@dataclass(frozen=True, slots=True)
class Intervals:
    """``--ci``, ``--bootstrap-samples`` and ``--seed``: how every interval is made."""

    method: CiMethod = CiMethod.T
    samples: int = DEFAULT_SAMPLES
    seed: int = DEFAULT_SEED
    level: float = LEVEL

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise UsageError(f"--bootstrap-samples must be at least 1, got {self.samples}")
        if not 0 <= self.seed < 2**64:
            raise UsageError(f"--seed must be an integer in [0, 2^64), got {self.seed}")

    @classmethod
    def of(cls, method: str, samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED) -> Intervals:
        """From the option values as given (``--ci``, ``--bootstrap-samples``, ``--seed``)."""
        choices = [m.value for m in CiMethod]
        if method not in choices:
            raise UsageError(f"--ci must be one of {', '.join(choices)}, got {method!r}")
        return cls(CiMethod(method), samples, seed)

    def signature(self) -> str | None:
        """The signature's ``ci`` field: the bootstrap's draws (None for t, the default)."""
        if self.method is CiMethod.T:
            return None
        return f"bootstrap(b={self.samples},seed={self.seed})"

    def resampler(self) -> Resampler:
        return Resampler(self.samples, self.seed)


def clip_to_range(low: float, high: float, nonnegative: bool) -> tuple[float, float]:
    """An interval cut to the loss's range: [0, ∞) for a non-negative loss."""
    if not nonnegative:
        return low, high
    # max keeps its first argument unless a later one compares greater: NaN stays NaN.
    return max(low, 0.0), max(high, 0.0)


def _pooled_by_class(
    raw: PerSample, classes: np.ndarray, n: int, n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (sample, class) pair present: Σ values and Σ weights of the sample's positions of
    that class (dense maps), as (pair index = sample·C + class, values, weights)."""
    weights = np.ones(len(raw.values)) if raw.weights is None else raw.weights
    sample = np.repeat(np.arange(n), len(raw.values) // n)
    keep = (classes >= 0) & (classes < n_classes)
    pair = sample[keep] * n_classes + classes[keep]
    # Indexed only at the pairs present, so no room is made for pairs past the last one.
    counted = np.bincount(pair) > 0
    v = np.bincount(pair, weights=raw.values[keep])
    w = np.bincount(pair, weights=weights[keep])
    idx = np.flatnonzero(counted)
    return idx, v[idx], w[idx]


def sums_interval(
    sums: np.ndarray, i: int, reduce: Reduce, reduction: str, n: float, level: float
) -> tuple[float, float]:
    """Loss ``i``'s percentile interval from (B, 2·losses + 1) replicate sums laid out as
    ``LossBootstrap`` lays them out: Σ r·v and Σ r·w per loss, then Σ r; ``n`` samples."""
    num, den = sums[:, 2 * i], sums[:, 2 * i + 1]
    if reduction == "sum":
        replicates = n * ratio_replicates(num, sums[:, -1])
    else:
        replicates = ratio_replicates(num, den, root=reduce is Reduce.SQRT_MEAN)
    return percentile_interval(replicates, level)


def replicate_columns(terms: list[PerSample], n: int) -> np.ndarray:
    """The (n, 2·losses + 1) columns resampled for ``terms``: v and w of each loss, then 1."""
    cols = []
    for t in terms:
        cols += [t.values, np.ones(n) if t.weights is None else t.weights]
    return np.column_stack([*cols, np.ones(n)])


@dataclass
class LossBootstrap:
    """Poisson-bootstrap sums of every loss: Σ r·v and Σ r·w per loss, and Σ r (samples),
    overall and, with ``n_classes``, per true class (a dense map's positions of one class
    count as one sample of that class, resampled with their image)."""

    intervals: Intervals
    n_losses: int
    n_classes: int = 0
    overall: ResampledSums = field(init=False)
    by_class: ResampledSums | None = field(init=False)
    n: int = 0

    def __post_init__(self) -> None:
        r, cols = self.intervals.resampler(), 2 * self.n_losses + 1
        self.overall = ResampledSums(r, cols)
        self.by_class = ResampledSums(r, cols, self.n_classes) if self.n_classes else None

    def update(
        self, batch: Batch, terms: list[PerSample], by_class: list[tuple[PerSample, np.ndarray]]
    ) -> None:
        """One chunk: per loss its pooled terms and, for --by-class, its raw terms with each
        sample's (or position's) true class."""
        keys = sample_keys(batch.rows, batch.ids)
        n = len(keys)
        self.overall.update(keys, replicate_columns(terms, n))
        self.n += n
        if self.by_class is None or not by_class:
            return
        parts = [_pooled_by_class(raw, cls, n, self.n_classes) for raw, cls in by_class]
        pairs = np.unique(np.concatenate([p[0] for p in parts]))
        # Σ r·v and Σ r·w per loss (filled below), then a column of ones (Σ r).
        x = np.column_stack([np.zeros((len(pairs), 2 * self.n_losses)), np.ones(len(pairs))])
        for i, (idx, v, w) in enumerate(parts):
            at = np.searchsorted(pairs, idx)
            x[at, 2 * i], x[at, 2 * i + 1] = v, w
        self.by_class.update(keys[pairs // self.n_classes], x, pairs % self.n_classes)

    def merge(self, other: LossBootstrap) -> None:
        self.overall.merge(other.overall)
        if self.by_class is not None and other.by_class is not None:
            self.by_class.merge(other.by_class)
        self.n += other.n

    def interval(self, i: int, reduce: Reduce, reduction: str) -> tuple[float, float]:
        """Loss ``i``'s percentile interval."""
        sums = self.overall.finalize()[0]
        return sums_interval(sums, i, reduce, reduction, self.n, self.intervals.level)

    def class_intervals(self, i: int) -> list[tuple[float, float]]:
        """Loss ``i``'s percentile interval of the mean in each true class."""
        if self.by_class is None:
            return []
        sums = self.by_class.finalize()
        return [
            percentile_interval(
                ratio_replicates(sums[c, :, 2 * i], sums[c, :, 2 * i + 1]), self.intervals.level
            )
            for c in range(self.n_classes)
        ]
