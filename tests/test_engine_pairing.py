"""The streamed pairing of models (``losscli.engine.paired``), the per-slice bootstrap sums
(``losscli.engine.resample.GrowingSums``), slices in saved states (``losscli.engine.slices``)
and the saved states themselves (``losscli.engine.state``), as units: fast tests in the
mutation selection for code otherwise reached only by the ``compare``/``check``/``merge`` CLI
suites (issue 15).

Oracles: ``scipy.stats.ttest_rel``; NumPy means, centred products, sorts, set intersections
and per-group sums written out in the test; exact properties (the same bits for any chunking,
a merge of parts equal to one pass); the influence formulas of ``losscli.stats.influence``
written out by hand next to the assert that uses them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from paired_helpers import fed
from scipy import stats as scipy_stats

import losscli
from losscli.api import compute_files
from losscli.engine import paired, slices
from losscli.engine.accumulators import Moments
from losscli.engine.paired import (
    Aligned,
    BlockSums,
    Disagreements,
    NotAligned,
    PairedMoments,
    Samples,
    paired_terms,
)
from losscli.engine.resample import GrowingSums, Resampler, paired_bootstrap, sign_flips
from losscli.engine.slices import SliceCoder, Sliced, key_text
from losscli.engine.state import (
    _identity,
    _meta,
    merge_states,
    plan_from_state,
    plan_state,
    write_state,
)
from losscli.errors import InputError, OutputError
from losscli.interpret.meta import MetaColumns
from losscli.interpret.plan import NanPolicy, Options
from losscli.io.sources import Coded
from losscli.losses import PerSample, Reduce, Task
from losscli.stats import PAIRED

# --------------------------------------------------------------------------- BlockSums


def _cuts(n: int, seed: int, parts: int) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    edges = [0, *np.sort(rng.choice(np.arange(1, n), parts - 1, replace=False)).tolist(), n]
    return list(itertools.pairwise(edges))


def _block_sum(x: np.ndarray, block: int) -> float:
    """Σx as BlockSums defines it: float sums of consecutive blocks, added in order."""
    total = 0.0
    for start in range(0, len(x), block):
        total += float(x[start : start + block].sum())
    return total


def test_block_sums_are_the_same_bits_for_any_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paired, "_BLOCK", 8)
    rng = np.random.default_rng(8)
    n = 101
    # magnitudes 1 to 1e16: summed in another order (one by one, in blocks of 4 or 16, or
    # as NumPy's pairwise sum) these give other bits, so the test sees the block order
    x = rng.uniform(size=n) * 10.0 ** rng.integers(0, 17, n)
    w = rng.uniform(size=n) * 10.0 ** rng.integers(0, 17, n)
    assert _block_sum(x, 8) not in (float(np.cumsum(x)[-1]), float(x.sum()), _block_sum(x, 16))
    for parts in (1, 2, 9, 40):
        acc = BlockSums(3)
        weights = w.copy()
        for a, b in _cuts(n, parts, parts) if parts > 1 else [(0, n)]:
            # the third column is weighted in some chunks only: the others count as ones
            third = w[a:b] if a % 2 == 0 else None
            acc.update(b - a, (x[a:b], None, third))
            if third is None:
                weights[a:b] = 1.0
        want = [_block_sum(x, 8), float(n), _block_sum(weights, 8)]
        assert acc.finalize().tolist() == want, parts
        assert acc.finalize().tolist() == want  # nothing is held any more


def test_block_sums_hold_the_rows_after_the_last_full_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(paired, "_BLOCK", 4)
    w = np.array([2.0, 3.0, 5.0])
    acc = BlockSums(1)
    acc.update(6, (None,))  # one block of 4 summed, 2 rows (of weight 1) held
    assert acc.sums.tolist() == [4.0]
    acc.update(3, (w,))  # blocks [1, 1, 2, 3] and then [5]
    assert acc.sums.tolist() == [4.0 + 7.0]
    assert acc.finalize().tolist() == [16.0]


def test_block_sums_merge_adds_the_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paired, "_BLOCK", 4)
    x = np.arange(1.0, 12.0)  # 1..11, sums exact in float64
    left, right = BlockSums(2), BlockSums(2)
    left.update(5, (x[:5], None))
    right.update(6, (x[5:], x[5:] * 2))
    left.merge(right)
    # left: Σ 1..5 = 15 and 5 rows; right: Σ 6..11 = 51 and Σ 2·(6..11) = 102
    assert left.sums.tolist() == [66.0, 107.0]
    assert left.finalize().tolist() == [66.0, 107.0]
    assert BlockSums(2).finalize().tolist() == [0.0, 0.0]


def test_paired_terms_are_float64_with_weights_of_one() -> None:
    ints = np.array([1, 2], np.int32)
    for a, b in (((ints, None), (ints, ints)), ((ints, ints), (ints, None))):
        got = paired_terms(a, b)
        want = [
            [1, 2],
            [1, 1] if a[1] is None else [1, 2],
            [1, 2],
            [1, 1] if b[1] is None else [1, 2],
        ]
        for x, values in zip(got, want, strict=True):
            assert x.dtype == np.float64 and x.tolist() == values


# --------------------------------------------------------------------------- PairedMoments


def _models(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    va = rng.gamma(2.0, 1.0, n)
    vb = va * np.exp(rng.normal(0.1, 0.3, n))  # lower or higher than A's, sample by sample
    vb[::7] = va[::7]  # and ties
    return va, rng.uniform(0.5, 2.0, n), vb, rng.uniform(0.5, 2.0, n)


@pytest.mark.parametrize("weighted", ["both", "a", "b", "none"])
def test_paired_moments_are_numpys_mean_and_centred_products(weighted: str) -> None:
    va, wa, vb, wb = _models(50, 1)
    a_w = wa if weighted in ("both", "a") else None
    b_w = wb if weighted in ("both", "b") else None
    ones = np.ones(50)
    x = np.column_stack(
        [
            va,
            ones if a_w is None else a_w,
            vb - va,
            (ones if b_w is None else b_w) - (ones if a_w is None else a_w),
        ]
    )
    mean = x.mean(axis=0)
    comoment = (x - mean).T @ (x - mean)
    for chunk in (50, 7, 1):
        m = fed((va, a_w), (vb, b_w), chunk)
        assert m.n == 50
        np.testing.assert_allclose(m.mean, mean, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(m.comoment, comoment, rtol=1e-12, atol=1e-12)
        totals = [va.sum(), x[:, 1].sum(), vb.sum(), (x[:, 1] + x[:, 3]).sum()]
        np.testing.assert_allclose(m.totals, totals, rtol=1e-14)


def test_paired_moments_merge_equals_one_pass_and_adds_the_counts() -> None:
    va, wa, vb, wb = _models(60, 2)
    sa, sb = va.copy(), vb.copy()
    sa[[3, 10]] = np.nan
    sb[[10, 20]] = np.nan
    parts = [PairedMoments() for _ in range(3)]
    whole = PairedMoments()
    for p, (a, b) in zip(parts, _cuts(60, 5, 3), strict=True):
        for m in (p, whole):
            m.update((va[a:b], wa[a:b]), (vb[a:b], wb[a:b]), (sa[a:b], sb[a:b]))
    merged = PairedMoments()
    for p in parts:
        merged.merge(p)
    merged.merge(PairedMoments())  # an empty part adds nothing
    assert merged.n == whole.n == 60
    np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-13)
    np.testing.assert_allclose(merged.comoment, whole.comoment, rtol=1e-12)
    np.testing.assert_allclose(merged.totals, whole.totals, rtol=1e-14)
    # NaN in either model leaves a sample out of the shares: 3 of them here; ties count as
    # neither better nor worse
    counted, better, worse = 57, int(np.sum(sb < sa)), int(np.sum(sb > sa))
    assert better > 0 and worse > 0 and better + worse < counted - 5
    for m in (merged, whole):
        assert (m.counted, m.better, m.worse) == (counted, better, worse)
        assert m.shares() == (better / counted, worse / counted)


def test_shares_without_counted_samples_are_nan() -> None:
    m = PairedMoments()
    nan = np.full(3, np.nan)
    m.update((np.ones(3), None), (np.ones(3), None), (nan, np.ones(3)))
    assert m.counted == 0
    assert all(math.isnan(s) for s in m.shares())


def test_values_are_both_models_ratios_or_their_roots() -> None:
    va, wa, vb, wb = _models(30, 3)
    m = fed((va, wa), (vb, wb), 8)
    ra, rb = va.sum() / wa.sum(), vb.sum() / wb.sum()
    assert m.values(Reduce.MEAN) == pytest.approx((ra, rb), rel=1e-14)
    assert m.values(Reduce.SQRT_MEAN) == pytest.approx((math.sqrt(ra), math.sqrt(rb)), rel=1e-14)
    assert all(math.isnan(v) for v in PairedMoments().values(Reduce.MEAN))


def _influence_se(
    va: np.ndarray, wa: np.ndarray, vb: np.ndarray, wb: np.ndarray, root: bool
) -> tuple[float, float]:
    """value(B) − value(A) and its paired standard error from each sample's influence
    (``losscli.stats.influence``): z_i = s·(v_i − R·w_i)/w̄ with R = Σv/Σw, w̄ = Σw/n,
    s = 1 (a mean) or 1/(2√R) (a root); u = z_B − z_A; se = sd(u, ddof=1)/√n."""
    n = len(va)

    def side(v: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
        r = v.sum() / w.sum()
        s = 1 / (2 * math.sqrt(r)) if root else 1.0
        return (math.sqrt(r) if root else r), s * (v - r * w) / w.mean()

    value_a, za = side(va, wa)
    value_b, zb = side(vb, wb)
    return value_b - value_a, float(np.std(zb - za, ddof=1) / math.sqrt(n))


@pytest.mark.parametrize(
    ("reduce", "scale"), [(Reduce.MEAN, 1.0), (Reduce.SQRT_MEAN, 1.0), (Reduce.SQRT_MEAN, 0.05)]
)
def test_weighted_paired_difference_is_the_influence_standard_error(
    reduce: Reduce, scale: float
) -> None:
    va, wa, vb, wb = _models(40, 4)
    va, vb = va * scale, vb * scale  # 0.05: values whose roots are below 1
    diff, se = _influence_se(va, wa, vb, wb, reduce is Reduce.SQRT_MEAN)
    d = fed((va, wa), (vb, wb), 9).finalize(reduce)
    assert d.diff == pytest.approx(diff, rel=1e-12)
    assert d.se == pytest.approx(se, rel=1e-10)
    assert (d.df, d.n) == (39, 40)
    half = scipy_stats.t.ppf(0.975, 39) * se
    assert (d.ci_low, d.ci_high) == pytest.approx((diff - half, diff + half), rel=1e-9)
    exact = fed((va, wa), (vb, wb), 9).finalize(reduce, exact=(1.0, 3.0))
    assert exact.diff == 2.0 and exact.se == pytest.approx(se, rel=1e-10)


def test_a_weight_column_that_never_varies_adds_nothing_even_with_an_infinite_coefficient() -> None:
    # A's weights are all 1e-300: R_A = Σv/Σw ≈ 1e300 and, for a root, the coefficient of
    # A's weight column, s·R/w̄ = R/(2√R·w̄) ≈ 1e450, overflows to inf. The column never
    # varies, so it adds nothing: the standard error is the influences' (finite) one.
    va, _, vb, wb = _models(20, 7)
    wa = np.full(20, 1e-300)
    diff, se = _influence_se(va, wa, vb, wb, root=True)
    d = fed((va, wa), (vb, wb), 6).finalize(Reduce.SQRT_MEAN)
    assert math.isfinite(se) and d.se == pytest.approx(se, rel=1e-9)
    assert d.diff == pytest.approx(diff, rel=1e-12)


def test_unweighted_paired_difference_is_scipys_ttest_rel() -> None:
    va, _, vb, _ = _models(25, 5)
    d = fed((va, None), (vb, None), 4).finalize(Reduce.MEAN)
    ref = scipy_stats.ttest_rel(vb, va)
    assert d.diff / d.se == pytest.approx(ref.statistic, rel=1e-10)
    assert d.test(0.0).p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert d.method == PAIRED
    # differences 0, 1, 0, 1: their centred squares sum to exactly 1
    va, vb = np.array([1.0, 3.0, 2.0, 5.0]), np.array([1.0, 4.0, 2.0, 6.0])
    d = fed((va, None), (vb, None), 4).finalize(Reduce.MEAN)
    assert d.diff / d.se == pytest.approx(scipy_stats.ttest_rel(vb, va).statistic, rel=1e-12)
    # two samples: one degree of freedom
    d = fed((va[:2], None), (vb[:2], None), 1).finalize(Reduce.MEAN)
    ref = scipy_stats.ttest_rel(vb[:2], va[:2])
    assert (d.df, d.diff / d.se) == (1, pytest.approx(ref.statistic, rel=1e-12))


def test_float32_terms_are_summed_in_float64() -> None:
    va, wa, vb, wb = (x.astype(np.float32) for x in _models(200, 6))
    x = np.column_stack([va, wa, vb - va.astype(np.float64), wb - wa.astype(np.float64)])
    x = x.astype(np.float64)
    mean = x.mean(axis=0)
    m = fed((va, wa), (vb, wb), 200)
    np.testing.assert_allclose(m.mean, mean, rtol=1e-14)
    np.testing.assert_allclose(m.comoment, (x - mean).T @ (x - mean), rtol=1e-12)
    wide = [np.asarray(v, np.float64) for v in (va, wa, vb, wb)]
    np.testing.assert_allclose(m.totals, [v.sum() for v in wide], rtol=1e-14)


def test_one_sample_or_no_weight_has_no_interval() -> None:
    one = fed((np.array([1.0]), None), (np.array([3.0]), None), 1).finalize(Reduce.MEAN)
    assert one.diff == 2.0 and math.isnan(one.se) and one.n == 1
    zero = fed((np.ones(4), np.zeros(4)), (np.ones(4), None), 2).finalize(Reduce.MEAN)
    assert math.isnan(zero.diff)
    assert math.isnan(PairedMoments().finalize(Reduce.MEAN).diff)


def test_a_root_of_zero_loss_has_no_influence_and_a_negative_mean_no_root() -> None:
    # model A is perfect (all zero): its root is 0 and its influence scale 0, so
    # u = z_B alone: s_B·(v_B − R_B)/1 with s_B = 1/(2√R_B)
    vb = np.array([1.0, 4.0, 0.0, 2.0, 3.0])
    d = fed((np.zeros(5), None), (vb, None), 2).finalize(Reduce.SQRT_MEAN)
    r = vb.mean()
    u = (vb - r) / (2 * math.sqrt(r))
    assert d.diff == pytest.approx(math.sqrt(r), rel=1e-14)
    assert d.se == pytest.approx(np.std(u, ddof=1) / math.sqrt(5), rel=1e-12)
    # A's mean is negative: no root (NaN), no influence (scale 0, and its NaN ratio's
    # coefficient meets a weight that never varies); B's influence is the whole spread
    vb = np.array([1.0, 2.0, 4.0])
    neg = fed((-np.array([1.0, 2.0, 3.0]), None), (vb, None), 3).finalize(Reduce.SQRT_MEAN)
    assert math.isnan(neg.diff)
    u = (vb - vb.mean()) / (2 * math.sqrt(vb.mean()))
    assert neg.se == pytest.approx(np.std(u, ddof=1) / math.sqrt(3), rel=1e-12)


# --------------------------------------------------------------------------- Disagreements


def _top_k(stack: np.ndarray, k: int) -> list[int]:
    """Rows by spread (max − min over the models, NaN left out), largest first, ties by
    row; rows of NaN only left out: a full sort."""
    spread = [
        (max(v) - min(v)) if len(v := [x for x in row if not np.isnan(x)]) else np.nan
        for row in stack
    ]
    kept = [i for i in range(len(stack)) if not np.isnan(spread[i])]
    return sorted(kept, key=lambda i: (-spread[i], i))[:k]


@pytest.mark.parametrize(("k", "chunk"), [(1, 5), (3, 7), (12, 37), (80, 13), (500, 60)])
def test_disagreements_are_the_top_k_of_a_full_sort(k: int, chunk: int) -> None:
    rng = np.random.default_rng(k)
    n = 120
    stack = np.round(rng.gamma(1.0, 1.0, (n, 3)), 1)  # rounded: many ties
    stack[rng.choice(n, 15, replace=False), 1] = np.nan
    stack[rng.choice(n, 4, replace=False)] = np.nan
    keys = np.array([f"s{i}" for i in range(n)])
    heap = Disagreements(k)
    for a in range(0, n, chunk):
        heap.update(keys[a : a + chunk], list(stack[a : a + chunk].T), a)
    order = _top_k(stack, k)
    got = heap.finalize()
    assert [g[0] for g in got] == [f"s{i}" for i in order]
    for (_, values, spread), i in zip(got, order, strict=True):
        row = stack[i]
        assert spread == np.nanmax(row) - np.nanmin(row)
        np.testing.assert_array_equal(values, row)
        assert all(type(v) is float for v in values) and type(spread) is float
    assert heap.position.tolist() == order


def test_disagreements_of_two_halves_merge_into_those_of_the_whole() -> None:
    rng = np.random.default_rng(5)
    stack = np.round(rng.normal(size=(60, 2)), 1)
    keys = np.arange(60).astype(str)
    left, right = Disagreements(6), Disagreements(6)
    left.update(keys[:25], list(stack[:25].T), 0)
    right.update(keys[25:], list(stack[25:].T), 25)
    right.merge(Disagreements(6))  # an empty heap adds nothing
    left.merge(right)
    assert [g[0] for g in left.finalize()] == [str(i) for i in _top_k(stack, 6)]


def test_no_disagreements_without_room_rows_or_spread() -> None:
    keys = np.array(["a", "b"])
    none = Disagreements(0)
    none.update(keys, [np.array([0.0, 1.0]), np.array([5.0, 5.0])], 0)
    assert none.finalize() == []
    empty = Disagreements(3)
    empty.update(keys[:0], [np.empty(0), np.empty(0)], 0)
    empty.update(keys, [np.full(2, np.nan), np.full(2, np.nan)], 0)
    assert empty.finalize() == []
    # one model: every spread is 0, ties kept in the order the samples came
    alone = Disagreements(2)
    alone.update(np.array(["x", "y", "z"]), [np.array([3.0, 1.0, 2.0])], 10)
    assert alone.finalize() == [("x", (3.0,), 0.0), ("y", (1.0,), 0.0)]
    assert alone.position.tolist() == [10, 11] and alone.position.dtype == np.int64
    # more distinct rows than k in one update: the k largest
    top = Disagreements(3)
    top.update(np.array(list("abcde")), [np.zeros(5), np.array([1.0, 5.0, 2.0, 4.0, 3.0])], 0)
    assert [(g[0], g[2]) for g in top.finalize()] == [("b", 5.0), ("d", 4.0), ("e", 3.0)]


def test_a_full_heap_takes_only_rows_beating_its_last() -> None:
    heap = Disagreements(2)
    heap.update(np.array(["a", "b"]), [np.array([0.0, 0.0]), np.array([2.0, 1.0])], 0)
    # a tie with the last (1.0) came later: it stays out; 1.5 goes in
    heap.update(np.array(["c", "d"]), [np.array([0.0, 0.0]), np.array([1.0, 1.5])], 2)
    assert [(g[0], g[2]) for g in heap.finalize()] == [("a", 2.0), ("d", 1.5)]


# --------------------------------------------------------------------------- Samples


def test_samples_take_and_concat() -> None:
    a = Samples(
        np.array([1, 2, 3]),
        [np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])],
        [None, np.array([0.5, 1.0, 2.0])],
        [np.array([1.0, 2.0, 3.0]), np.array([4.0, np.nan, 6.0])],
        {"g": np.array(["x", "y", "x"]), "k": np.array([1, 2, 3])},
    )
    b = Samples(
        np.array([7, 8]),
        [np.array([7.0, 8.0]), np.array([9.0, 10.0])],
        [np.array([3.0, 4.0]), None],
        [np.array([7.0, 8.0]), np.array([9.0, 10.0])],
        {"g": np.array([np.nan, np.nan]), "k": np.array([4, 5])},  # a chunk of missing text
    )
    assert a.take(None) is a
    t = a.take(np.array([2, 0]))
    assert t.keys.tolist() == [3, 1] and len(t) == 2
    assert [v.tolist() for v in t.values] == [[3.0, 1.0], [6.0, 4.0]]
    assert t.weights[0] is None and t.weights[1].tolist() == [2.0, 0.5]
    assert t.shown[1].tolist() == [6.0, 4.0] and t.groups["g"].tolist() == ["x", "x"]
    assert Samples.concat([a], 2) is a
    c = Samples.concat([a, b], 2)
    assert c.keys.tolist() == [1, 2, 3, 7, 8]
    assert c.values[1].tolist() == [4.0, 5.0, 6.0, 9.0, 10.0]
    # weights of 1 where a part has none
    assert c.weights[0].tolist() == [1.0, 1.0, 1.0, 3.0, 4.0]
    assert c.weights[1].tolist() == [0.5, 1.0, 2.0, 1.0, 1.0]
    assert c.shown[0].tolist() == [1.0, 2.0, 3.0, 7.0, 8.0]
    # text and NaN joined as objects (NumPy alone would make the NaN the text "nan")
    assert c.groups["g"].dtype == object and c.groups["g"][:3].tolist() == ["x", "y", "x"]
    assert all(isinstance(v, float) and math.isnan(v) for v in c.groups["g"][3:])
    assert c.groups["k"].dtype == np.int64 and c.groups["k"].tolist() == [1, 2, 3, 4, 5]
    unweighted = Samples.concat([a.take(slice(0, 1)), a.take(slice(1, 3))], 1)
    assert unweighted.weights == [None] and unweighted.keys.tolist() == [1, 2, 3]
    assert unweighted.values[0].tolist() == [1.0, 2.0, 3.0]
    nothing = Samples.concat([], 1)
    assert len(nothing) == 0 and nothing.values[0].shape == (0,) and nothing.groups == {}


# --------------------------------------------------------------------------- Aligned


def _model(keys: np.ndarray, seed: int) -> Samples:
    v = np.random.default_rng(seed).gamma(2.0, 1.0, len(keys))
    return Samples(keys, [v], [None], [v])


def _stream(s: Samples, edges: list[int]) -> list[Samples]:
    return [s.take(slice(a, b)) for a, b in itertools.pairwise(edges)]


def test_aligned_rows_are_the_common_rows_in_order_whatever_the_chunks() -> None:
    rng = np.random.default_rng(4)
    keys = [np.sort(rng.choice(60, 45, replace=False)) for _ in range(3)]
    models = [_model(k, i) for i, k in enumerate(keys)]
    common = np.intersect1d(np.intersect1d(keys[0], keys[1]), keys[2])
    cuts = ([0, 1, 1, 20, 45], [0, 44, 45], [0, *range(3, 45, 3), 45])  # empty chunk in one
    aligned = Aligned([iter(_stream(m, c)) for m, c in zip(models, cuts, strict=True)], 1, True)
    out = list(aligned)
    assert all(len(p[0]) for p in out)  # nothing empty is yielded
    for m, model in enumerate(models):
        got = Samples.concat([p[m] for p in out], 1)
        np.testing.assert_array_equal(got.keys, common)
        np.testing.assert_array_equal(got.values[0], model.values[0][np.isin(model.keys, common)])
    for parts in out:  # each yielded chunk pairs the same rows
        for p in parts[1:]:
            np.testing.assert_array_equal(p.keys, parts[0].keys)
    assert aligned.complete is False


def test_aligned_rows_present_in_every_stream_are_complete() -> None:
    keys = np.arange(30)
    models = [_model(keys, 1), _model(keys, 2)]
    aligned = Aligned([iter(_stream(models[0], [0, 7, 30])), iter([models[1]])], 1, True)
    out = list(aligned)
    assert aligned.complete
    got = Samples.concat([p[1] for p in out], 1)
    np.testing.assert_array_equal(got.values[0], models[1].values[0])
    # a stream longer than the others: its last rows are not paired
    longer = Aligned([iter([models[0]]), iter([models[1].take(slice(0, 20))])], 1, True)
    assert sum(len(p[0]) for p in longer) == 20 and longer.complete is False


@pytest.mark.parametrize(
    "chunks",
    [
        [np.array([0, 2, 1])],  # decreasing inside a chunk
        [np.array([0, 1, 1])],  # repeated inside a chunk
        [np.array([0, 5]), np.array([5, 6])],  # repeated across chunks
        [np.array([0, 5]), np.array([3, 6])],  # decreasing across chunks
    ],
)
def test_rows_out_of_order_cannot_be_aligned(chunks: list[np.ndarray]) -> None:
    stream = iter([_model(k, 0) for k in chunks])
    other = iter([_model(np.arange(10), 1)])
    with pytest.raises(NotAligned):
        list(Aligned([other, stream], 1, True))


def test_aligned_ids_stream_in_the_same_order_else_refuse() -> None:
    keys = np.array([f"id{i}" for i in range(20)])
    a, b = _model(keys, 1), _model(keys, 2)
    aligned = Aligned([iter(_stream(a, [0, 3, 20])), iter(_stream(b, [0, 11, 20]))], 1, False)
    out = list(aligned)
    assert aligned.complete
    for m, model in enumerate((a, b)):
        got = Samples.concat([p[m] for p in out], 1)
        np.testing.assert_array_equal(got.keys, keys)
        np.testing.assert_array_equal(got.values[0], model.values[0])
    # one model in one chunk, the other in two; an empty chunk on the way
    for streams in (
        [iter([a]), iter(_stream(b, [0, 11, 20]))],
        [iter(_stream(a, [0, 3, 3, 20])), iter(_stream(b, [0, 3, 20]))],
    ):
        aligned = Aligned(streams, 1, False)
        out = list(aligned)
        assert aligned.complete
        assert Samples.concat([p[1] for p in out], 1).keys.tolist() == keys.tolist()
    with pytest.raises(NotAligned):
        list(Aligned([iter([a]), iter([_model(keys[::-1].copy(), 2)])], 1, False))
    with pytest.raises(NotAligned):  # --join inner kept fewer ids for one model
        list(Aligned([iter([a]), iter([b.take(slice(0, 15))])], 1, False))
    with pytest.raises(NotAligned):
        list(Aligned([iter([a.take(slice(0, 15))]), iter([b])], 1, False))


# --------------------------------------------------------------------------- GrowingSums


def _growing_with(
    r: Resampler, keys: np.ndarray, x: np.ndarray, group: np.ndarray, chunk: int
) -> np.ndarray:
    acc = GrowingSums(r, x.shape[1], groups=0)
    for s in range(0, len(keys), chunk):
        acc.update(keys[s : s + chunk], x[s : s + chunk], group[s : s + chunk])
    return acc.finalize()


def test_growing_sums_are_each_groups_explicit_weighted_sums() -> None:
    rng = np.random.default_rng(6)
    n = 3000  # Resampler(20).block = 2^18 // 20 = 13107 > n: one block, so a 3000-row chunk
    keys = rng.permutation(10_000)[:n].astype(np.uint64)
    x = np.column_stack([rng.exponential(size=n), rng.uniform(0.5, 2.0, n), np.ones(n)])
    group = rng.integers(0, 5, n)
    group[group == 3] = 4  # group 3 never appears: its sums stay 0
    r = Resampler(20, seed=3)
    sums = _growing_with(r, keys, x, group, n)
    assert sums.shape == (5, 20, 3)
    weights = r.matrix(keys)
    for g in range(5):
        sel = group == g
        np.testing.assert_allclose(sums[g], weights[:, sel] @ x[sel], rtol=1e-12, atol=1e-12)
    assert not sums[3].any()
    # chunks of 7 and 1000 give the same bits: blocks follow the order the samples come in
    assert np.array_equal(_growing_with(r, keys, x, group, 7), sums)
    assert np.array_equal(_growing_with(r, keys, x, group, 1000), sums)


def test_growing_sums_blocks_are_chunk_invariant() -> None:
    rng = np.random.default_rng(7)
    r = Resampler(2000, seed=1)  # block of 2^18 // 2000 = 131 samples
    n = 700
    keys = np.arange(n, dtype=np.uint64)
    x = np.column_stack([rng.lognormal(0, 3, n), np.ones(n)])
    group = rng.integers(0, 3, n)
    acc = GrowingSums(r, 2, groups=0)
    for s in range(0, n, 131 * 2):
        acc.update(keys[s : s + 131 * 2], x[s : s + 131 * 2], group[s : s + 131 * 2])
    got = acc.finalize()
    # the definition: per block of 131 samples in order, each group's Σ r·x added in turn
    want = np.zeros((3, 2000, 2))
    for s in range(0, n, 131):
        b = slice(s, s + 131)
        w = r.matrix(keys[b])
        for g in range(3):
            sel = group[b] == g
            want[g] += w[:, sel] @ x[b][sel]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.array_equal(_growing_with(r, keys, x, group, 9), got)


def test_growing_sums_merge_at_maps_the_others_groups() -> None:
    rng = np.random.default_rng(8)
    r = Resampler(16, seed=2)
    keys = np.arange(200, dtype=np.uint64)
    x = rng.normal(size=(200, 2))
    group = rng.integers(0, 3, 200)
    mine = _growing_with(r, keys[:100], x[:100], group[:100], 100)
    theirs = GrowingSums(r, 2, groups=0)
    theirs.update(keys[100:], x[100:], group[100:])
    acc = GrowingSums(r, 2, groups=0)
    acc.update(keys[:100], x[:100], group[:100])
    at = np.array([4, 0, 2])  # their group 0 is our 4 (new), 1 is our 0, 2 is our 2
    acc.merge_at(theirs, at)
    got = acc.finalize()
    assert got.shape == (5, 16, 2)
    other = _growing_with(r, keys[100:], x[100:], group[100:], 100)
    np.testing.assert_allclose(got[4], other[0], rtol=1e-12)
    np.testing.assert_allclose(got[0], mine[0] + other[1], rtol=1e-12)
    np.testing.assert_allclose(got[1], mine[1], rtol=1e-12)
    np.testing.assert_allclose(got[2], mine[2] + other[2], rtol=1e-12)
    assert not got[3].any()
    nothing = GrowingSums(r, 2, groups=0)
    nothing.merge_at(GrowingSums(r, 2, groups=0), np.array([], dtype=np.int64))
    assert nothing.finalize().shape == (0, 16, 2)
    nothing.grow(2)
    nothing.grow(1)  # never shrinks
    assert nothing.finalize().shape == (2, 16, 2) and nothing.groups == 2


# --------------------------------------------------------------------------- resampled tests


def test_paired_bootstrap_replicates_by_hand() -> None:
    # rows: Σr·v_A, Σr·w_A, Σr·v_B, Σr·w_B of two replicates
    sums = np.array([[4.0, 1.0, 9.0, 1.0], [1.0, 4.0, 8.0, 2.0]])
    # means: 9 − 4 = 5 and 8/2 − 1/4 = 3.75; roots: 3 − 2 = 1 and 2 − 1/2 = 1.5
    assert paired_bootstrap(sums).tolist() == [5.0, 3.75]
    assert paired_bootstrap(sums, root=True).tolist() == [1.0, 1.5]


@pytest.mark.parametrize("root", [False, True])
def test_sign_flips_swap_each_samples_models_and_weights(root: bool) -> None:
    rng = np.random.default_rng(13)
    va, wa, vb, wb = _models(12, 13)
    signs = rng.choice([-1.0, 1.0], (6, 12))
    flipped = np.column_stack([signs @ (vb - va), signs @ (wb - wa)])
    totals = np.array([va.sum(), wa.sum(), vb.sum(), wb.sum()])
    keep = signs > 0  # +1 keeps the pair, −1 swaps A's and B's terms (values and weights)

    def value(v: np.ndarray, w: np.ndarray) -> np.ndarray:
        ratio = v.sum(axis=1) / w.sum(axis=1)
        return np.sqrt(ratio) if root else ratio

    want = value(np.where(keep, vb, va), np.where(keep, wb, wa)) - value(
        np.where(keep, va, vb), np.where(keep, wa, wb)
    )
    np.testing.assert_allclose(sign_flips(flipped, totals, root), want, rtol=1e-12)


# --------------------------------------------------------------------------- saved states


def _write_binary(folder: Path, rows: slice, nan_rows: tuple[int, ...] = ()) -> tuple[Path, Path]:
    """Rows of a binary task with a weight and a group column (probabilities; 0/1 labels)."""
    rng = np.random.default_rng(11)
    n = 90
    p = rng.uniform(0.02, 0.98, n)
    y = (rng.uniform(size=n) < p).astype(int)
    text = [repr(float(v)) for v in p]
    for i in nan_rows:
        text[i] = ""  # an empty field: a missing prediction
    w = rng.uniform(0.5, 2.0, n)
    g = rng.choice(["de", "en", "fr"], n)
    folder.mkdir(exist_ok=True)
    preds = folder / "preds.csv"
    labels = folder / "labels.csv"
    lines = [f"{a},{b!r},{c}\n" for a, b, c in zip(text, w.tolist(), g, strict=True)]
    preds.write_text("p,w,g\n" + "".join(lines[rows]))
    labels.write_text("y\n" + "".join(f"{v}\n" for v in y[rows]))
    return preds, labels


def _options() -> Options:
    return Options(pred_cols=("p",), meta=MetaColumns("w", ("g",)), nan=NanPolicy.SKIP)


def _saved(folder: Path, cuts: list[tuple[int, int]]) -> list[Path]:
    states = []
    for i, (a, b) in enumerate(cuts):
        preds, labels = _write_binary(folder / f"part{i}", slice(a, b), NAN_ROWS)
        states.append(folder / f"part{i}.json")
        compute_files(
            preds, labels, LOSSES, _options(), top=6, by_class=True, save_state=states[-1]
        )
    return states


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The saved states of three parts of the rows (written once for the module's tests)."""
    return _saved(tmp_path_factory.mktemp("states"), CUTS)


def _altered(states: list[Path], i: int, folder: Path, change: Callable[[Any], Any]) -> Path:
    """A copy of state ``i`` changed by ``change`` (which edits the JSON document)."""
    doc = json.loads(states[i].read_text())
    change(doc)
    path = folder / f"altered{i}.json"
    path.write_text(json.dumps(doc))
    return path


NAN_ROWS = (5, 41, 70)  # skipped rows (--nan skip): later states' rows are numbered after them
LOSSES = ["bce", "brier"]
CUTS = [(0, 40), (40, 42), (42, 90)]


def test_merged_states_are_one_run_over_all_rows(tmp_path: Path, states: list[Path]) -> None:
    preds, labels = _write_binary(tmp_path / "whole", slice(None), NAN_ROWS)
    whole = compute_files(preds, labels, LOSSES, _options(), top=6, by_class=True)
    merged = merge_states(states)
    assert (merged.n_samples, merged.n_skipped) == (whole.n_samples, whole.n_skipped) == (87, 3)
    assert (merged.task, merged.classes, merged.kind) == (whole.task, whole.classes, whole.kind)
    for got, want in zip(merged.results, whole.results, strict=True):
        assert (got.loss, got.n) == (want.loss, want.n)
        for key in ("value", "std", "ci_low", "ci_high", "n_eff"):
            assert getattr(got, key) == pytest.approx(getattr(want, key), rel=1e-12), key
    # the worst rows keep the whole file's row numbers: each state's rows come after the
    # rows (read and skipped) of the states before it
    assert [r.row for r in merged.worst] == [r.row for r in whole.worst]
    assert merged.worst == whole.worst
    assert len(merged.by_class) == len(whole.by_class) == 2
    assert (merged.group_by, merged.weight_col) == (("g",), "w")
    assert [(s.values, s.n) for s in merged.slices] == [(s.values, s.n) for s in whole.slices]
    for got_s, want_s in zip(merged.slices, whole.slices, strict=True):
        for got, want in zip(got_s.results, want_s.results, strict=True):
            assert got.value == pytest.approx(want.value, rel=1e-12)
    # the files: the paths joined, the content hashes hashed in the order given
    docs = [json.loads(s.read_text()) for s in states]
    shas = [d["files"][0][3] for d in docs]
    assert merged.preds.path == " + ".join(d["files"][0][0] for d in docs)
    assert merged.preds.sha256 == hashlib.sha256("".join(shas).encode()).hexdigest()
    assert merged.labels.columns == ("y",) and merged.preds.format == docs[0]["files"][0][1]
    one = merge_states(states[:1])
    assert (one.preds.sha256, one.preds.path) == (shas[0], docs[0]["files"][0][0])
    # a state of an input without a content hash: the union has none either
    unhashed = _altered(states, 1, tmp_path, lambda d: d["files"][0].__setitem__(3, None))
    assert merge_states([states[0], unhashed]).preds.sha256 is None
    assert merge_states([unhashed]).preds.sha256 is None
    twice = merge_states([states[0], states[0]])
    assert twice.preds.path == docs[0]["files"][0][0] and twice.n_samples == 2 * 39


def test_binary_values_round_trip_exactly_and_numpy_scalars_become_json(
    states: list[Path],
) -> None:
    saved = json.loads(states[0].read_text())["plan"]
    assert saved["binary_values"] == [{"float": "0x0.0p+0"}, {"float": "0x1.0000000000000p+0"}]
    plan = plan_from_state(saved)
    assert plan.binary_values == (0.0, 1.0) and plan.task is Task.BINARY
    assert plan_state(plan) == saved
    odd = replace(plan, binary_values=(np.float64(0.1), np.int64(3)))
    doc = json.loads(json.dumps(plan_state(odd)))
    assert doc["binary_values"] == [{"float": (0.1).hex()}, 3]
    back = plan_from_state(doc)
    assert back.binary_values == (0.1, 3) and type(back.binary_values[1]) is int
    text = replace(plan, binary_values=("no", "yes"))
    assert plan_from_state(json.loads(json.dumps(plan_state(text)))) == text
    assert plan_from_state(plan_state(replace(plan, binary_values=None))).binary_values is None


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("reduction", lambda d: d.update(reduction="sum")),
        ("losses", lambda d: d["losses"].pop()),
        ("top", lambda d: d["worst"].update(k=3)),
        ("by-class", lambda d: d.update(by_class=None)),
        ("weight column", lambda d: d["meta"].update(weight=None)),
        ("group-by", lambda d: d["meta"].update(groups=[])),
        ("min-slice-size", lambda d: d.update(min_slice_size=5)),
        ("plan task", lambda d: d["plan"].update(task="regression")),
    ],
)
def test_states_of_other_runs_do_not_merge(
    tmp_path: Path, states: list[Path], field: str, change: Callable[[dict[str, Any]], Any]
) -> None:
    other = _altered(states, 1, tmp_path, change)
    with pytest.raises(InputError, match=f"differ in {field} "):
        merge_states([states[0], other])


def test_the_plans_notes_are_no_part_of_a_runs_identity(tmp_path: Path, states: list[Path]) -> None:
    other = _altered(states, 1, tmp_path, lambda d: d["plan"].update(notes=[]))
    assert merge_states([states[0], other]).n_samples == 39 + 1


def test_a_version_1_state_has_no_meta_columns(tmp_path: Path, states: list[Path]) -> None:
    doc = json.loads(states[0].read_text())
    assert _meta(doc) == MetaColumns("w", ("g",))
    for key in ("meta", "min_slice_size", "slices"):
        del doc[key]
    doc["version"] = 1
    assert _meta(doc) == MetaColumns()
    ident = _identity(doc)
    assert (ident["weight column"], ident["group-by"], ident["min-slice-size"]) == (None, (), 0)
    assert ident["top"] == 6 and ident["by-class"] is True
    old = tmp_path / "v1.json"
    old.write_text(json.dumps(doc))
    merged = merge_states([old])
    assert (merged.slices, merged.group_by, merged.n_samples) == ((), (), 39)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("moments"),
        lambda d: d["plan"].pop("task"),
        lambda d: d.update(files=[[]]),
        lambda d: d["files"].pop(),  # was exit 4 (an IndexError) in merge_states
        lambda d: d["files"].append(d["files"][0]),
        lambda d: d["slices"]["rows"].pop(),
        lambda d: d["slices"]["keys"][0].append("x"),
        lambda d: d["slices"]["moments"].pop(),
    ],
)
def test_a_damaged_state_is_an_input_error(
    tmp_path: Path, states: list[Path], damage: Callable[[dict[str, Any]], Any]
) -> None:
    with pytest.raises(InputError, match="missing or damaged part"):
        merge_states([_altered(states, 0, tmp_path, damage)])


# --------------------------------------------------------------------------- slices


def test_key_text_names_each_column_and_value() -> None:
    columns = ("lang", "device", "new", "old", "k", "zero")
    key = ("de", None, True, False, 3, 0)
    assert key_text(columns, key) == "lang=de,device=(missing),new=true,old=false,k=3,zero=0"
    assert key_text((), ()) == ""


def _terms(rng: np.random.Generator, n: int, weighted: tuple[bool, bool]) -> list[PerSample]:
    return [
        PerSample(rng.gamma(2.0, 1.0, n), rng.uniform(0.5, 2.0, n) if w else None) for w in weighted
    ]


def _sliced_in_chunks(monkeypatch: pytest.MonkeyPatch, boot: bool) -> tuple[Sliced, dict]:
    """Three chunks of 20 rows; loss 0 weighted in the middle chunk only, loss 1 in all but
    it; held until FLUSH_ROWS (here 30) rows have come, so two flushes."""
    monkeypatch.setattr(slices, "FLUSH_ROWS", 30)
    rng = np.random.default_rng(12)
    sliced = Sliced(("g",), 2, resampler=Resampler(40, seed=4) if boot else None)
    rows: dict[str, list[np.ndarray]] = {"g": [], "v0": [], "w0": [], "v1": [], "w1": []}
    for c, weighted in enumerate([(False, True), (True, False), (False, True)]):
        g = rng.choice(np.array(["a", "b", None, "c"][: 2 + c], dtype=object), 20)
        terms = _terms(rng, 20, weighted)
        sliced.add({"g": g}, terms, np.arange(20 * c, 20 * c + 20, dtype=np.uint64))
        rows["g"].append(g)
        for i, t in enumerate(terms):
            rows[f"v{i}"].append(t.values)
            rows[f"w{i}"].append(np.ones(20) if t.weights is None else t.weights)
    return sliced, {k: np.concatenate(v) for k, v in rows.items()}


def test_each_slice_holds_the_moments_and_count_of_its_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sliced, rows = _sliced_in_chunks(monkeypatch, boot=False)
    assert len(sliced._pending) == 1  # the third chunk is held
    keys = sliced.keys  # flushes
    assert keys == [(v,) for v in dict.fromkeys(rows["g"])]  # in order of first sight
    assert len(keys) == 4
    assert sliced.rows_of.tolist() == [float(np.sum([v == k[0] for v in rows["g"]])) for k in keys]
    for number, (value,) in enumerate(keys):
        sel = np.array([v == value for v in rows["g"]])
        for i in range(2):
            ref = Moments()
            ref.update(rows[f"v{i}"][sel] * 1.0, rows[f"w{i}"][sel])
            got = sliced.moments[i].moments(number)
            for name in ("n", "sum_v", "sum_w", "mean_l", "m_ll"):
                assert getattr(got, name) == pytest.approx(getattr(ref, name), rel=1e-12), name


def test_slice_bootstrap_intervals_are_the_percentiles_of_the_slices_replicates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sliced, rows = _sliced_in_chunks(monkeypatch, boot=True)
    assert len(sliced.keys) == 4  # adds the held chunk, as Evaluation.finalize does first
    keys = np.arange(60, dtype=np.uint64)
    weights = Resampler(40, seed=4).matrix(keys)  # (40 replicates, 60 rows)
    for value in ("a", None, "c"):
        sel = np.array([v == value for v in rows["g"]])
        r = weights[:, sel]
        for i, root in ((0, False), (1, True)):
            ratio = (r @ rows[f"v{i}"][sel]) / (r @ rows[f"w{i}"][sel])
            reps = np.sqrt(ratio) if root else ratio
            reps = reps[np.isfinite(reps)]
            reduce = Reduce.SQRT_MEAN if root else Reduce.MEAN
            got = sliced.interval((value,), i, reduce, "mean", 0.9)
            assert got == pytest.approx(tuple(np.quantile(reps, [0.05, 0.95])), rel=1e-12)
        # --reduction sum: n·Σr·v/Σr per replicate
        total = sel.sum() * (r @ rows["v0"][sel]) / r.sum(axis=1)
        got = sliced.interval((value,), 0, Reduce.MEAN, "sum", 0.9)
        assert got == pytest.approx(tuple(np.quantile(total, [0.05, 0.95])), rel=1e-12)
    assert Sliced(("g",), 1).interval(("a",), 0, Reduce.MEAN, "mean", 0.9) is None


def test_sliced_merge_of_parts_with_bootstrap_equals_one_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    whole, rows = _sliced_in_chunks(monkeypatch, boot=True)
    r = Resampler(40, seed=4)
    first, second = Sliced(("g",), 2, resampler=r), Sliced(("g",), 2, resampler=r)
    for part, cut in ((first, slice(0, 25)), (second, slice(25, 60))):
        terms = [PerSample(rows[f"v{i}"][cut], rows[f"w{i}"][cut]) for i in range(2)]
        part.add({"g": rows["g"][cut]}, terms, np.arange(60, dtype=np.uint64)[cut])
    first.merge(second)
    first.merge(Sliced(("g",), 2, resampler=r))  # nothing to add
    assert sorted(map(str, first.keys)) == sorted(map(str, whole.keys))
    for key in whole.keys:
        a, b = whole.keys.index(key), first.keys.index(key)
        assert first.rows_of[b] == whole.rows_of[a]
        for i in range(2):
            assert first.moments[i].moments(b).sum_v == pytest.approx(
                whole.moments[i].moments(a).sum_v, rel=1e-12
            )
            assert first.interval(key, i, Reduce.MEAN, "mean", 0.9) == pytest.approx(
                whole.interval(key, i, Reduce.MEAN, "mean", 0.9), rel=1e-12
            )
    # rows of a slice first seen in a merge join it, not a new slice
    more = {"g": np.array(["c", None, "c"], dtype=object)}
    first.add(more, [PerSample(np.ones(3), None)] * 2, np.arange(60, 63, dtype=np.uint64))
    assert len(first.keys) == len(whole.keys) == 4
    assert first.rows_of[first.keys.index(("c",))] == whole.rows_of[whole.keys.index(("c",))] + 2


def test_unused_dictionary_values_make_no_slice() -> None:
    coder = SliceCoder(("g",))
    coded = Coded(np.array([1, 1, -1, 1]), np.array(["unused", "b", "also unused"], object))
    assert coder.codes({"g": coded}).tolist() == [0, 0, 1, 0]
    assert coder.keys == [("b",), (None,)]
    later = Coded(np.array([0, 2]), np.array(["z", "unused", "b"], object))
    assert coder.codes({"g": later}).tolist() == [2, 0]
    assert coder.keys == [("b",), (None,), ("z",)]


def test_blank_text_is_missing_and_booleans_are_not_integers() -> None:
    coder = SliceCoder(("g",))
    text = np.array(["a", "", "  ", None], dtype=object)  # an empty CSV field is missing
    assert coder.codes({"g": text}).tolist() == [0, 1, 1, 1]
    # a boolean chunk, then an integer one (True == 1 in Python): four slices
    assert coder.codes({"g": np.array([True, False])}).tolist() == [2, 3]
    assert coder.codes({"g": np.array([1, 0, 1])}).tolist() == [4, 5, 4]
    assert coder.keys == [("a",), (None,), (True,), (False,), (1,), (0,)]


def test_new_slices_are_numbered_in_order_of_first_sight() -> None:
    coder = SliceCoder(("g",))
    assert coder.codes({"g": np.array(["a", "b"], dtype=object)}).tolist() == [0, 1]
    assert coder.codes({"g": np.array(["z", None, "a"], dtype=object)}).tolist() == [2, 3, 0]
    assert coder.keys == [("a",), ("b",), ("z",), (None,)]


def test_slices_in_a_state_round_trip_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    sliced, rows = _sliced_in_chunks(monkeypatch, boot=False)
    sliced.kish = True
    state = json.loads(json.dumps(sliced.to_state()))
    assert state["columns"] == ["g"] and state["kish"] is True
    assert state["keys"] == [[v] for v in dict.fromkeys(rows["g"])]
    assert state["rows"] == [int(r) for r in sliced.rows_of] and sum(state["rows"]) == 60
    back = Sliced.from_state(state, 2)
    assert (back.columns, back.kish, back.keys) == (("g",), True, sliced.keys)
    assert back.rows_of.tolist() == sliced.rows_of.tolist()
    for mine, theirs in zip(back.moments, sliced.moments, strict=True):
        assert mine.kish is theirs.kish
        for name, values in theirs.sums.items():
            assert mine.sums[name].tolist() == values.tolist(), name
    crossed = Sliced(("k", "flag"), 1)
    crossed.add(
        {"k": np.array([1, 2]), "flag": np.array([True, False])},
        _terms(np.random.default_rng(1), 2, (False,)),
    )
    assert Sliced.from_state(json.loads(json.dumps(crossed.to_state())), 1).keys == [
        (1, True),
        (2, False),
    ]
    empty = Sliced(("g",), 1).to_state()
    assert (empty["keys"], empty["rows"]) == ([], [])
    assert Sliced.from_state(empty, 1).keys == []
    with pytest.raises(ValueError, match="slice key"):
        Sliced.from_state({**state, "keys": [["a", 1], *state["keys"][1:]]}, 2)
    with pytest.raises(ValueError, match="different lengths"):
        Sliced.from_state({**state, "rows": state["rows"][:-1]}, 2)
    with pytest.raises(ValueError, match="different lengths"):
        Sliced.from_state(state, 3)


def test_slices_are_worst_first_then_by_their_values_and_hidden_ones_last() -> None:
    # mse per slice (labels 0): the mean of p² over its rows, by hand
    p = np.array([1.0, 1.0, 2.0, 0.0, 3.0, 1.0, 1.0, 0.5])
    g = ["x", "y", "z", "z", "w", None, "v", "v"]
    got = losscli.compute("mse", p, np.zeros(8), groups={"g": g}, weights=[1] * 7 + [0])
    # w: 9; z: (4 + 0)/2 = 2; ties at 1: None (missing first), "v" (row 7 has weight 0),
    # "x", "y"
    assert [(s.values[0], s.results[0].value) for s in got.slices] == [
        ("w", 9.0),
        ("z", 2.0),
        (None, 1.0),
        ("v", 1.0),
        ("x", 1.0),
        ("y", 1.0),
    ]


def test_a_state_of_arrays_without_classes_slices_or_columns(tmp_path: Path) -> None:
    # regression on .npy arrays: no kind, no per-class rows, no slices, no column names
    rng = np.random.default_rng(14)
    p, y = rng.normal(size=30), rng.normal(size=30)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", y)
    state = tmp_path / "s.json"
    whole = compute_files(
        tmp_path / "p.npy", tmp_path / "y.npy", ["mse"], Options(), save_state=state
    )
    doc = json.loads(state.read_text())
    assert doc["plan"]["kind"] is None and doc["by_class"] is None and doc["slices"] is None
    assert [f[2] for f in doc["files"]] == [None, None]
    merged = merge_states([state, state])
    assert merged.n_samples == 60 and merged.preds.columns is None
    # each sample counted twice: the same mean, as one run over both copies
    assert merged.results[0].value == pytest.approx(whole.results[0].value, rel=1e-12)
    assert merged.results[0].value == pytest.approx(np.mean((p - y) ** 2), rel=1e-12)


def test_a_state_that_cannot_be_written_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"^--save-state .*: cannot write the file"):
        write_state(tmp_path / "missing" / "s.json", {"format": "losscli-state"})


def test_a_state_keeps_the_reduction_and_the_convention(tmp_path: Path) -> None:
    rng = np.random.default_rng(15)
    p, y = rng.uniform(0.05, 0.95, 20), rng.integers(0, 2, 20)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", y)
    files = (tmp_path / "p.npy", tmp_path / "y.npy")
    state = tmp_path / "sum.json"
    compute_files(*files, ["bce"], Options(), reduction="sum", save_state=state)
    merged = merge_states([state, state])
    # --reduction sum over both copies: twice the sum of −[y log p + (1 − y) log(1 − p)]
    terms = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert merged.results[0].value == pytest.approx(2 * terms.sum(), rel=1e-12)
    sk = tmp_path / "sk.json"
    whole = compute_files(*files, ["brier"], Options(), convention="sklearn", save_state=sk)
    got = merge_states([sk]).results[0]
    assert (got.convention, got.convention_note) == (
        whole.results[0].convention,
        whole.results[0].convention_note,
    )
    assert got.convention == "sklearn"


def test_a_merged_state_hides_the_slices_under_its_min_slice_size(tmp_path: Path) -> None:
    preds, labels = _write_binary(tmp_path / "whole", slice(None), NAN_ROWS)
    whole = compute_files(preds, labels, LOSSES, _options(), top=6, min_slice_size=29)
    assert any(s.hidden for s in whole.slices) and not all(s.hidden for s in whole.slices)
    parts = []
    for i, (a, b) in enumerate(CUTS):
        preds, labels = _write_binary(tmp_path / f"p{i}", slice(a, b), NAN_ROWS)
        parts.append(tmp_path / f"p{i}.json")
        compute_files(
            preds, labels, LOSSES, _options(), top=6, min_slice_size=29, save_state=parts[-1]
        )
    merged = merge_states(parts)
    assert [(s.values, s.n, s.hidden) for s in merged.slices] == [
        (s.values, s.n, s.hidden) for s in whole.slices
    ]


def test_aligned_rows_are_paired_as_they_stream() -> None:
    """The first paired chunk comes before the streams end: memory bounded by the chunks."""
    keys = np.arange(40)
    pulled = [0, 0]

    def stream(m: int) -> Iterator[Samples]:
        for part in _stream(_model(keys, m), [0, 10, 20, 30, 40]):
            pulled[m] += 1
            yield part

    first = next(iter(Aligned([stream(0), stream(1)], 1, True)))
    assert pulled == [1, 1] and [len(p) for p in first] == [10, 10]
