"""losscli.stats against scipy.stats over the whole range its callers can reach.

Expected values come from scipy.stats.t / scipy.stats.norm (SciPy, installed by the test
extras; the versions of the reference environment are in tests/reference/README.md), and for
df = 1 and 2 from the closed forms of the t distribution, which are exact:

    df = 1 (Cauchy):  P(T > t) = 1/2 − atan(t)/π
    df = 2:           P(T > t) = 1/2 − t / (2·sqrt(2 + t²))

(SciPy 1.17 itself is off by 3e-9 relative at df = 1, t = 1e-8, where the closed form is exact.)
Degrees of freedom run from 1 to 1e9 and infinity, across the switch to the normal
distribution above 1e7 (the streaming case: intervals of the mean of millions of rows);
p-values from 1e-300 to 1 − 1e-15; NaN and infinite inputs give what SciPy gives.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy import stats as sps

from losscli.stats import _beta_fraction, _log_gamma_ratio, t_ppf, t_sf

BETA_DFS = [1, 1.5, 2, 3, 4.5, 10, 30, 100, 1e3, 1e4, 1e5, 1e6, 9.99e6, 1e7]
NORMAL_DFS = [1.0000001e7, 2e7, 1e8, 1e9]
TS = [-1e6, -50, -10, -3, -1.96, -1, -0.1, -1e-8, 0, 1e-300, 1e-8, 0.1, 1, 1.96, 3, 10, 37, 1e3]


def exact_sf(t: float, df: float) -> float | None:
    """The closed forms above, or None where there is none."""
    if df == 1:
        return 0.5 - math.atan(t) / math.pi
    if df == 2:
        return 0.5 - t / (2 * math.sqrt(2 + t * t))
    return None


def close(got: float, expected: float, rel: float, abs_: float = 0.0) -> bool:
    return abs(got - expected) <= max(rel * abs(expected), abs_)


@pytest.mark.parametrize("df", BETA_DFS)
def test_t_sf_matches_scipy_up_to_1e7_df(df: float) -> None:
    """The incomplete-beta branch: 1e-9 relative, in both tails (p near 0 and near 1)."""
    for t in TS:
        exact = exact_sf(t, df)
        expected = exact if exact is not None else float(sps.t.sf(t, df))
        got = t_sf(t, df)
        assert close(got, expected, rel=1e-9, abs_=1e-300), (t, df, got, expected)
        # P(T > -t) = 1 − P(T > t): the two tails agree with each other too
        assert close(t_sf(-t, df), 1.0 - expected, rel=1e-9, abs_=1e-15), (t, df)


@pytest.mark.parametrize("df", NORMAL_DFS)
def test_t_sf_above_1e7_df_is_the_t_distribution_to_1e_7(df: float) -> None:
    """The normal branch: within 1e-7 of SciPy's t everywhere (ARCHITECTURE: ~1e-7), and
    within the first term of the t distribution's expansion around the normal one,
    φ(t)·(t³ + t) / (4·df) (Abramowitz & Stegun 26.7.5), in both tails."""
    for t in TS:
        expected = float(sps.t.sf(t, df))
        got = t_sf(t, df)
        assert abs(got - expected) <= 1e-7, (t, df, got, expected)
        gap = float(sps.norm.pdf(t)) * abs(t**3 + t) / (4 * df)
        assert abs(got - expected) <= 1.1 * gap + 1e-15 * expected, (t, df, got, expected)


def test_t_sf_at_infinite_df_is_the_normal_tail() -> None:
    for t in TS:
        expected = float(sps.norm.sf(t))
        assert close(t_sf(t, math.inf), expected, rel=1e-13, abs_=1e-300), t
        # and agrees with SciPy's t at df = inf
        assert close(t_sf(t, math.inf), float(sps.t.sf(t, math.inf)), rel=1e-12, abs_=1e-300)


@pytest.mark.parametrize("df", [1, 3.5, 1e5, 1e7, 2e7, 1e9, math.inf, 0, -2, math.nan])
@pytest.mark.parametrize("t", [math.inf, -math.inf, math.nan])
def test_t_sf_of_non_finite_inputs(t: float, df: float) -> None:
    expected = float(sps.t.sf(t, df))
    got = t_sf(t, df)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected, (t, df, got, expected)


@pytest.mark.parametrize("df", [0, -1, -1e9, math.nan])
def test_t_sf_of_invalid_df_is_nan_as_in_scipy(df: float) -> None:
    assert math.isnan(float(sps.t.sf(1.0, df)))
    assert math.isnan(t_sf(1.0, df))


def test_t_sf_of_a_t_too_small_to_square() -> None:
    """t² underflows to 0 below 1e-154; P(T > t) is 1/2 there (SciPy: 0.5 exactly)."""
    for t in (1e-200, -1e-170, 5e-324):
        for df in (1, 5, 1e9):
            assert t_sf(t, df) == float(sps.t.sf(t, df)) == 0.5


QS = [1e-300, 1e-15, 1e-6, 0.025, 0.3, 0.4999999, 0.5, 0.5000001, 0.6, 0.9, 0.975, 0.995]
QS += [1 - 1e-6, 1 - 1e-10, 1 - 1e-15]


@pytest.mark.parametrize("df", BETA_DFS)
def test_t_ppf_matches_scipy_up_to_1e7_df(df: float) -> None:
    for q in QS:
        if df < 3 and q < 1e-100:
            continue  # |t| > 1e150 there: t² overflows; no caller asks for such a quantile
        expected = float(sps.t.ppf(q, df))
        got = t_ppf(q, df)
        assert close(got, expected, rel=1e-9, abs_=1e-300), (q, df, got, expected)


@pytest.mark.parametrize("df", [*NORMAL_DFS, math.inf])
def test_t_ppf_above_1e7_df(df: float) -> None:
    """Normal quantiles z: within the first Cornish-Fisher term (z³ + z) / (4·df) of SciPy's
    t quantile (Abramowitz & Stegun 26.7.5), exact at df = inf."""
    for q in QS:
        expected = float(sps.t.ppf(q, df))
        got = t_ppf(q, df)
        gap = (abs(got) ** 3 + abs(got)) / (4 * df)
        assert abs(got - expected) <= 1.1 * gap + 1e-14 * abs(expected), (q, df, got, expected)


@pytest.mark.parametrize("df", [1, 10, 1e5, 1e7, 1e9, math.inf, 0, -3, math.nan])
@pytest.mark.parametrize("q", [0.0, 1.0, -0.1, 1.5, math.nan, math.inf, -math.inf])
def test_t_ppf_at_the_ends_and_outside_0_1(q: float, df: float) -> None:
    expected = float(sps.t.ppf(q, df))
    got = t_ppf(q, df)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected, (q, df, got, expected)


@pytest.mark.parametrize("df", [1, 2.5, 29, 1e6, 1e7, 5e8])
def test_t_ppf_inverts_t_sf(df: float) -> None:
    for q in (0.6, 0.9, 0.975, 0.9995):
        assert t_sf(t_ppf(q, df), df) == pytest.approx(1 - q, rel=1e-9)
        assert t_ppf(1 - q, df) == -t_ppf(q, df)


def test_t_sf_where_the_beta_arguments_underflow() -> None:
    """x = df / (df + t²) is 0 once t² overflows (|t| > 1.3e154), and y = t² / (df + t²) is 0
    when t² / df is below the smallest float: SciPy gives 0 and 1/2 there."""
    for df in (1, 5, 1e7):
        assert t_sf(1e200, df) == float(sps.t.sf(1e200, df)) == 0.0
        assert t_sf(-1e200, df) == float(sps.t.sf(-1e200, df)) == 1.0
    # t² = 1e-320 (subnormal, not 0), y = 1e-327 → 0
    assert t_sf(1e-160, 1e7) == float(sps.t.sf(1e-160, 1e7)) == 0.5


# Equivalent mutants of losscli/stats.py (make mutation), each with why no input tells it apart:
# tests/mutation/stats-and-numerics.md.


def test_t_ppf_takes_a_few_newton_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each --group-by slice needs a t quantile: Newton steps from the Cornish–Fisher start
    evaluate the tail two or three times where bisection took fifty (a count, not a time)."""
    import losscli.stats as stats

    calls = []
    real = stats.t_sf

    def counted(t: float, df: float) -> float:
        calls.append(t)
        return real(t, df)

    monkeypatch.setattr(stats, "t_sf", counted)
    for df in (30, 99, 999, 9_999, 99_999):
        calls.clear()
        assert stats.t_ppf(0.975, df) == pytest.approx(float(sps.t.ppf(0.975, df)), rel=1e-10)
        assert len(calls) <= 4, (df, len(calls))


@pytest.mark.parametrize("df", [3, 10, 1e3, 1e6])
def test_t_ppf_of_a_tail_below_1e_17(df: float) -> None:
    """1 − q rounds to 1.0 below q ≈ 1e-17, where the normal start of the search used to ask
    NormalDist for inv_cdf(1.0) (StatisticsError); SciPy's quantiles there."""
    for q in (1e-20, 1e-100):
        expected = float(sps.t.ppf(q, df))
        assert close(t_ppf(q, df), expected, rel=1e-12), (q, df)


def test_t_ppf_takes_one_tail_evaluation_from_1000_df(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Cornish–Fisher start is within Newton's stopping step (1e-7·t) of the root when the
    next term of the expansion, (3z⁷ + 19z⁵ + 17z³ − 15z) / (384ν³) (A&S 26.7.5), is below it:
    at ν = 1000 and z ≤ 3.3 (q ≤ 0.9995) it is 5e-8 < 3.3e-7, and at ν = 300, z ≤ 1.96
    (q ≤ 0.975) it is 3.5e-8 < 2e-7; so one tail evaluation gives the quantile."""
    import losscli.stats as stats

    calls: list[float] = []
    real = stats.t_sf

    def counted(t: float, df: float) -> float:
        calls.append(t)
        return real(t, df)

    monkeypatch.setattr(stats, "t_sf", counted)
    cases = [(df, q) for df in (1e3, 1e4, 1e6) for q in (0.6, 0.8, 0.9, 0.975, 0.995, 0.9995)]
    cases += [(300, q) for q in (0.6, 0.8, 0.9, 0.975)]
    for df, q in cases:
        calls.clear()
        assert stats.t_ppf(q, df) == pytest.approx(float(sps.t.ppf(q, df)), rel=1e-10)
        assert len(calls) == 1, (df, q, len(calls))


STATS_CASES = json.loads(
    (Path(__file__).resolve().parent / "reference" / "stats_cases.json").read_text()
)


@pytest.mark.parametrize("case", STATS_CASES["log_gamma_ratio"], ids=lambda c: f"a={c['a']}")
def test_log_gamma_ratio_is_within_a_few_ulps_from_1000(case: dict[str, float]) -> None:
    """log(Γ(a + ½) / Γ(a)) from a = 1000 (ν = 2000) by the Stirling series: within 6e-16
    (about 4 ulps of ~3.5) of mpmath's 50-digit value (tests/reference/generate_stats.py),
    where lgamma's difference loses ~3e-13 to cancellation."""
    got = _log_gamma_ratio(case["a"], case["b"])
    assert abs(got - case["value"]) <= 6e-16 * abs(case["value"]), (case, got)


@pytest.mark.parametrize("df", [5, 100])
def test_t_ppf_of_the_smallest_subnormal_tail(df: float) -> None:
    """q = 5e-324: the tail of the quantile found rounds back to q itself (SciPy 1.17 gives
    −inf here). The search bisects its bracket there: a Newton step lands where the tail
    underflows to 0."""
    t = t_ppf(5e-324, df)
    assert math.isfinite(t) and t < 0
    assert t_sf(-t, df) == 5e-324 and t_sf(t, df) == 1.0
    assert t_ppf(1 - 5e-324, df) == math.inf  # 1 − 5e-324 is 1.0


def test_beta_fraction_passes_through_a_zero_denominator() -> None:
    """Lentz's guard: at a = 1, b = 2, x = 2/3 the first denominator 1 − (a + b)·x/(a + 1) is
    exactly 0 (3·(2/3) rounds to 2.0) and becomes 1e-300. By hand: the fraction is
    I_x(a, b)·a·B(a, b) / (xᵃ(1 − x)ᵇ), with I_x(1, 2) = 1 − (1 − x)² = 8/9 and B(1, 2) = 1/2,
    so (8/9)·(1/2) / ((2/3)·(1/9)) = 6. (t_sf never asks for this x: it is above the switch
    to the symmetric form, (a + 1)/(a + b + 2) = 0.4, where the fraction still converges.)"""
    assert 1.0 - (1.0 + 2.0) * (2 / 3) / (1.0 + 1.0) == 0.0
    assert _beta_fraction(1.0, 2.0, 2 / 3) == pytest.approx(6.0, rel=1e-14)


@pytest.mark.parametrize("df", [0.005, 0.01, 0.1, 0.5])
def test_t_below_1_df_where_t_squared_over_df_overflows(df: float) -> None:
    """Below ν = 1, t²/ν overflows before t² does (|t| > 1.34e154·√ν): t_sf gave 0 there
    (SciPy: 0.084 at ν = 0.005, t = 1e153; mpmath's 0.5·I_x(ν/2, 1/2) agrees to 1e-16) and
    t_ppf missed its quantile by up to a factor of 2; the weighted interval asks for
    t_ppf(0.975, n_eff − 1), with n_eff − 1 below 1 when one weight dominates."""
    for t in (1e153, 5e153, 1.3e154):
        expected = float(sps.t.sf(t, df))
        assert close(t_sf(t, df), expected, rel=1e-12), (t, df)
        assert close(t_sf(-t, df), 1.0 - expected, rel=1e-12), (t, df)
        assert close(-t_ppf(expected, df), t, rel=1e-11), (t, df)


@pytest.mark.parametrize("t", [2.094, 2.177, 2.217])
def test_t_sf_at_1000_df_just_below_the_switch_to_the_symmetric_form(t: float) -> None:
    """x = ν/(ν + t²) just below _betainc's switch (a + 1)/(a + b + 2) (a = 500, b = ½: t from
    1.73 to 2.234 at ν = 1000; a switch at (a + 1)/(a + b + 3) would move the lower end of that
    range to 2.234): the direct fraction gives SciPy 1.17's t.sf to 2e-14 relative at these t,
    the symmetric form 1 − I_y(b, a) only to 2e-12 (both measured by hand against it)."""
    expected = float(sps.t.sf(t, 1000.0))
    assert close(t_sf(t, 1000.0), expected, rel=2e-13), (t, t_sf(t, 1000.0), expected)
