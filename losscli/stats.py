"""Student's t distribution without SciPy: intervals for the engine, tests for check/compare.

The tail probability is a regularised incomplete beta function (continued fraction, modified
Lentz's method), accurate to ~1e-14 against scipy.stats.t; quantiles are found by bisection.
"""

from __future__ import annotations

import math
from statistics import NormalDist

LEVEL = 0.95  # every interval losscli reports is a two-sided 95% interval
# Above this many degrees of freedom the t distribution is the normal one to ~1e-7.
_NORMAL_DF = 1e7


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for num in (
            m * (b - m) * x / ((a + m2 - 1) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return h


def _log_gamma_ratio(a: float, b: float) -> float:
    """log(Γ(a + b) / Γ(a)), accurate for large a (lgamma's difference cancels there)."""
    if a < 1e3:
        return math.lgamma(a + b) - math.lgamma(a)

    def tail(x: float) -> float:  # Stirling series of lgamma(x) beyond its leading terms
        return 1 / (12 * x) - 1 / (360 * x**3) + 1 / (1260 * x**5)

    return (a - 0.5) * math.log1p(b / a) + b * math.log(a + b) - b + tail(a + b) - tail(a)


def _betainc(a: float, b: float, x: float, y: float, log_x: float, log_y: float) -> float:
    """Regularised incomplete beta I_x(a, b); ``y = 1 - x``, logs passed in to keep precision."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_front = _log_gamma_ratio(a, b) - math.lgamma(b) + a * log_x + b * log_y
    # The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, y) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom (scipy.stats.t.sf)."""
    if math.isnan(t) or math.isnan(df):
        return math.nan
    if df > _NORMAL_DF:
        return 0.5 * math.erfc(t / math.sqrt(2.0))
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    if t == 0:
        return 0.5
    t2 = t * t
    # P(|T| > |t|) = I_x(df/2, 1/2) with x = df / (df + t²).
    x, y = df / (df + t2), t2 / (df + t2)
    tail = 0.5 * _betainc(df / 2.0, 0.5, x, y, -math.log1p(t2 / df), -math.log1p(df / t2))
    return tail if t > 0 else 1.0 - tail


def t_ppf(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t, for q in (0.5, 1) (scipy.stats.t.ppf)."""
    if math.isnan(df):
        return math.nan
    if df > _NORMAL_DF:
        return NormalDist().inv_cdf(q)
    target = 1.0 - q
    lo, hi = 0.0, 2.0
    while t_sf(hi, df) > target:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_sf(mid, df) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return 0.5 * (lo + hi)


def t95(n: int) -> float:
    """The two-sided 95% quantile of Student's t with n − 1 degrees of freedom (NaN if n < 2)."""
    return t_ppf(0.5 + LEVEL / 2, n - 1) if n > 1 else float("nan")
