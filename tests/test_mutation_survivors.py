"""Behaviours of losses/, engine/ and stats.py that no test stated until ``make mutation``
showed a surviving mutant there (issue 15). Each expected value comes from SciPy, NumPy or
scikit-learn in the test, or from a hand derivation written next to it — never from losscli.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import root_mean_squared_error

import losscli
from losscli.engine.accumulators import OutputMoments
from losscli.engine.histogram import Histogram
from losscli.engine.intervals import _pooled_by_class
from losscli.engine.resample import _poisson_thresholds
from losscli.losses import LOSSES, PerSample, registry
from losscli.stats import welch_difference

# --------------------------------------------------------------------------- stats.py


def test_welch_interval_is_scipys() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.0, 1.0, 30), rng.normal(0.5, 2.0, 20)
    d = welch_difference(a.mean(), a.std(ddof=1), 30, b.mean(), b.std(ddof=1), 20)
    ref = stats.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert d.diff == pytest.approx(b.mean() - a.mean(), rel=1e-12)
    assert d.df == pytest.approx(ref.df, rel=1e-12)
    assert (d.ci_low, d.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert d.n == 50  # n_A + n_B
    assert d.method.startswith("Welch")  # the reports name the test that was run
    assert d.test(0.0).p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_welch_without_spread_has_a_point_interval_and_pooled_df() -> None:
    """Both stds 0: SE 0, so the interval is the difference itself; Satterthwaite's df is
    0/0 there, and the pooled n_A + n_B − 2 = 5 + 7 − 2 = 10 is used."""
    d = welch_difference(1.0, 0.0, 5, 2.5, 0.0, 7)
    assert (d.diff, d.se, d.df, d.ci_low, d.ci_high, d.n) == (1.5, 0.0, 10.0, 1.5, 1.5, 12)
    test = d.test(0.0)  # a gap of 1.5 with no spread: t = +inf, p = 0
    assert (test.t, test.p_value, test.above) == (math.inf, 0.0, True)


# --------------------------------------------------------------------------- losses/


def test_registry_maps_every_name_and_alias_and_refuses_a_reuse() -> None:
    table = registry(LOSSES)
    for loss in LOSSES:
        for key in (loss.name, *loss.aliases):
            assert table[key] is loss
    assert len(table) == sum(1 + len(loss.aliases) for loss in LOSSES)
    with pytest.raises(ValueError, match="used by"):
        registry((LOSSES[0], LOSSES[0]))


# --------------------------------------------------------------------------- engine/


def test_output_moments_of_chunks_are_numpys_mean_and_comoment() -> None:
    """Chan's merge of chunks of 7, 0, 1 and 12 rows gives the whole array's column means and
    centred co-moment matrix (x − m)ᵀ(x − m), as NumPy computes them in one pass."""
    x = np.random.default_rng(2).normal([1.0, -2.0, 5.0], [1.0, 3.0, 0.5], (20, 3))
    acc = OutputMoments()
    for part in np.split(x, [7, 7, 8]):
        acc.update(part)
    empty = OutputMoments()
    empty.merge(OutputMoments())  # nothing merged into nothing stays empty
    acc.merge(empty)
    d = x - x.mean(axis=0)
    assert acc.n == 20 and empty.n == 0
    np.testing.assert_allclose(acc.mean, x.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(acc.comoment, d.T @ d, rtol=1e-12)


def test_sklearn_multioutput_rmse_std_and_interval_by_the_delta_method() -> None:
    """RMSE under --convention sklearn with k outputs is mean_k sqrt(m_k), m_k the mean squared
    error of output k (sklearn ``root_mean_squared_error``). A sample's influence on it is
    Σ_k (e²_ik − m_k) / (2k sqrt(m_k)); the std is the sample std of those, and the interval
    value ± t_{0.975, n−1} · std / sqrt(n) (scipy.stats.t)."""
    rng = np.random.default_rng(7)
    y = rng.normal(0.0, 1.0, (40, 2))
    p = y + rng.normal(0.0, [0.5, 1.5], (40, 2))
    result = losscli.compute("rmse", p, y, convention="sklearn")
    e2 = (p - y) ** 2
    m = e2.mean(axis=0)
    value = root_mean_squared_error(y, p)
    sd = float(((e2 - m) / (2 * 2 * np.sqrt(m))).sum(axis=1).std(ddof=1))
    half = stats.t.ppf(0.975, 39) * sd / math.sqrt(40)
    assert result.value == pytest.approx(value, rel=1e-12)
    assert result.std == pytest.approx(sd, rel=1e-10)
    assert (result.ci_low, result.ci_high) == pytest.approx((value - half, value + half), rel=1e-10)


def test_sklearn_multioutput_rmse_of_one_sample_or_a_perfect_output_has_no_std() -> None:
    """With one sample there is no spread (n − 1 = 0); with an output whose error is 0 the
    delta method's 1/sqrt(m_k) is undefined: both give NaN std and NaN interval."""
    one = losscli.compute("rmse", [[1.0, 2.0]], [[0.0, 0.0]], convention="sklearn")
    assert one.value == pytest.approx((1.0 + 2.0) / 2, rel=1e-15)  # mean of |e| per output
    perfect = losscli.compute(
        "rmse", [[1.0, 0.0], [3.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]], convention="sklearn"
    )
    assert perfect.value == pytest.approx((math.sqrt(5.0) + 0.0) / 2, rel=1e-15)
    for r in (one, perfect):
        assert math.isnan(r.std)


def test_poisson_thresholds_are_scipys_cdf_in_16_bit_steps() -> None:
    """T_k = round(2¹⁶ · P(X ≤ k − 1)) for X ~ Poisson(1) (scipy.stats.poisson.cdf), for every
    k whose threshold is below 2¹⁶: a 16-bit uniform u then gives the count #{k : u ≥ T_k}.
    Built once at import, so only a direct call can see a change in it."""
    cdf = np.round(65536 * stats.poisson.cdf(np.arange(20), 1.0))
    expected = cdf[cdf < 65536]
    got = _poisson_thresholds()
    assert got.dtype == np.uint16
    assert got.tolist() == expected.astype(int).tolist()


def test_by_class_bootstrap_pools_a_maps_positions_per_image_and_class() -> None:
    """Two images of 3 positions; classes 0, 1, 0 | 2, −1, 3 with C = 3 (−1 and 3 are outside
    0..C−1, so not counted). By hand, the pairs (image·C + class) present and their sums:
    pair 0 = image 0 class 0 (positions 0 and 2: Σv = 1 + 3 = 4), pair 1 = image 0 class 1
    (position 1: v = 0, present although its value is 0), pair 5 = image 1 class 2 (position
    3: v = 4). Σw: unweighted 2, 1, 1; with position weights 1, 2, 0.5 | 1, 1, 1: 1.5, 2, 1."""
    terms = PerSample(np.array([1.0, 0.0, 3.0, 4.0, 5.0, 6.0]))
    classes = np.array([0, 1, 0, 2, -1, 3])
    idx, v, w = _pooled_by_class(terms, classes, 2, 3)
    assert (idx.tolist(), v.tolist(), w.tolist()) == ([0, 1, 5], [4.0, 0.0, 4.0], [2.0, 1.0, 1.0])
    weighted = PerSample(terms.values, np.array([1.0, 2.0, 0.5, 1.0, 1.0, 1.0]))
    idx, v, w = _pooled_by_class(weighted, classes, 2, 3)
    assert (idx.tolist(), v.tolist(), w.tolist()) == ([0, 1, 5], [4.0, 0.0, 4.0], [1.5, 2.0, 1.0])


def test_an_empty_histogram_survives_a_saved_state() -> None:
    """A loss whose every value is NaN (e.g. every row ignored in a shard) has an empty
    histogram: its saved state has no filled bin, and reading it back gives 0 samples and no
    distribution, as before saving."""
    empty = Histogram()
    empty.update(np.array([math.nan, math.nan]))
    back = Histogram.from_state(json.loads(json.dumps(empty.to_state())))
    assert back.n == 0 and back.finalize() is None
    assert back.counts.tolist() == empty.counts.tolist()
