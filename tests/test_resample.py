"""Counter-based resampling (losscli.engine.resample): the weights, the running sums, and the
intervals and p-values built on them, checked against SciPy.

Oracles: ``scipy.stats.poisson`` (the weights' law), ``scipy.stats.bootstrap`` (its own
resamples through our percentile rule; coverage by simulation), ``scipy.stats.
permutation_test`` (an exact paired test whose p-value ours estimates). SciPy is the test
extra's (1.17 when these tolerances were set). Seeds are fixed, so every test is
deterministic; the tolerances are Monte Carlo error bounds stated next to each assert.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from losscli.engine.resample import (
    Draw,
    ResampledSums,
    Resampler,
    mix,
    paired_bootstrap,
    percentile_interval,
    ratio_replicates,
    sample_keys,
    sign_flips,
)
from losscli.stats import tail_p

# --------------------------------------------------------------------------- the weights


# splitmix64 by its definition (Steele, Lea and Flood 2014; Vigna's splitmix64.c), on Python
# ints: the oracle of the weights below, written from the module docstring's scheme.
_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix_by_hand(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _hash_by_hand(seed: int, stream: int, key: int, group: int) -> int:
    """mix(base + (g + 1)·γ), base = mix(key ^ mix(seed ^ stream << 48)), mod 2⁶⁴."""
    base = _mix_by_hand(key ^ _mix_by_hand((seed & _M64) ^ (stream << 48)))
    return _mix_by_hand((base + (group + 1) * _GOLDEN) & _M64)


def test_mix_is_splitmix64s_finaliser() -> None:
    """splitmix64 from state 0 outputs mix(k·γ), k = 1, 2, ...: its published first outputs
    (Vigna's splitmix64.c, xoshiro's seeder; Java's SplittableRandom(0).nextLong() too)."""
    published = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F, 0xF88BB8A8724C81EC]
    states = np.array([(k * _GOLDEN) & _M64 for k in range(1, 5)], dtype=np.uint64)
    assert mix(states).tolist() == published
    assert [_mix_by_hand(int(s)) for s in states] == published


def test_poisson_weights_are_the_documented_counter_scheme() -> None:
    """Replicate 4g + q of a key: lane q (bits 16q..16q+15) u of hash g, counted as
    #{k >= 1 : u >= T_k}, T_k = round(2¹⁶·P(X <= k − 1)) for X ~ Poisson(1) (SciPy's CDF).
    Key 266's replicate 0 has u = T_4 = 64292 and key 13147's replicate 9 u = T_1 = 24109
    exactly (found by search), so u >= T and u > T differ there. B = 10: 3 hashes a key."""
    thresholds = []
    for k in range(1, 20):
        t = round(65536 * float(scipy_stats.poisson(1).cdf(k - 1)))
        if t >= 65536:
            break
        thresholds.append(t)
    keys = [0, 1, 266, 13147, (1 << 64) - 3]
    expected = np.zeros((10, len(keys)))
    for i, key in enumerate(keys):
        for b in range(10):
            u = (_hash_by_hand(3, 0x5A17, key, b // 4) >> (16 * (b % 4))) & 0xFFFF
            expected[b, i] = sum(u >= t for t in thresholds)
    assert expected[0, 2] == 4 and expected[9, 3] == 1  # the two exact hits, counted
    got = Resampler(samples=10, seed=3).matrix(np.array(keys, dtype=np.uint64))
    assert got.dtype == np.float64  # (samples, n) float64, as documented
    assert got.tolist() == expected.tolist()


def test_sign_flips_are_the_documented_counter_scheme() -> None:
    """Replicate 64g + j of a key: 1 − 2·(bit j of hash g). B = 70: 2 hashes a key."""
    keys = [0, 7, (1 << 64) - 1]
    expected = [
        [1.0 - 2.0 * ((_hash_by_hand(11, 0x51C4, key, b // 64) >> (b % 64)) & 1) for key in keys]
        for b in range(70)
    ]
    got = Resampler(samples=70, seed=11, draw=Draw.SIGNS).matrix(np.array(keys, np.uint64))
    assert got.tolist() == expected


def test_poisson_weights_follow_poisson_one() -> None:
    weights = Resampler(1000, seed=7).matrix(np.arange(2000, dtype=np.uint64))
    assert weights.shape == (1000, 2000)
    n = weights.size
    freq = np.bincount(weights.astype(np.int64).ravel()) / n
    pmf = scipy_stats.poisson(1).pmf(np.arange(len(freq)))
    # Each frequency within 5 binomial standard errors, plus 2^-16 for the 16-bit inverse CDF.
    bound = 5 * np.sqrt(pmf * (1 - pmf) / n) + 2.0**-16
    assert np.all(np.abs(freq - pmf) <= bound)
    assert weights.mean() == pytest.approx(1.0, abs=5 / math.sqrt(n))
    assert weights.var() == pytest.approx(1.0, abs=0.01)


def test_replicates_are_uncorrelated() -> None:
    weights = Resampler(200, seed=3).matrix(np.arange(5000, dtype=np.uint64))
    corr = np.corrcoef(weights)  # replicate × replicate over 5000 samples
    off = corr[~np.eye(len(corr), dtype=bool)]
    # Under independence each correlation is ~N(0, 1/5000): 5 SE is 0.071.
    assert np.abs(off).max() < 0.071
    rows = np.corrcoef(weights[:, :300].T)  # sample × sample over 200 replicates
    assert np.abs(rows[~np.eye(300, dtype=bool)]).max() < 5 / math.sqrt(200) + 0.02


def test_a_weight_depends_only_on_seed_key_and_replicate() -> None:
    keys = np.array([5, 0, 999_999, 17, 3], dtype=np.uint64)
    r = Resampler(1000, seed=11)
    full = r.matrix(keys)
    perm = np.array([4, 2, 0, 3, 1])
    assert np.array_equal(r.matrix(keys[perm]), full[:, perm])
    assert np.array_equal(r.matrix(keys[:1]), full[:, :1])
    # Fewer replicates are a prefix of more (replicate b never depends on B).
    assert np.array_equal(Resampler(10, seed=11).matrix(keys), full[:10])
    assert np.array_equal(Resampler(7, seed=11).matrix(keys), full[:7])
    assert not np.array_equal(Resampler(1000, seed=12).matrix(keys), full)


def test_sign_flips_are_fair_coins_independent_of_the_poisson_stream() -> None:
    keys = np.arange(3000, dtype=np.uint64)
    signs = Resampler(500, seed=7, draw=Draw.SIGNS).matrix(keys)
    assert set(np.unique(signs)) == {-1.0, 1.0}
    n = signs.size
    assert signs.mean() == pytest.approx(0.0, abs=5 / math.sqrt(n))
    poisson = Resampler(500, seed=7).matrix(keys)
    assert abs(np.corrcoef(signs.ravel(), poisson.ravel())[0, 1]) < 5 / math.sqrt(n)
    assert np.array_equal(Resampler(70, seed=7, draw=Draw.SIGNS).matrix(keys), signs[:70])


def test_id_keys_hash_the_text_alone() -> None:
    short = sample_keys(np.arange(2), np.array(["a", "b"], dtype=object))
    padded = sample_keys(np.arange(3), np.array(["a", "a-much-longer-id", "b"]))
    assert short[0] == padded[0] and short[1] == padded[2]
    assert len(set(padded.tolist())) == 3
    assert np.array_equal(sample_keys(np.array([4, 9]), None), np.array([4, 9], np.uint64))
    # no samples: no keys, still uint64 (they are concatenated with other chunks' keys)
    for ids in (np.array([], dtype=str), np.array([], dtype=object)):
        none = sample_keys(np.arange(0), ids)
        assert none.dtype == np.uint64 and none.shape == (0,)
    # numbers read as ids are keyed by their text
    assert sample_keys(np.arange(1), np.array([12]))[0] == sample_keys(
        np.arange(1), np.array(["12"])
    )


# --------------------------------------------------------------------------- running sums


def _sums(keys: np.ndarray, x: np.ndarray, chunk: int, r: Resampler, **kw: int) -> np.ndarray:
    acc = ResampledSums(r, x.shape[1], **kw)
    group = kw.get("groups")
    for start in range(0, len(keys), chunk):
        sl = slice(start, start + chunk)
        acc.update(keys[sl], x[sl], None if group is None else (keys[sl] % group).astype(int))
    return acc.finalize()


def test_sums_are_identical_for_chunks_of_7_1000_and_the_whole() -> None:
    rng = np.random.default_rng(0)
    n = 5003
    keys = np.arange(n, dtype=np.uint64)
    x = np.column_stack([rng.exponential(size=n), rng.uniform(0.5, 2, n)])
    r = Resampler(300, seed=1)
    whole = _sums(keys, x, n, r)
    assert np.array_equal(_sums(keys, x, 7, r), whole)
    assert np.array_equal(_sums(keys, x, 1000, r), whole)
    grouped = _sums(keys, x, n, r, groups=3)
    assert np.array_equal(_sums(keys, x, 7, r, groups=3), grouped)
    # and they are the sums of the explicit weights
    explicit = r.matrix(keys) @ x
    np.testing.assert_allclose(whole[0], explicit, rtol=1e-12)
    for g in range(3):
        sel = keys % 3 == g
        np.testing.assert_allclose(grouped[g], r.matrix(keys[sel]) @ x[sel], rtol=1e-12)


def test_sums_hold_fewer_than_a_block_of_samples_between_updates() -> None:
    """Memory stays one block: samples wait only until a block of them has come (B = 4096:
    blocks of 2¹⁸ / 4096 = 64 samples; chunks of 16 fill one exactly every 4 updates)."""
    acc = ResampledSums(Resampler(samples=4096, seed=2), 1)
    assert acc.resampler.block == 64
    keys = np.arange(160, dtype=np.uint64)
    for start in range(0, 160, 16):
        acc.update(keys[start : start + 16], np.ones((16, 1)))
        waiting = sum(len(k) for k in acc._keys)
        assert waiting == (start + 16) % 64 and acc._pending == waiting
    assert acc.finalize().shape == (1, 4096, 1)
    assert acc._pending == 0 and sum(len(k) for k in acc._keys) == 0


def test_merge_adds_partitions() -> None:
    rng = np.random.default_rng(1)
    keys = np.arange(1000, dtype=np.uint64)
    x = rng.normal(size=(1000, 2))
    r = Resampler(64, seed=5)
    left, right = ResampledSums(r, 2), ResampledSums(r, 2)
    left.update(keys[:333], x[:333])
    right.update(keys[333:], x[333:])
    left.merge(right)
    np.testing.assert_allclose(left.finalize(), _sums(keys, x, 1000, r), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="different"):
        left.merge(ResampledSums(Resampler(64, seed=6), 2))


# --------------------------------------------------------------------------- intervals


def test_percentile_rule_is_scipys_on_its_own_resamples() -> None:
    data = np.random.default_rng(2).exponential(size=25)
    res = scipy_stats.bootstrap(
        (data,), np.mean, method="percentile", n_resamples=999, random_state=3
    )
    low, high = percentile_interval(res.bootstrap_distribution, 0.95)
    # the same linear (type 7) quantiles; scipy.stats.quantile interpolates in another
    # order of operations, so the last bit may differ
    assert low == pytest.approx(res.confidence_interval.low, rel=1e-14)
    assert high == pytest.approx(res.confidence_interval.high, rel=1e-14)


def _poisson_mean_interval(data: np.ndarray, seed: int, b: int = 1000) -> tuple[float, float]:
    keys = np.arange(len(data), dtype=np.uint64)
    sums = _sums(keys, np.column_stack([data, np.ones(len(data))]), len(data), Resampler(b, seed))
    return percentile_interval(ratio_replicates(sums[0, :, 0], sums[0, :, 1]), 0.95)


def test_poisson_bootstrap_of_a_mean_agrees_with_scipys_bootstrap() -> None:
    data = np.random.default_rng(4).exponential(size=200)
    ours = _poisson_mean_interval(data, seed=1, b=20000)
    res = scipy_stats.bootstrap(
        (data,), np.mean, method="percentile", n_resamples=20000, random_state=1
    )
    # Both estimate the same bootstrap quantiles: the Monte Carlo error of a 2.5% quantile
    # with 20000 replicates is ~1% of the interval's width; Poisson vs multinomial resampling
    # differ by O(1/n). 4% of the width covers both.
    width = res.confidence_interval.high - res.confidence_interval.low
    assert ours[0] == pytest.approx(res.confidence_interval.low, abs=0.04 * width)
    assert ours[1] == pytest.approx(res.confidence_interval.high, abs=0.04 * width)


def test_coverage_by_simulation_matches_scipys_percentile_bootstrap() -> None:
    rng = np.random.default_rng(5)
    trials, n, hits_ours, hits_scipy = 300, 20, 0, 0
    for t in range(trials):
        data = rng.exponential(size=n)  # true mean 1
        low, high = _poisson_mean_interval(data, seed=t)
        hits_ours += low <= 1.0 <= high
        ci = scipy_stats.bootstrap(
            (data,), np.mean, method="percentile", n_resamples=1000, random_state=t
        ).confidence_interval
        hits_scipy += ci.low <= 1.0 <= ci.high
    # Same datasets: the two coverages (~0.91 for a skewed law at n = 20) differ only through
    # resampling noise; 0.05 is ~3 standard errors of a difference of paired proportions.
    assert abs(hits_ours - hits_scipy) / trials <= 0.05
    assert 0.85 <= hits_ours / trials <= 0.98


def test_ratio_replicates_skip_empty_resamples() -> None:
    # no weight: NaN whatever the numerator; a weight sum below 1 divides as any other; a
    # ratio 0 has the root 0
    num = np.array([1.0, 0.0, 4.0, 0.0, 1.0, 1.0])
    den = np.array([2.0, 0.0, 1.0, 3.0, 0.5, 0.0])
    expected = [0.5, np.nan, 4.0, 0.0, 2.0, np.nan]
    np.testing.assert_array_equal(ratio_replicates(num, den), expected)
    np.testing.assert_array_equal(ratio_replicates(num, den, root=True), np.sqrt(expected))
    assert percentile_interval(np.array([np.nan, 1.0, 3.0]), 0.5) == (
        1.5,
        2.5,
    )  # linear quantiles 0.25 and 0.75
    assert all(math.isnan(x) for x in percentile_interval(np.array([np.nan]), 0.95))


# --------------------------------------------------------------------------- paired tests


def test_tail_p_by_hand() -> None:
    reps = np.array([-1.0, 0.0, 1.0, 2.0])
    # point 1.5: 3 replicates ≤ it, 1 ≥ it -> 2·min(4, 2) / 5 = 0.8
    assert tail_p(reps, 1.5) == pytest.approx(0.8)
    # point 5: none ≥ it -> 2·1/5
    assert tail_p(reps, 5.0) == pytest.approx(0.4)
    assert tail_p(reps, 0.5) == 1.0
    assert math.isnan(tail_p(np.array([np.nan]), 0.0))


def test_sign_flips_with_all_plus_or_all_minus_signs() -> None:
    va, vb = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 1.0])
    w = np.ones(3)
    totals = np.array([va.sum(), 3.0, vb.sum(), 3.0])
    keep = np.array([[(vb - va).sum(), 0.0]])  # every sign +1: the observed difference
    swap = -keep  # every sign −1: the models swapped
    observed = vb.mean() - va.mean()
    assert sign_flips(keep, totals)[0] == pytest.approx(observed)
    assert sign_flips(swap, totals)[0] == pytest.approx(-observed)
    # RMSE: the root of each model's mean
    root = math.sqrt(vb.mean()) - math.sqrt(va.mean())
    assert sign_flips(keep, totals, root=True)[0] == pytest.approx(root)
    assert w.sum() == 3


def test_permutation_p_value_estimates_scipys_exact_test() -> None:
    rng = np.random.default_rng(8)
    a = rng.exponential(size=10)
    b = a + rng.normal(0.3, 0.5, size=10)
    exact = scipy_stats.permutation_test(
        (b, a),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        alternative="two-sided",
    ).pvalue  # 2^10 sign patterns: scipy enumerates them all
    reps = 20000
    keys = np.arange(10, dtype=np.uint64)
    flips = _sums(keys, np.column_stack([b - a, np.zeros(10)]), 10, Resampler(reps, 9, Draw.SIGNS))
    totals = np.array([a.sum(), 10.0, b.sum(), 10.0])
    p = tail_p(sign_flips(flips[0], totals), b.mean() - a.mean())
    # Monte Carlo error of a p-value from 20000 draws: 4 SE plus the +1 correction.
    assert p == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / reps) + 2 / reps)


def test_paired_bootstrap_shares_the_resamples_of_each_model() -> None:
    rng = np.random.default_rng(9)
    n = 400
    keys = rng.permutation(n).astype(np.uint64)
    va, vb = rng.exponential(size=n), rng.exponential(size=n)
    w = np.ones(n)
    r = Resampler(500, seed=2)
    paired = _sums(keys, np.column_stack([va, w, vb, w]), 64, r)[0]
    alone_a = _sums(keys, np.column_stack([va, w]), 100, r)[0]
    alone_b = _sums(keys[::-1].copy(), np.column_stack([vb, w])[::-1], 100, r)[0]
    separate = ratio_replicates(alone_b[:, 0], alone_b[:, 1]) - ratio_replicates(
        alone_a[:, 0], alone_a[:, 1]
    )
    np.testing.assert_allclose(paired_bootstrap(paired), separate, rtol=1e-10, atol=1e-12)
