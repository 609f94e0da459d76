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
from dataclasses import dataclass, field

import numpy as np

from losscli.ci.choices import TestMethod
from losscli.engine.paired import PairedMoments, Terms, paired_terms
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
from losscli.stats import LEVEL, PAIRED, Difference

BOOTSTRAP = "paired bootstrap on shared Poisson resamples"
PERMUTATION = "paired approximate randomization (sign flips)"
_ROWS = 1 << 16  # samples fed to the running sums at a time


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


def paired_test(
    keys: np.ndarray,
    a: tuple[np.ndarray, np.ndarray | None],
    b: tuple[np.ndarray, np.ndarray | None],
    reduce: Reduce,
    testing: Testing,
    *,
    exact: tuple[float, float] | None = None,
) -> Difference:
    """``value(B) − value(A)`` on the same (aligned) samples held in memory, tested as
    ``testing`` says: ``PairedStats`` fed in blocks."""
    stats = PairedStats(testing)
    for start in range(0, len(keys), _ROWS):
        cut = slice(start, start + _ROWS)
        stats.update(
            keys[cut],
            (a[0][cut], None if a[1] is None else a[1][cut]),
            (b[0][cut], None if b[1] is None else b[1][cut]),
        )
    return stats.finalize(reduce, exact=exact)


def _resampled(t: Difference, testing: Testing, n: int, replicates: np.ndarray) -> Difference:
    """The test's difference from its B replicates (bootstrap ones, or permutation nulls)."""
    low, high = percentile_interval(replicates, LEVEL)
    if testing.method is TestMethod.BOOTSTRAP:
        return Difference(
            t.diff, _sd(replicates), math.inf, low, high, n, BOOTSTRAP, replicates=replicates
        )
    return Difference(
        t.diff,
        _sd(replicates),
        math.inf,
        t.diff - high,
        t.diff - low,
        n,
        PERMUTATION,
        null=replicates,
    )


@dataclass
class PairedStats:
    """Model B against model A on one loss, streamed: ``update`` with each chunk of aligned
    samples, ``merge`` another part, ``finalize`` the tested difference.

    The paired moments give the t-test (``losscli.engine.paired.PairedMoments``); the
    resampling tests add B running sums keyed by sample (``ResampledSums``: the Poisson
    weights of (v_A, w_A, v_B, w_B), or the random signs of (v_B − v_A, w_B − w_A)), so
    memory is B per loss whatever the number of samples, and parts merge by addition.
    Every test losscli offers is of this kind; none needs all samples at once.
    """

    testing: Testing = field(default_factory=Testing)
    moments: PairedMoments = field(default_factory=PairedMoments)
    sums: ResampledSums | None = None

    def __post_init__(self) -> None:
        method = self.testing.method
        if self.sums is None and method is not TestMethod.T:
            draw = Draw.POISSON if method is TestMethod.BOOTSTRAP else Draw.SIGNS
            resampler = Resampler(self.testing.samples, self.testing.seed, draw)
            self.sums = ResampledSums(resampler, 4 if draw is Draw.POISSON else 2)

    def update(
        self,
        keys: np.ndarray,
        a: Terms,
        b: Terms,
        shown: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Add aligned samples: their keys (row numbers or ids), each model's terms and own
        losses."""
        self.moments.update(a, b, shown)
        if self.sums is None or not len(keys):
            return
        va, wa, vb, wb = paired_terms(a, b)
        if self.testing.method is TestMethod.BOOTSTRAP:
            self.sums.update(_keys(keys), np.column_stack([va, wa, vb, wb]))
        else:
            self.sums.update(_keys(keys), np.column_stack([vb - va, wb - wa]))

    def merge(self, other: PairedStats) -> None:
        self.moments.merge(other.moments)
        if self.sums is not None and other.sums is not None:
            self.sums.merge(other.sums)

    def finalize(self, reduce: Reduce, *, exact: tuple[float, float] | None = None) -> Difference:
        """``value(B) − value(A)`` tested as ``testing`` says (``exact``: the reported values)."""
        t = self.moments.finalize(reduce, exact=exact)
        if self.sums is None:
            return t
        root = reduce is Reduce.SQRT_MEAN
        sums = self.sums.finalize()[0]
        if self.testing.method is TestMethod.BOOTSTRAP:
            return _resampled(t, self.testing, self.moments.n, paired_bootstrap(sums, root))
        null = sign_flips(sums, self.moments.totals, root)
        return _resampled(t, self.testing, self.moments.n, null)


def _sd(replicates: np.ndarray) -> float:
    finite = replicates[np.isfinite(replicates)]
    return float(np.std(finite, ddof=1)) if len(finite) > 1 else math.nan
