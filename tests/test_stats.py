"""losscli.stats: the t distribution, Welch differences; paired differences from the streamed
moments of ``losscli.engine.paired.PairedMoments``.

Reference numbers: the t distribution from ``scipy.stats.t``; Welch's test from
``scipy.stats.ttest_ind_from_stats``; paired tests from ``scipy.stats.ttest_rel``; influences
and the delta method by the closed forms written next to them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from paired_helpers import fed
from scipy import stats
from stat_oracles import holm as holm_by_definition

from losscli.losses import Reduce
from losscli.stats import (
    Difference,
    detectable,
    difference_interval,
    holm,
    t95,
    t_ppf,
    t_sf,
    tail_p,
    welch_difference,
)


def paired_difference(
    a: tuple[np.ndarray, np.ndarray | None],
    b: tuple[np.ndarray, np.ndarray | None],
    reduce: Reduce,
    chunk: int = 1 << 30,
) -> Difference:
    """value(B) − value(A) from PairedMoments fed ``chunk`` samples at a time."""
    return fed(a, b, chunk).finalize(reduce)


# --------------------------------------------------------------------------- t distribution


@pytest.mark.parametrize("df", [1, 2, 3.5, 10, 99, 1000, 12345.6, 1e5, 1e6])
def test_t_distribution_matches_scipy(df: float) -> None:
    for t in (0.0, 0.3, 1.0, 1.96, 2.5, 4.0, 8.0, -1.5):
        assert t_sf(t, df) == pytest.approx(stats.t.sf(t, df), rel=1e-9, abs=1e-300)
    for q in (0.9, 0.975, 0.995):
        assert t_ppf(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-10)


def test_welch_difference_matches_scipy() -> None:
    d = welch_difference(0.42, 0.6, 400, 0.45, 0.7, 380)
    ref = stats.ttest_ind_from_stats(0.45, 0.7, 380, 0.42, 0.6, 400, equal_var=False)
    test = d.test(0.0)
    assert test.t == pytest.approx(ref.statistic, rel=1e-12)
    assert test.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    va, vb = 0.6**2 / 400, 0.7**2 / 380  # Welch–Satterthwaite degrees of freedom
    assert d.df == pytest.approx((va + vb) ** 2 / (va**2 / 399 + vb**2 / 379), rel=1e-12)


def test_paired_rmse_uses_the_delta_method() -> None:
    """RMSE = sqrt(mean e²): each sample's influence is (e² - mean) / (2 RMSE)."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 200) ** 2, rng.normal(0, 1.1, 200) ** 2
    d = paired_difference((a, None), (b, None), Reduce.SQRT_MEAN)
    ra, rb = math.sqrt(a.mean()), math.sqrt(b.mean())
    u = (b - b.mean()) / (2 * rb) - (a - a.mean()) / (2 * ra)
    assert d.diff == pytest.approx(rb - ra, rel=1e-12)
    assert d.se == pytest.approx(u.std(ddof=1) / math.sqrt(200), rel=1e-12)


def test_paired_mean_difference_is_scipy_ttest_rel() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.gamma(2.0, 1.0, 150), rng.gamma(2.2, 1.0, 150)
    d = paired_difference((a, None), (b, None), Reduce.MEAN)
    ref = stats.ttest_rel(b, a)
    test = d.test(0.0)
    assert d.diff == pytest.approx(b.mean() - a.mean(), rel=1e-12)
    assert test.t == pytest.approx(ref.statistic, rel=1e-10)
    assert test.p_value == pytest.approx(ref.pvalue, rel=1e-8)


@pytest.mark.parametrize("chunk", [7, 64, 1 << 30])
def test_weighted_paired_difference_is_the_spread_of_linearised_influences(chunk: int) -> None:
    """R = Σv / Σw; z_i = (v_i − R·w_i) / w̄ (the linearised influence of sample i, Σz = 0);
    the paired SE is sd(z_B − z_A) / √n, here computed in memory from the definition."""
    rng = np.random.default_rng(11)
    n = 300
    w_a = rng.choice([0.0, 0.5, 1.0, 2.0], n)
    w_b = np.where(rng.random(n) < 0.9, w_a, 1.0)
    v_a, v_b = w_a * rng.gamma(2.0, 1.0, n), w_b * rng.gamma(2.3, 1.0, n)

    def z(v: np.ndarray, w: np.ndarray) -> np.ndarray:
        ratio = v.sum() / w.sum()
        return (v - ratio * w) / (w.sum() / n)

    d = paired_difference((v_a, w_a), (v_b, w_b), Reduce.MEAN, chunk)
    u = z(v_b, w_b) - z(v_a, w_a)
    assert float(z(v_a, w_a).sum()) == pytest.approx(0.0, abs=1e-10)
    assert d.diff == pytest.approx(v_b.sum() / w_b.sum() - v_a.sum() / w_a.sum(), rel=1e-12)
    assert d.se == pytest.approx(u.std(ddof=1) / math.sqrt(n), rel=1e-12)


def test_a_model_against_itself_differs_by_exactly_zero() -> None:
    rng = np.random.default_rng(2)
    v, w = rng.gamma(2.0, 1.0, 1000), rng.choice([0.0, 1.0, 3.0], 1000)
    d = paired_difference((v * w, w), (v * w, w), Reduce.MEAN, 37)
    assert (d.diff, d.se, d.test(0.0).p_value) == (0.0, 0.0, 1.0)


@pytest.mark.parametrize("n", [2, 3, 10, 1000])
def test_t95_is_the_two_sided_95_quantile_with_n_minus_1_df(n: int) -> None:
    assert t95(n) == pytest.approx(stats.t.ppf(0.975, n - 1), rel=1e-10)


def test_t95_of_one_sample_is_nan() -> None:
    assert math.isnan(t95(1))


# --------------------------------------------------------------------------- tests of a difference
# Hand derivations written next to each case; t quantiles and tails from scipy.stats.t.


def test_difference_interval_is_diff_plus_minus_t_975_times_se() -> None:
    d = difference_interval(0.75, 0.5, 12.0, 13, "m")
    half = float(stats.t.ppf(0.975, 12.0)) * 0.5
    assert (d.diff, d.se, d.df, d.n, d.method) == (0.75, 0.5, 12.0, 13, "m")
    assert d.ci_low == pytest.approx(0.75 - half, rel=1e-12)
    assert d.ci_high == pytest.approx(0.75 + half, rel=1e-12)


@pytest.mark.parametrize("df", [5.0, 0.0, math.nan])
def test_difference_interval_of_zero_se_is_the_point_whatever_the_df(df: float) -> None:
    """No spread, no width: [diff, diff] even where the t quantile is undefined (df ≤ 0)."""
    d = difference_interval(0.25, 0.0, df, 4, "m")
    assert (d.ci_low, d.ci_high) == (0.25, 0.25)


def test_difference_interval_of_unknown_se_is_unknown() -> None:
    d = difference_interval(0.25, math.nan, 5.0, 4, "m")
    assert math.isnan(d.ci_low) and math.isnan(d.ci_high)


def test_welch_difference_without_spread_falls_back_to_the_pooled_df() -> None:
    """Both stds 0: Welch's df is 0/0; losscli takes n_A + n_B − 2 = 10, se 0, a zero-width
    interval at 1.5 − 1.0 = 0.5, n = 12."""
    d = welch_difference(1.0, 0.0, 5, 1.5, 0.0, 7)
    assert (d.diff, d.se, d.df, d.n, d.ci_low, d.ci_high) == (0.5, 0.0, 10.0, 12, 0.5, 0.5)


def test_t_test_of_a_difference_against_an_allowed_value() -> None:
    """t = (0.75 − 0.25) / 0.25 = 2 exactly; p = 2·P(T₁₀ > 2) (scipy.stats.t.sf)."""
    d = Difference(0.75, 0.25, 10.0, 0.25, 1.25, 11, "m")
    test = d.test(0.25)
    assert (test.difference, test.allowed, test.t) == (d, 0.25, 2.0)
    assert test.p_value == pytest.approx(2 * float(stats.t.sf(2.0, 10.0)), rel=1e-12)
    assert test.above is False  # ci_low 0.25 is not above 0.25
    low = d.test()  # against 0 by default: t = 3, and ci_low 0.25 > 0
    assert (low.allowed, low.t, low.above) == (0.0, 3.0, True)
    assert low.p_value == pytest.approx(2 * float(stats.t.sf(3.0, 10.0)), rel=1e-12)


def test_t_test_of_a_difference_without_spread() -> None:
    """se = 0: any gap is infinitely significant (t = ±inf, p = 0); no gap gives t NaN, p 1."""
    d = Difference(0.5, 0.0, 10.0, 0.5, 0.5, 11, "m")
    up, down, level = d.test(0.25), d.test(0.75), d.test(0.5)
    assert (up.t, up.p_value, up.above) == (math.inf, 0.0, True)
    assert (down.t, down.p_value, down.above) == (-math.inf, 0.0, False)
    assert math.isnan(level.t) and (level.p_value, level.above) == (1.0, False)


@pytest.mark.parametrize(("diff", "se"), [(math.nan, 0.0), (0.5, math.nan), (math.nan, 1.0)])
def test_t_test_of_an_unknown_difference_is_nan(diff: float, se: float) -> None:
    test = Difference(diff, se, 10.0, math.nan, math.nan, 11, "m").test(0.0)
    assert math.isnan(test.t) and math.isnan(test.p_value) and test.above is False


def test_t_test_against_an_unknown_allowance_is_never_significant() -> None:
    """A relative tolerance of a NaN baseline allows NaN: t is NaN and p is 1 (not NaN, so
    Holm's adjustment still counts it), and the difference is not above it."""
    test = Difference(0.75, 0.25, 10.0, 0.25, 1.25, 11, "m").test(math.nan)
    assert math.isnan(test.t) and (test.p_value, test.above) == (1.0, False)


# The null distribution below: −2, −1.5, …, 2 (9 replicates) and two non-finite ones.
NULL = np.array([*np.arange(-4, 5) * 0.5, math.nan, math.inf])


def test_permutation_test_of_a_difference_uses_its_null_replicates() -> None:
    """p = tail_p(null, diff − allowed) at 1.25 − 0.25 = 1: #{r ≤ 1} + 1 = 8,
    #{r ≥ 1} + 1 = 4 of 9 finite replicates: p = 2·4 / 10 = 0.8; no t statistic."""
    d = Difference(1.25, math.nan, math.nan, 0.25, 2.0, 20, "m", null=NULL)
    test = d.test(0.25)
    assert (test.difference, test.allowed, test.p_value) == (d, 0.25, 0.8)
    assert math.isnan(test.t)
    assert test.above is False  # ci_low 0.25 is not above 0.25
    assert d.test(0.125).above is True
    nan_ci = Difference(1.25, math.nan, math.nan, math.nan, math.nan, 20, "m", null=NULL)
    assert nan_ci.test(0.25).above is False


def test_bootstrap_test_of_a_difference_uses_its_replicates() -> None:
    """p = tail_p(replicates, allowed) at 0.25: #{r ≤ 0.25} + 1 = 6, #{r ≥ 0.25} + 1 = 5:
    p = 2·5 / 10 = 1.0; at 1.5: 8 + 1 = 9 and 2 + 1 = 3: p = 0.6."""
    d = Difference(1.25, math.nan, math.nan, 0.5, 2.0, 20, "m", replicates=NULL)
    assert d.test(0.25).p_value == 1.0
    test = d.test(1.5)
    assert (test.difference, test.allowed, test.p_value, test.above) == (d, 1.5, 0.6, False)
    assert math.isnan(test.t)
    assert d.test(0.25).above is True


# --------------------------------------------------------------------------- tail_p, holm, mde


def test_tail_p_counts_each_side_of_the_point_plus_one() -> None:
    """9 finite replicates −2 … 2 (NaN and inf dropped): at −1.5, #{r ≤ −1.5} + 1 = 3 is the
    smaller side: p = 2·3 / 10; at 1.5 the other side, #{r ≥ 1.5} + 1 = 3; at 0, 2·6/10 > 1
    is capped at 1."""
    assert tail_p(NULL, -1.5) == 0.6
    assert tail_p(NULL, 1.5) == 0.6
    assert tail_p(NULL, 2.5) == 0.2  # #{r ≥ 2.5} + 1 = 1
    assert tail_p(NULL, 0.0) == 1.0


def test_tail_p_counts_replicates_within_100_ulps_as_ties() -> None:
    """At point 1 the tolerance is 100·eps (scipy.stats.permutation_test's): 1 ± 100·eps and
    1 ± 50·eps are ties (on both sides), 1 ± 101·eps are not. Replicates
    [1 − 101ε, 1 − 100ε, 1 − 50ε, 1 + 50ε, 1 + 100ε, 1 + 101ε] (B = 6):
    #{r ≤ 1 + 100ε} = 5, #{r ≥ 1 − 100ε} = 5: p = 2·6 / 7 > 1 → 1; so test one side at a time
    with ten far replicates added (B = 16): below = 5 + 1, above = 15 + 1: p = 2·6 / 17."""
    eps = float(np.finfo(np.float64).eps)
    near = [1 - 101 * eps, 1 - 100 * eps, 1 - 50 * eps, 1 + 50 * eps, 1 + 100 * eps, 1 + 101 * eps]
    far = np.arange(3.0, 13.0)
    assert tail_p(np.array([*near, *far]), 1.0) == 2 * 6 / 17
    assert tail_p(np.array([*near, *(2.0 - far)]), 1.0) == 2 * 6 / 17


def test_tail_p_of_nothing_finite_or_of_nan_is_nan() -> None:
    assert math.isnan(tail_p(np.array([math.nan, math.inf]), 0.5))
    assert math.isnan(tail_p(np.array([1.0, 2.0]), math.nan))


def test_holm_by_hand() -> None:
    """m = 4 (the NaN does not count): sorted 0.01, 0.03, 0.04, 0.2 → 4·0.01 = 0.04,
    3·0.03 = 0.09, max(0.09, 2·0.04) = 0.09, 0.2; and [0.3, 0.6, 0.9]: 0.9, min(1, 1.2) = 1, 1."""
    out = holm([0.01, math.nan, 0.04, 0.03, 0.2])
    assert math.isnan(out[1])
    assert [out[i] for i in (0, 2, 3, 4)] == pytest.approx([0.04, 0.09, 0.09, 0.2], rel=1e-15)
    assert holm([0.9, 0.3, 0.6]) == pytest.approx([1.0, 0.9, 1.0], rel=1e-15)
    assert holm([]) == []


def test_holm_matches_its_definition() -> None:
    p = [0.002, 0.5, 0.013, 0.04, 0.011, 0.3]
    assert holm(p) == pytest.approx(holm_by_definition(p), rel=1e-15)


@pytest.mark.parametrize("df", [12.0, math.inf])
def test_minimum_detectable_effect_is_t_975_plus_t_80_times_se(df: float) -> None:
    expected = (float(stats.t.ppf(0.975, df)) + float(stats.t.ppf(0.8, df))) * 0.5
    assert detectable(0.5, df) == pytest.approx(expected, rel=1e-12)
    assert Difference(0.0, 0.5, df, -1.0, 1.0, 13, "m").mde == pytest.approx(expected, rel=1e-12)
    assert math.isnan(detectable(math.nan, df))


def test_minimum_detectable_effect_defaults_to_the_normal_quantiles() -> None:
    expected = (float(stats.norm.ppf(0.975)) + float(stats.norm.ppf(0.8))) * 0.5
    assert detectable(0.5) == pytest.approx(expected, rel=1e-12)
