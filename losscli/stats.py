"""Statistics without SciPy: Student's t distribution; paired, Welch and influence-based
differences for check and compare; intervals for the engine.

The tail probability is a regularised incomplete beta function (continued fraction, modified
Lentz's method), accurate to ~1e-14 against scipy.stats.t; quantiles are found by Newton
steps kept inside a bisection bracket.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

LEVEL = 0.95  # every interval losscli reports is a two-sided 95% interval
# Above this many degrees of freedom the t distribution is the normal one to ~1e-7.
_NORMAL_DF = 1e7
# Caps on iterations that always stop earlier: the continued fraction converges in at most
# 43 terms and the quantile search in at most 123 tail evaluations, over t from 1e-300 to
# 1e300, q from 5e-324 and df from 0.1 to 1e7 (tests/mutation/stats-and-numerics.md).
_MAX_TERMS = 100_000
_MAX_STEPS = 400
# The Stirling series of lgamma(x) after its leading terms, 1/(12x) − 1/(360x³) + 1/(1260x⁵),
# as (c, k) for 1/(c·xᵏ). A table: the last term moves a result of a ≥ 1000 by < 2e-21 (an ulp
# is 4.4e-16), so no test can see a change to it (tests/mutation/stats-and-numerics.md).
_STIRLING = ((12, 1), (-360, 3), (1260, 5))


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz's method)."""
    # Lentz's guard: a denominator that is exactly 0 becomes tiny. Each one is 1 plus a float
    # (1 − q, 1 + num·d, 1 + num/c), so it is either 0 or at least 2⁻⁵³ in size: "== 0" is
    # "within tiny of 0".
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d or tiny)
    h = d
    for m in range(1, _MAX_TERMS):
        m2 = 2 * m
        for num in (
            m * (b - m) * x / ((a + m2 - 1) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d or tiny)
            c = 1.0 + num / c
            c = c or tiny
            h *= c * d
        change, tol = abs(c * d - 1.0), 1e-15
        # c·d − 1 is a multiple of 2⁻⁵³ near 1 (or ≥ 1/2), never 1e-15: "<" is "<=" here
        if change < tol:  # pragma: no mutate
            break
    return h


def _log_gamma_ratio(a: float, b: float) -> float:
    """log(Γ(a + b) / Γ(a)), accurate for large a (lgamma's difference cancels there)."""
    if a < 1e3:
        return math.lgamma(a + b) - math.lgamma(a)

    def tail(x: float) -> float:  # Stirling series of lgamma(x) beyond its leading terms
        return sum(1 / (c * x**k) for c, k in _STIRLING)

    return (a - 0.5) * math.log1p(b / a) + b * math.log(a + b) - b + tail(a + b) - tail(a)


def _betainc(a: float, b: float, x: float, y: float, log_x: float, log_y: float) -> float:
    """Regularised incomplete beta I_x(a, b); ``y = 1 - x``, logs passed in to keep precision."""
    # x = 0 (t² overflows) or y = 0 (t²/ν underflows) need no special case: the log of x or y
    # is −inf there, so the front factor is exp(−inf) = 0, the fraction at 0 is 1, and
    # I is 0 or 1.
    log_front = _log_gamma_ratio(a, b) - math.lgamma(b) + a * log_x + b * log_y
    # The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
    switch = (a + 1.0) / (a + b + 2.0)
    if x < switch:  # pragma: no mutate  (at x == switch both forms give I_x: "<=" is the same)
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, y) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom (scipy.stats.t.sf)."""
    if math.isnan(t) or math.isnan(df) or df <= 0:
        return math.nan
    if df > _NORMAL_DF:
        return 0.5 * math.erfc(t / math.sqrt(2.0))
    if math.isinf(t):
        return float(np.signbit(t))  # P(T > inf) = 0, P(T > −inf) = 1
    t2 = t * t
    if t2 == 0:  # |t| < 1e-154: P(T > t) is 0.5 to double precision (density at 0 < 0.4)
        return 0.5
    # P(|T| > |t|) = I_x(df/2, 1/2) with x = df / (df + t²).
    x, y = df / (df + t2), t2 / (df + t2)
    # log x = −log1p(t²/ν); below ν = 1, t²/ν overflows before t² does: log ν − log t² there
    # (the log1p(ν/t²) it leaves out is below 1e-308)
    ratio = t2 / df
    log_x = -math.log1p(ratio) if ratio != math.inf else math.log(df) - math.log(t2)
    tail = 0.5 * _betainc(df / 2.0, 0.5, x, y, log_x, -math.log1p(df / t2))
    # The sign bit, not "t > 0": t is not 0 here, and a comparison with 0 would be one that
    # no input can tell from "t >= 0" (make mutation).
    return 1.0 - tail if np.signbit(t) else tail


def t_ppf(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t (scipy.stats.t.ppf): ±inf at q = 1 and 0, NaN
    outside [0, 1] or for df <= 0."""
    if math.isnan(q) or math.isnan(df) or df <= 0 or not 0.0 <= q <= 1.0:
        return math.nan
    if q == 0.5:
        return 0.0
    if df > _NORMAL_DF:
        return NormalDist().inv_cdf(q) if 0.0 < q < 1.0 else math.copysign(math.inf, q - 0.5)
    # The distribution is symmetric about 0: find t > 0 with P(T > t) = the smaller tail.
    upper = _upper_quantile(min(q, 1.0 - q), df)
    return math.copysign(upper, q - 0.5)


def _t_log_pdf(t: float, df: float) -> float:
    """The log density of Student's t: log Γ((ν+1)/2) − log Γ(ν/2) − log √(νπ)
    − (ν+1)/2 · log(1 + t²/ν) (a log: the density of a far tail underflows)."""
    log_norm = _log_gamma_ratio(df / 2.0, 0.5) - 0.5 * math.log(df * math.pi)
    ratio = (t / df) * t  # overflows before t² does below ν = 1: log t² − log ν there
    log_1p = math.log1p(ratio) if ratio != math.inf else 2.0 * math.log(abs(t)) - math.log(df)
    return log_norm - (df + 1.0) / 2.0 * log_1p


def _start(tail: float, df: float) -> float:
    """A first guess at the t > 0 with P(T > t) = tail: the normal quantile z with the first
    two Cornish–Fisher terms (z³ + z)/4ν + (5z⁵ + 16z³ + 3z)/96ν² (Abramowitz & Stegun
    26.7.5); close for large ν, a mere start for small ν."""
    # inv_cdf of the tail itself: 1 − tail is 1.0 (which inv_cdf refuses) below 1e-17.
    z = max(-NormalDist().inv_cdf(tail), 1e-3)
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df * df)


def _upper_quantile(tail: float, df: float) -> float:
    """The t > 0 with P(T > t) = tail, for tail in [0, 0.5): Newton steps on log P(T > t)
    (a step is log(sf/tail)·sf/pdf, which also walks heavy power-law tails quickly), kept
    inside a bracket [lo, hi] of the root and bisecting it when a step leaves it. About three
    tail evaluations for large ν instead of bisection's fifty: a thousand slices each need
    one quantile."""
    if tail == 0.0:
        return math.inf
    lo, hi = 0.0, math.inf
    t = _start(tail, df)
    for _ in range(_MAX_STEPS):
        sf = t_sf(t, df)
        if sf == tail:
            return t
        if sf > tail:  # pragma: no mutate  (sf == tail returned above: ">=" is the same)
            lo = t
        else:
            hi = t
        log_sf = math.log(sf) if sf > 0 else math.nan  # a NaN step: bisect
        step = (log_sf - math.log(tail)) * math.exp(log_sf - _t_log_pdf(t, df))
        # Near the root Newton doubles the correct digits: after a step of 1e-7·t, t is
        # exact to ~1e-14 (the Cornish–Fisher start is that close for ν above ~1,000).
        small = 1e-7 * t
        if abs(step) <= small:  # pragma: no mutate  (float equality: "<" ends one step later)
            return t + step
        new = t + step
        if not lo < new < hi:  # NaN steps too: bisect the bracket (or grow it)
            new = 0.5 * (lo + hi) if hi < math.inf else 2.0 * max(t, 1.0)
            if hi - lo <= 1e-15 * hi:
                return new
        t = new
    return t


def t95(n: int) -> float:
    """The two-sided 95% quantile of Student's t with n − 1 degrees of freedom (NaN if n < 2:
    t_ppf is NaN for df <= 0)."""
    return t_ppf(0.5 + LEVEL / 2, n - 1)


# --------------------------------------------------------------------------- differences


@dataclass(frozen=True, slots=True)
class Difference:
    """``value_B - value_A`` with its standard error and a two-sided 95% t interval."""

    diff: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    n: int  # paired samples (paired) or n_A + n_B (two-sample)
    method: str
    # Resampling tests (losscli.ci.paired): the paired bootstrap's replicates of the
    # difference, or the permutation test's replicates under H0 (no difference).
    replicates: np.ndarray | None = None
    null: np.ndarray | None = None

    @property
    def mde(self) -> float:
        """The smallest true difference this test would detect at 80% power (two-sided 5%)."""
        return detectable(self.se, self.df)

    def test(self, allowed: float = 0.0) -> Test:
        """Test H0: difference == ``allowed``; significant when the 95% interval excludes it."""
        if self.null is not None or self.replicates is not None:
            p = (
                tail_p(self.null, self.diff - allowed)
                if self.null is not None
                else tail_p(self.replicates, allowed)  # type: ignore[arg-type]
            )
            return Test(self, allowed, math.nan, p, self.ci_low > allowed)  # NaN > x is False
        if math.isnan(self.se) or math.isnan(self.diff):
            t, p = math.nan, math.nan
        elif self.se == 0:
            gap = self.diff - allowed
            t = math.copysign(math.inf, gap) if gap else math.nan
            p = 0.0 if gap else 1.0
        else:
            t = (self.diff - allowed) / self.se
            p = min(1.0, 2.0 * t_sf(abs(t), self.df))
        return Test(self, allowed, t, p, self.ci_low > allowed)  # False for a NaN ci_low


@dataclass(frozen=True, slots=True)
class Test:
    """A difference tested against an allowed value: ``above`` when significantly larger."""

    difference: Difference
    allowed: float
    t: float
    p_value: float  # two-sided
    above: bool
    p_holm: float = math.nan  # p adjusted by Holm over every test of the run (check)


def difference_interval(diff: float, se: float, df: float, n: int, method: str) -> Difference:
    """A difference with standard error ``se``: its two-sided 95% t interval on ``df``."""
    half = t_ppf(0.5 + LEVEL / 2, df) * se if se > 0 else (0.0 if se == 0 else math.nan)
    return Difference(diff, se, df, diff - half, diff + half, n, method)


PAIRED = "paired t-test on per-sample losses"
WELCH = "Welch two-sample t-test from n and std"


def welch_difference(
    value_a: float, std_a: float, n_a: int, value_b: float, std_b: float, n_b: int
) -> Difference:
    """``value_B - value_A`` of two independent samples known by value, std and n (Welch)."""
    va, vb = std_a * std_a / n_a, std_b * std_b / n_b
    se = math.sqrt(va + vb)
    if va + vb > 0:
        df = (va + vb) ** 2 / (va * va / (n_a - 1) + vb * vb / (n_b - 1))
    else:
        df = float(n_a + n_b - 2)
    return difference_interval(value_b - value_a, se, df, n_a + n_b, WELCH)


# --------------------------------------------------------------------------- several tests


def tail_p(replicates: np.ndarray, point: float) -> float:
    """Two-sided Monte Carlo p-value: 2·min(#{r ≤ point} + 1, #{r ≥ point} + 1) / (B + 1),
    at most 1, over the finite replicates (scipy.stats.permutation_test's randomised form,
    with its tolerance: a replicate within 100 ulps of ``point`` counts as a tie)."""
    finite = replicates[np.isfinite(replicates)]
    if not len(finite) or math.isnan(point):
        return math.nan
    tie = abs(point) * sys.float_info.epsilon * 100
    below = int((finite <= point + tie).sum()) + 1
    above = int((finite >= point - tie).sum()) + 1
    return min(1.0, 2.0 * min(below, above) / (len(finite) + 1))


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment of several p-values (family-wise error control).

    The i-th smallest of m p-values becomes max over j ≤ i of min(1, (m − j + 1)·p_(j));
    NaN p-values stay NaN and do not count in m.
    """
    ranked = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    out = [math.nan] * len(p_values)
    running, m = 0.0, len(ranked)
    for rank, (p, i) in enumerate(ranked):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


POWER = 0.8  # the power at which the minimum detectable effect is quoted


def detectable(se: float, df: float = math.inf) -> float:
    """The minimum detectable effect of a two-sided 5% test at 80% power:
    (t_{0.975, df} + t_{0.80, df})·SE (the normal quantiles 1.960 + 0.842 for infinite df)."""
    if math.isnan(se):
        return math.nan
    return (t_ppf(0.5 + LEVEL / 2, df) + t_ppf(POWER, df)) * se
