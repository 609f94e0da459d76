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
from scipy import stats

from losscli.engine.paired import PairedMoments
from losscli.losses import Reduce
from losscli.stats import Difference, t95, t_ppf, t_sf, welch_difference


def paired_difference(
    a: tuple[np.ndarray, np.ndarray | None],
    b: tuple[np.ndarray, np.ndarray | None],
    reduce: Reduce,
    chunk: int = 1 << 30,
) -> Difference:
    """value(B) − value(A) from PairedMoments fed ``chunk`` samples at a time."""
    m = PairedMoments()
    for s in range(0, len(a[0]), chunk):
        cut = slice(s, s + chunk)
        m.update(
            (a[0][cut], None if a[1] is None else a[1][cut]),
            (b[0][cut], None if b[1] is None else b[1][cut]),
        )
    return m.finalize(reduce)


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
