"""Behaviours of losses/, engine/ and stats.py that no test stated until ``make mutation``
showed a surviving mutant there (issue 15). Each expected value comes from SciPy, NumPy or
scikit-learn in the test, or from a hand derivation written next to it — never from losscli.
"""

from __future__ import annotations

import json
import math
import warnings

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


def test_sklearn_multioutput_rmse_of_two_samples_by_hand() -> None:
    """Errors² e = [[1, 4], [2.25, 0.25]] (k = 2 outputs, n = 2): m = (1.625, 2.125), value
    (√1.625 + √2.125)/2 = 1.366246426. Influences Σ_k (e_ik − m_k)/(2·2·√m_k) are ±a with
    a = −0.625/(4√1.625) + 1.875/(4√2.125) = 0.1989820..., so the std is a·√2."""
    result = losscli.compute(
        "rmse", [[1.0, 2.0], [2.0, 0.5]], [[0.0, 0.0], [0.5, 1.0]], convention="sklearn"
    )
    a = -0.625 / (4 * math.sqrt(1.625)) + 1.875 / (4 * math.sqrt(2.125))
    assert result.value == pytest.approx((math.sqrt(1.625) + math.sqrt(2.125)) / 2, rel=1e-14)
    assert result.std == pytest.approx(a * math.sqrt(2), rel=1e-12)


def test_sklearn_multioutput_rmse_of_one_sample_or_a_perfect_output_has_no_std() -> None:
    """With one sample there is no spread (n − 1 = 0); with an output whose error is 0 the
    delta method's 1/sqrt(m_k) is undefined: both give a NaN std, quietly (no NumPy warning
    reaches the user's stderr)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = losscli.compute("rmse", [[1.0, 2.0]], [[0.0, 0.0]], convention="sklearn")
        perfect = losscli.compute(
            "rmse", [[1.0, 0.0], [3.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]], convention="sklearn"
        )
    assert one.value == pytest.approx((1.0 + 2.0) / 2, rel=1e-15)  # mean of |e| per output
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


def test_reliability_table_edges_are_b_over_n_bins() -> None:
    """ece with 4 bins: bin b spans [b/4, (b+1)/4), and a confidence of exactly 1 gets a bin of
    its own, [1, 1] (TorchMetrics' bucketize(..., right=True) − 1). The five confidences 0.2,
    0.35, 0.6, 0.9 and 1 fall one in each."""
    result = losscli.compute("ece:bins=4", [0.9, 0.2, 0.6, 0.35, 1.0], [1, 0, 0, 1, 1])
    edges = [(b.low, b.high) for b in result.bins]
    assert edges == [(0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0), (1.0, 1.0)]
    assert [b.count for b in result.bins] == [1, 1, 1, 1, 1]


def test_slices_of_equal_value_are_ordered_by_their_values_text() -> None:
    """Slices come worst first; two slices with the same loss (mse 0.5 each: errors 1 and 0)
    are ordered by their value as text, so 'a' before 'b' whatever order the rows come in."""
    groups = np.array(["b", "b", "a", "a", None], dtype=object)
    result = losscli.compute("mse", [1.0, 2.0, 1.0, 2.0, 0.0], [0, 2, 0, 2, 0], groups=groups)
    assert [(s.values, s.results[0].value) for s in result.slices] == [
        (("a",), 0.5),
        (("b",), 0.5),
        ((None,), 0.0),
    ]


def test_per_class_bootstrap_is_unchanged_by_a_class_weight() -> None:
    """Within one true class every sample carries the same class weight w_c, so the class's
    bootstrap replicates Σ r·w_c·nll / Σ r·w_c are the unweighted Σ r·nll / Σ r: the
    per-class interval of ce:weight=[1,3] is the 2.5/97.5% percentiles (NumPy) of those,
    with the replicate weights r of losscli's counter-based resampler (seed 7, 400 draws)."""
    from losscli.api import parse_specs, run
    from losscli.engine.intervals import CiMethod, Intervals
    from losscli.engine.resample import Resampler
    from losscli.interpret.plan import Kind, Options
    from losscli.io.readers import array_source

    rng = np.random.default_rng(2)
    z, y = rng.normal(size=(200, 2)) * 2, rng.integers(0, 2, 200)
    boot = Intervals(CiMethod.BOOTSTRAP, 400, 7)
    report = run(
        array_source("preds", z),
        array_source("labels", y),
        parse_specs(["ce:weight=[1,3]"], "mean"),
        Options(kind=Kind.LOGITS),
        by_class=True,
        intervals=boot,
    )
    nll = np.logaddexp.reduce(z, axis=1) - z[np.arange(200), y]
    r = Resampler(boot.samples, boot.seed).matrix(np.arange(200, dtype=np.uint64))
    for c, row in enumerate(report.by_class):
        sel = y == c
        replicates = (r[:, sel] @ nll[sel]) / r[:, sel].sum(axis=1)
        want = tuple(np.percentile(replicates, [2.5, 97.5]))
        assert (row.ci_low[0], row.ci_high[0]) == pytest.approx(want, rel=1e-10)
