"""Paired tests of two models on the same samples by resampling (``--test bootstrap`` and
``--test permutation``), next to the paired t-test of ``losscli.ci.compare``.

- ``bootstrap``: the paired bootstrap. Both models' sums are taken under the same Poisson
  resamples (a sample's weight depends on the seed and its key alone, see
  ``losscli.engine.resample``), and each replicate gives value(B) − value(A). The interval
  is the replicates' 2.5 and 97.5 percentiles; the p-value of H0 "difference = a" is
  2·min(#{Δ_b ≤ a} + 1, #{Δ_b ≥ a} + 1) / (B + 1).
- ``permutation``: paired approximate randomization. Each replicate swaps the two models'
  terms of each sample with probability 1/2 (a counter-based sign per sample, as above) and
  gives value(B) − value(A) under H0 "the models are exchangeable". The p-value compares
  the observed difference minus a with these replicates, two-sided as
  ``scipy.stats.permutation_test`` does; the interval inverts the test under a shift,
  [Δ − q_97.5, Δ − q_2.5].

Both accumulate B running sums in blocks (``ResampledSums``), so their memory is B per loss
whatever n, and they merge by addition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from losscli.engine.resample import (
    DEFAULT_SAMPLES,
    DEFAULT_SEED,
    Draw,
    ResampledSums,
    Resampler,
    paired_bootstrap,
    percentile_interval,
    sample_keys,
    sign_flips,
)
from losscli.errors import UsageError
from losscli.losses import Reduce
from losscli.stats import LEVEL, PAIRED, Difference, paired_difference

BOOTSTRAP = "paired bootstrap on shared Poisson resamples"
PERMUTATION = "paired approximate randomization (sign flips)"
_ROWS = 1 << 16  # samples fed to the running sums at a time


class TestMethod(StrEnum):
    T = "t"
    BOOTSTRAP = "bootstrap"
    PERMUTATION = "permutation"


@dataclass(frozen=True, slots=True)
class Testing:
    """``--test``, ``--bootstrap-samples`` and ``--seed`` of ``compare`` and ``check``."""

    method: TestMethod = TestMethod.T
    samples: int = DEFAULT_SAMPLES
    seed: int = DEFAULT_SEED

    @classmethod
    def of(cls, method: str | None, samples: int | None = None, seed: int | None = None) -> Testing:
        choices = [m.value for m in TestMethod]
        if method is not None and method not in choices:
            raise UsageError(f"--test must be one of {', '.join(choices)}, got {method!r}")
        if samples is not None and samples < 1:
            raise UsageError(f"--bootstrap-samples must be at least 1, got {samples}")
        if seed is not None and not 0 <= seed < 2**63:
            raise UsageError(f"--seed must be an integer in [0, 2^63), got {seed}")
        return cls(
            TestMethod(method or TestMethod.T),
            DEFAULT_SAMPLES if samples is None else samples,
            DEFAULT_SEED if seed is None else seed,
        )

    @property
    def name(self) -> str:
        """How the differences are tested, in words."""
        return {TestMethod.T: PAIRED, TestMethod.BOOTSTRAP: BOOTSTRAP}.get(self.method, PERMUTATION)

    def to_dict(self) -> dict[str, object]:
        resampled = self.method is not TestMethod.T
        return {
            "test": self.method.value,
            "bootstrap_samples": self.samples if resampled else None,
            "seed": self.seed if resampled else None,
        }


def _keys(keys: np.ndarray) -> np.ndarray:
    """Row numbers as they are; ids (text) hashed, as ``compute --ci bootstrap`` keys them."""
    if keys.dtype.kind in "iu":
        return sample_keys(keys, None)
    return sample_keys(keys, keys)


def _sums(keys: np.ndarray, x: np.ndarray, resampler: Resampler) -> np.ndarray:
    acc = ResampledSums(resampler, x.shape[1])
    for start in range(0, len(keys), _ROWS):
        acc.update(keys[start : start + _ROWS], x[start : start + _ROWS])
    return acc.finalize()[0]


def paired_test(
    keys: np.ndarray,
    a: tuple[np.ndarray, np.ndarray | None],
    b: tuple[np.ndarray, np.ndarray | None],
    reduce: Reduce,
    testing: Testing,
    *,
    exact: tuple[float, float] | None = None,
) -> Difference:
    """``value(B) − value(A)`` on the same (aligned) samples, tested as ``testing`` says."""
    t = paired_difference(a, b, reduce, exact=exact)
    if testing.method is TestMethod.T:
        return t
    n = len(keys)
    wa = np.ones(n) if a[1] is None else a[1]
    wb = np.ones(n) if b[1] is None else b[1]
    root = reduce is Reduce.SQRT_MEAN
    if testing.method is TestMethod.BOOTSTRAP:
        r = Resampler(testing.samples, testing.seed, Draw.POISSON)
        reps = paired_bootstrap(_sums(_keys(keys), np.column_stack([a[0], wa, b[0], wb]), r), root)
        low, high = percentile_interval(reps, LEVEL)
        return Difference(t.diff, _sd(reps), math.inf, low, high, n, BOOTSTRAP, replicates=reps)
    r = Resampler(testing.samples, testing.seed, Draw.SIGNS)
    flipped = _sums(_keys(keys), np.column_stack([b[0] - a[0], wb - wa]), r)
    totals = np.array([a[0].sum(), wa.sum(), b[0].sum(), wb.sum()])
    null = sign_flips(flipped, totals, root)
    q_low, q_high = percentile_interval(null, LEVEL)
    return Difference(
        t.diff, _sd(null), math.inf, t.diff - q_high, t.diff - q_low, n, PERMUTATION, null=null
    )


def _sd(replicates: np.ndarray) -> float:
    finite = replicates[np.isfinite(replicates)]
    return float(np.std(finite, ddof=1)) if len(finite) > 1 else math.nan
