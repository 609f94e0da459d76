"""The mergeable accumulators of ``losscli.engine.accumulators`` and ``intervals``, called
directly (no file, no CLI), so that ``make mutation`` meets each of their mutants in a few
milliseconds. Every expected value is NumPy's over the whole array (means, centred sums,
``np.percentile`` of replicates), a hand derivation written next to it, or an exact property:
the same sums for chunks of 7, 0, 1 and the rest as for the whole, and a saved state read
back bit for bit.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from losscli.engine.accumulators import (
    ByClass,
    Calibration,
    GroupMoments,
    Moments,
    OutputMoments,
    Worst,
    hexes,
    unhex,
)
from losscli.engine.intervals import CiMethod, Intervals, LossBootstrap, clip_to_range
from losscli.engine.resample import Resampler
from losscli.engine.results import CalibrationBin, WorstRow
from losscli.errors import InputError, UsageError
from losscli.interpret.plan import Batch
from losscli.losses import Confidences, PerSample, Reduce

CUTS = [7, 7, 8]  # chunks of 7, 0, 1 and the rest
SUMS = ("sum_v", "sum_w", "mean_v", "mean_w", "m_vv", "m_ww", "m_vw", "sum_ww", "mean_l", "m_ll")


def _through_json(state: dict) -> dict:
    return json.loads(json.dumps(state))


def _oracle(v: np.ndarray, w: np.ndarray | None) -> dict[str, float]:
    """What ``Moments`` holds, by NumPy over the whole array: rows of weight 0 and value 0
    are ignored (counted apart); the Kish sums run over the rows of positive weight, with
    each row's own loss ℓ = v/w and its weighted mean Σv/Σw."""
    ignored = 0
    if w is None:
        w_all = np.ones(len(v))
    else:
        out = (w == 0) & (v == 0)
        ignored = int(out.sum())
        v, w_all = v[~out], w[~out]
    dv, dw = v - v.mean(), w_all - w_all.mean()
    pos = w_all > 0
    own = v[pos] / w_all[pos]
    mean_l = v[pos].sum() / w_all[pos].sum()
    return {
        "n": len(v),
        "ignored": ignored,
        "sum_v": v.sum(),
        "sum_w": w_all.sum(),
        "mean_v": v.mean(),
        "mean_w": w_all.mean(),
        "m_vv": dv @ dv,
        "m_ww": dw @ dw,
        "m_vw": dv @ dw,
        "sum_ww": w_all[pos] @ w_all[pos],
        "mean_l": mean_l,
        "m_ll": w_all[pos] @ (own - mean_l) ** 2,
    }


def _assert_holds(m: Moments, want: dict[str, float]) -> None:
    assert (m.n, m.ignored) == (want["n"], want["ignored"])
    for name in SUMS:
        assert getattr(m, name) == pytest.approx(want[name], rel=1e-12, abs=1e-12), name


def _weighted_rows(seed: int, n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Values and weights with ignored rows (0, 0), a weight 0 with a value (kept in n, left
    out of the Kish sums), and weights other than 1."""
    rng = np.random.default_rng(seed)
    v = rng.normal(3.0, 2.0, n)
    w = rng.uniform(0.5, 3.0, n)
    v[[2, 11, 19]] = 0.0
    w[[2, 11, 19]] = 0.0
    w[[5, 17]] = 0.0
    v *= w  # a weighted loss: v = w·ℓ
    return v, w


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kish", [False, True])
def test_moments_of_chunks_are_numpys_sums_of_the_whole(weighted: bool, kish: bool) -> None:
    v, w = _weighted_rows(1)
    if not weighted:
        w = None
    acc = Moments(kish=kish)
    for part in range(len(CUTS) + 1):
        lo = ([0, *CUTS])[part]
        hi = ([*CUTS, len(v)])[part]
        acc.update(v[lo:hi], None if w is None else w[lo:hi])
    _assert_holds(acc, _oracle(v, w))
    assert acc.kish is kish
    assert acc.n_eff == pytest.approx(
        acc.sum_w**2 / _oracle(v, w)["sum_ww"], rel=1e-12
    )  # Kish: (Σw)² / Σw²


def test_moments_of_partitions_merge_into_the_whole_in_any_order() -> None:
    """Partitions merged as a tree (((a + b) + (c + d))) or into an empty accumulator give
    the whole array's sums; an empty part changes nothing."""
    v, w = _weighted_rows(2, 40)
    parts = []
    for lo, hi in [(0, 9), (9, 10), (10, 10), (10, 40)]:
        m = Moments(kish=True)
        m.update(v[lo:hi], w[lo:hi])
        parts.append(m)
    left, right = parts[0], parts[2]
    left.merge(parts[1])
    right.merge(parts[3])
    left.merge(right)
    _assert_holds(left, _oracle(v, w))
    into_empty = Moments()
    into_empty.merge(left)
    _assert_holds(into_empty, _oracle(v, w))
    assert into_empty.kish  # a part with sample weights makes the whole weighted


def test_an_empty_weighted_moments_stays_weighted_when_merging_an_unweighted_part() -> None:
    m = Moments(kish=True)
    part = Moments()
    part.update(np.array([1.0, 2.0]), None)
    m.merge(part)
    assert m.kish and m.n == 2 and m.sum_v == 3.0


def test_a_chunk_with_as_many_ignored_rows_as_rows_is_counted() -> None:
    """One row (value 2, weight 1) and one ignored row: n 1, ignored 1, alone or by group."""
    v, w = np.array([0.0, 2.0]), np.array([0.0, 1.0])
    m = Moments()
    m.update(v, w)
    assert (m.n, m.ignored, m.sum_v, m.sum_w) == (1, 1, 2.0, 1.0)
    [(g, part)] = Moments.grouped(np.array([1, 1]), 2, v, w)
    assert (g, part.n, part.ignored, part.sum_v) == (1, 1, 1, 2.0)


def test_only_ignored_rows_are_counted_apart_and_leave_the_sums_empty() -> None:
    """Three rows of weight 0 and value 0 merged into a part with rows: n and the sums are
    the part's, ignored is 3 (both orders of the merge)."""
    ignored = Moments()
    ignored.update(np.zeros(3), np.zeros(3))
    assert (ignored.n, ignored.ignored, ignored.sum_w) == (0, 3, 0.0)
    rows = Moments()
    rows.update(np.array([1.0, 5.0]), np.array([1.0, 1.0]))
    a, b = Moments(), Moments()
    a.merge(ignored)
    a.merge(rows)
    b.merge(rows)
    b.merge(ignored)
    for m in (a, b):
        assert (m.n, m.ignored, m.sum_v, m.mean_v, m.m_vv) == (2, 3, 6.0, 3.0, 8.0)


def test_merging_a_part_into_an_empty_moments_copies_it_exactly() -> None:
    """An empty accumulator is the identity of ``merge``: it takes a part's sums as they
    are, NaN where the part has NaN, also for an infinite per-sample value (a Chan step
    from the empty side would add ∞·0 = NaN to the co-moment of v and the unit weights,
    which is 0); merging an empty one into a part changes nothing."""
    parts = [
        (np.array([0.5, 1.0, 1.47]), np.array([1.0, 2.0, 0.5])),
        (np.array([1.0, np.inf]), None),  # m_vw = 0: unit weights equal their mean
    ]
    for v, w in parts:
        part = Moments(kish=w is not None)
        part.update(v, w)
        for kish in (False, True):
            into = Moments(kish=kish)
            into.merge(part)
            assert (into.n, into.ignored, into.kish) == (len(v), 0, kish or part.kish)
            for name in SUMS:
                got, want = getattr(into, name), getattr(part, name)
                assert got == want or (math.isnan(got) and math.isnan(want)), name
        before = [getattr(part, name) for name in SUMS]
        part.merge(Moments())
        after = [getattr(part, name) for name in SUMS]
        assert part.n == len(v) and np.array_equal(after, before, equal_nan=True)


def test_parts_whose_rows_all_have_weight_zero_merge_without_dividing_by_zero() -> None:
    """Rows of weight 0 with a value are counted in n but have no weight: two such parts
    (values 1, then 2 and an ignored row) merge to n 2, ignored 1, Σv 3, mean 1.5 and
    m_vv = (1 − 1.5)² + (2 − 1.5)² = 0.5; Σw and the Kish sums stay 0 (no weighted Chan
    term). The mean is then undefined: an input error."""
    a, b = Moments(), Moments()
    a.update(np.array([1.0]), np.array([0.0]))
    b.update(np.array([2.0, 0.0]), np.array([0.0, 0.0]))
    a.merge(b)
    assert (a.n, a.ignored, a.sum_v, a.mean_v, a.m_vv) == (2, 1, 3.0, 1.5, 0.5)
    assert (a.sum_w, a.sum_ww, a.mean_l, a.m_ll) == (0.0, 0.0, 0.0, 0.0)
    with pytest.raises(InputError, match="every row is ignored"):
        a.finalize(Reduce.MEAN, "mean")


def test_root_of_the_mean_of_two_samples_by_hand() -> None:
    """RMSE of squared errors 0.25 and 0.75: value √0.5; sample std s = √(0.125 / 1)
    (m_vv = 2 · 0.25²), so by the delta method std = s / (2√0.5) = √0.125 / √2 = 0.25.
    Half-width of the mean t·s/√2 = 0.25·t, t the 97.5% quantile of Student's t with 1 df
    (the Cauchy distribution: tan(π(0.975 − 1/2)) ≈ 12.706): the mean's low bound
    0.5 − 0.25·t < 0 is cut at 0 before the root, high = √(0.5 + 0.25·t)."""
    t = math.tan(math.pi * 0.475)
    m = Moments()
    m.update(np.array([0.25, 0.75]), None)
    est = m.finalize(Reduce.SQRT_MEAN, "mean")
    assert est.value == math.sqrt(0.5)
    assert est.std == pytest.approx(0.25, rel=1e-14)
    assert est.ci_low == 0.0
    assert est.ci_high == pytest.approx(math.sqrt(0.5 + 0.25 * t), rel=1e-12)


def test_mean_of_two_samples_by_hand() -> None:
    """Values 1 and 3, no weights: mean 2, sample std √((1 + 1) / 1) = √2, half-width
    t·√2/√2 = t with t = tan(π(0.975 − 1/2)), Student's t quantile for 1 df (Cauchy).
    A single value has no sample std (n − 1 = 0): NaN."""
    t = math.tan(math.pi * 0.475)
    m = Moments()
    m.update(np.array([1.0, 3.0]), None)
    est = m.finalize(Reduce.MEAN, "mean")
    assert (est.value, est.std) == (2.0, pytest.approx(math.sqrt(2), rel=1e-15))
    assert (est.ci_low, est.ci_high) == pytest.approx((2 - t, 2 + t), rel=1e-12)
    one = Moments()
    one.update(np.array([3.0]), None)
    est = one.finalize(Reduce.MEAN, "mean")  # one sample: no sample std, no interval
    assert est.value == 3.0 and math.isnan(est.std) and math.isnan(est.ci_low)


def test_weighted_mean_std_is_the_linearised_ratio_estimators() -> None:
    """Without Kish, the std of Σv/Σw is √(Σ(v − r·w)² / (n − 1)) / mean(w), r = Σv/Σw
    (NumPy): m_vv − 2r·m_vw + r²·m_ww = Σ((v − v̄) − r(w − w̄))² = Σ(v − r·w)², as
    v̄ − r·w̄ = 0."""
    rng = np.random.default_rng(13)
    w = rng.uniform(0.5, 3.0, 25)
    v = w * rng.normal(2.0, 1.0, 25) + rng.normal(0.0, 0.5, 25)
    m = Moments()
    m.update(v, w)
    r = v.sum() / w.sum()
    est = m.finalize(Reduce.MEAN, "mean")
    assert est.value == pytest.approx(r, rel=1e-14)
    assert est.std == pytest.approx(np.sqrt(((v - r * w) ** 2).sum() / 24) / w.mean(), rel=1e-10)


def test_root_of_a_mean_of_zeros_has_no_delta_method_std() -> None:
    """RMSE of squared errors 0 and 0: value 0, sample std 0, interval [0, 0]; the delta
    method's s / (2·√mean) is 0 / 0 there, so the std is NaN."""
    m = Moments()
    m.update(np.zeros(2), None)
    est = m.finalize(Reduce.SQRT_MEAN, "mean")
    assert (est.value, est.ci_low, est.ci_high) == (0.0, 0.0, 0.0)
    assert math.isnan(est.std)


def test_moments_survive_a_saved_state_bit_for_bit() -> None:
    v, w = _weighted_rows(3)
    m = Moments(kish=True)
    m.update(v, w)
    m.update_outputs(np.column_stack([v, 2 * v]))
    m.update_calibration(Confidences(np.array([0.25, 1.0]), np.array([1.0, 0.0]), 4))
    back = Moments.from_state(_through_json(m.to_state()))
    assert (back.n, back.ignored, back.kish) == (m.n, m.ignored, True)
    for name in SUMS:
        assert getattr(back, name) == getattr(m, name), name
    assert back.outputs is not None and back.outputs.n == m.outputs.n
    assert back.calibration is not None
    assert back.calibration.count.tolist() == m.calibration.count.tolist()
    plain = Moments()
    plain.update(v, None)
    back = Moments.from_state(_through_json(plain.to_state()))
    assert back.outputs is None and back.calibration is None and not back.kish


def test_hex_floats_read_back_exactly_and_anything_else_is_refused() -> None:
    """Nested lists of ``float.hex`` strings read back to the same floats and shape, an empty
    list to an empty float array; a number where a hex string belongs (a damaged state) is
    a TypeError, which ``load_state`` turns into an input error."""
    x = np.array([[0.1, -2.5, math.inf], [1e-300, 0.0, 3.0]])
    back = unhex(_through_json({"x": hexes(x)})["x"])
    assert back.dtype == np.float64 and back.tolist() == x.tolist()
    empty = unhex([])
    assert empty.dtype == np.float64 and empty.shape == (0,)
    with pytest.raises(TypeError):
        unhex(["0x1.0000000000000p+0", 2])
    # float32 terms and integer counts are written as the float64 of the same value
    assert hexes(np.array([0.5, -3.0], dtype=np.float32)) == [
        "0x1.0000000000000p-1",
        "-0x1.8000000000000p+1",
    ]
    assert hexes(np.array([[2]])) == [["0x1.0000000000000p+1"]]
    assert hexes(np.zeros(0)) == []


# --------------------------------------------------------------------------- OutputMoments


def test_output_moments_survive_a_saved_state_bit_for_bit() -> None:
    x = np.random.default_rng(4).normal(size=(9, 3))
    acc = OutputMoments()
    acc.update(x)
    back = OutputMoments.from_state(_through_json(acc.to_state()))
    assert back.n == 9
    assert back.mean.shape == (3,) and back.comoment.shape == (3, 3)
    assert back.mean.tolist() == acc.mean.tolist()
    assert back.comoment.tolist() == acc.comoment.tolist()


def test_output_moments_state_of_the_wrong_shape_is_refused() -> None:
    """A damaged state: the means of 2 outputs saved as a 2 × 2 nested list."""
    acc = OutputMoments()
    acc.update(np.ones((3, 2)))
    state = acc.to_state()
    state["mean"] = [state["mean"], state["mean"]]
    with pytest.raises(ValueError):
        OutputMoments.from_state(state)
    state = acc.to_state()
    state["comoment"] = state["comoment"][:1]
    with pytest.raises(ValueError):
        OutputMoments.from_state(state)


def test_moments_merge_their_output_moments() -> None:
    """Two parts with per-output terms merged into a part without: the outputs' means are
    NumPy's column means of the whole."""
    x = np.random.default_rng(5).normal(size=(10, 2))
    a, b, c = Moments(), Moments(), Moments()
    a.update(x[:4].sum(axis=1), None)
    a.update_outputs(x[:4])
    b.update(x[4:].sum(axis=1), None)
    b.update_outputs(x[4:])
    c.merge(a)
    c.merge(b)
    assert c.outputs is not None and c.outputs.n == 10
    np.testing.assert_allclose(c.outputs.mean, x.mean(axis=0), rtol=1e-13)


def test_root_mean_of_kept_outputs_is_the_mean_of_their_roots() -> None:
    """Squared errors of 2 outputs, rows (1, 4) and (1, 4), per-sample value their mean
    2.5: RMSE over outputs (scikit-learn's multioutput='uniform_average') is
    (√1 + √4) / 2 = 1.5, while the plain mean stays the mean of the values, 2.5."""
    x = np.array([[1.0, 4.0], [1.0, 4.0]])
    m = Moments()
    m.update(x.mean(axis=1), None)
    m.update_outputs(x)
    assert m.finalize(Reduce.SQRT_MEAN, "mean").value == 1.5
    assert m.finalize(Reduce.MEAN, "mean").value == 2.5


# --------------------------------------------------------------------------- Calibration


def _conf(confidence: list[float], correct: list[float], n_bins: int = 4) -> Confidences:
    return Confidences(np.array(confidence), np.array(correct), n_bins)


def test_calibration_of_chunks_is_the_calibration_of_the_whole() -> None:
    """Confidences in multiples of 1/8 (exact sums): chunks of 3 and 4 give the same bins as
    the whole. By hand, with 4 bins [b/4, (b+1)/4) and a bin of its own for 1: counts
    1 (0.125), 2 (0.25, 0.375), 0, 3 (0.75, 0.875, 0.875), 1 (1.0)."""
    conf = [0.125, 0.875, 0.25, 1.0, 0.75, 0.375, 0.875]
    correct = [0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0]
    whole = Calibration(4)
    whole.update(_conf(conf, correct))
    chunked = Calibration(4)
    chunked.update(_conf(conf[:3], correct[:3]))
    chunked.update(_conf(conf[3:], correct[3:]))
    for acc in (whole, chunked):
        assert acc.count.tolist() == [1.0, 2.0, 0.0, 3.0, 1.0]
        assert acc.sum_conf.tolist() == [0.125, 0.625, 0.0, 2.5, 1.0]
        assert acc.sum_correct.tolist() == [0.0, 1.0, 0.0, 2.0, 1.0]


def test_calibration_merge_adds_the_bins_and_survives_a_saved_state() -> None:
    a, b = Calibration(4), Calibration(4)
    a.update(_conf([0.1, 0.6], [1.0, 0.0]))
    b.update(_conf([0.6, 1.0], [1.0, 1.0]))
    a.merge(b)
    assert a.count.tolist() == [1.0, 0.0, 2.0, 0.0, 1.0]
    assert a.sum_conf.tolist() == [0.1, 0.0, 1.2, 0.0, 1.0]
    assert a.sum_correct.tolist() == [1.0, 0.0, 1.0, 0.0, 1.0]
    back = Calibration.from_state(_through_json(a.to_state()))
    assert back.n_bins == 4
    for name in ("count", "sum_conf", "sum_correct"):
        assert getattr(back, name).tolist() == getattr(a, name).tolist()


def test_calibration_state_with_a_wrong_number_of_bins_is_refused() -> None:
    state = Calibration(4).to_state()
    state["sum_conf"] = state["sum_conf"][:-1]
    with pytest.raises(ValueError, match="sum_conf: 4 bins, expected 5"):
        Calibration.from_state(state)


def test_reliability_table_by_hand_with_empty_bins() -> None:
    """4 bins; confidences 0.125 (wrong), 0.875 and 0.75 (right, wrong). Bin 0: conf 0.125,
    acc 0, gap 0.125; bins 1 and 2 empty (None); bin 3: conf 0.8125, acc 0.5, gap 0.3125.
    No confidence is exactly 1, so the table has no fifth bin."""
    acc = Calibration(4)
    acc.update(_conf([0.125, 0.875, 0.75], [0.0, 1.0, 0.0]))
    assert acc.bins() == (
        CalibrationBin(0.0, 0.25, 1, 0.125, 0.0, 0.125),
        CalibrationBin(0.25, 0.5, 0, None, None, None),
        CalibrationBin(0.5, 0.75, 0, None, None, None),
        CalibrationBin(0.75, 1.0, 2, 0.8125, 0.5, 0.3125),
    )


def test_reliability_table_shows_the_bin_of_confidence_one_only_when_used() -> None:
    """3 bins; a confidence of exactly 1 (right) fills bin 3, [1, 1]: conf 1, acc 1, gap 0.
    Bin 2 (last regular) is empty, so only the last bin's count decides the table's length."""
    acc = Calibration(3)
    acc.update(Confidences(np.array([0.0, 1.0]), np.array([1.0, 1.0]), 3))
    bins = acc.bins()
    assert [(b.low, b.high, b.count) for b in bins] == [
        (0.0, 1 / 3, 1),
        (1 / 3, 2 / 3, 0),
        (2 / 3, 1.0, 0),
        (1.0, 1.0, 1),
    ]
    assert (bins[0].confidence, bins[0].accuracy, bins[0].gap) == (0.0, 1.0, 1.0)
    assert (bins[3].confidence, bins[3].accuracy, bins[3].gap) == (1.0, 1.0, 0.0)
    # The same run without the confidence 1: a last regular bin used, no bin of 1.
    acc = Calibration(3)
    acc.update(Confidences(np.array([0.0, 0.9]), np.array([1.0, 1.0]), 3))
    assert len(acc.bins()) == 3


# --------------------------------------------------------------------------- GroupMoments


def _group_oracle(codes: np.ndarray, g: int, v: np.ndarray, w: np.ndarray | None) -> dict:
    sel = codes == g
    return _oracle(v[sel], None if w is None else w[sel])


@pytest.mark.parametrize("weighted", [False, True])
def test_group_moments_of_chunks_are_numpys_sums_per_group(weighted: bool) -> None:
    """Groups 0..4 (group 3 never seen, group 4 only in the last chunk, so the arrays grow);
    each group's sums are NumPy's over its rows; ``Moments.grouped`` gives the same."""
    v, w = _weighted_rows(6, 40)
    codes = np.random.default_rng(7).choice([0, 1, 2], 40)
    codes[-3:] = 4
    if not weighted:
        w = None
    gm = GroupMoments(kish=weighted)
    for lo, hi in [(0, 7), (7, 7), (7, 8), (8, 40)]:
        size = int(codes[lo:hi].max()) + 1 if hi > lo else 1
        gm.update(codes[lo:hi], size, v[lo:hi], None if w is None else w[lo:hi])
    assert len(gm) == 5
    for g in (0, 1, 2, 4):
        _assert_holds(gm.moments(g), _group_oracle(codes, g, v, w))
    empty = gm.moments(3)
    assert (empty.n, empty.ignored, empty.sum_v, empty.sum_w) == (0, 0, 0.0, 0.0)
    grouped = dict(Moments.grouped(codes, 6, v, w, weighted))
    assert sorted(grouped) == [0, 1, 2, 4]  # groups present only
    for g, m in grouped.items():
        _assert_holds(m, _group_oracle(codes, g, v, w))
        assert m.kish is weighted


def test_groups_that_start_empty_ignored_weightless_or_with_one_row() -> None:
    """Three chunks over groups 0..4, weights below 1 (Σw ≤ 1 in every group): group 0 has
    small weights; group 1 an ignored row (weight 0, value 0) then a row; group 2 a row of
    weight 0 and value 1.5 (counted in n, not in Σw) then a weighted row; group 3 nothing,
    then its first and only row; group 4 nothing at all (every sum 0). Each group of
    ``GroupMoments`` and a ``Moments`` fed the same chunks' rows of that group hold NumPy's
    sums of the group's rows."""
    chunks = [
        ([0, 0, 1, 2], [0.5, 1.0, 0.0, 1.5], [0.1, 0.2, 0.0, 0.0], 4),
        ([1, 2, 3, 0], [0.6, 0.8, 2.0, 0.25], [0.3, 0.4, 0.5, 0.05], 4),
        ([0], [0.7], [0.35], 5),
    ]
    codes = np.concatenate([np.array(c[0]) for c in chunks])
    v = np.concatenate([np.array(c[1]) for c in chunks])
    w = np.concatenate([np.array(c[2]) for c in chunks])
    gm = GroupMoments(kish=True)
    per_group = [Moments(kish=True) for _ in range(5)]
    for c, cv, cw, size in chunks:
        c, cv, cw = np.array(c), np.array(cv), np.array(cw)
        gm.update(c, size, cv, cw)
        for g, m in enumerate(per_group):
            m.update(cv[c == g], cw[c == g])
    assert len(gm) == 5
    for g in range(4):
        want = _group_oracle(codes, g, v, w)
        _assert_holds(gm.moments(g), want)
        _assert_holds(per_group[g], want)
    for m in (gm.moments(4), per_group[4]):
        assert (m.n, m.ignored) == (0, 0)
        assert all(getattr(m, name) == 0.0 for name in SUMS)
    empty = GroupMoments()
    empty.merge(GroupMoments(), np.array([], dtype=np.intp))
    assert len(empty) == 0  # merging no group makes no room


def test_group_moments_merge_maps_their_groups() -> None:
    """A partition whose groups are numbered b, a (its 0 is the whole's 1) merged with ``at``
    = [1, 0, 2] gives each group the whole's sums; an empty ``at`` merges nothing."""
    v, w = _weighted_rows(8, 30)
    codes = np.array([0, 1] * 15)
    codes[:4] = 2
    mine, theirs = GroupMoments(kish=True), GroupMoments(kish=True)
    mine.update(codes[:12], 3, v[:12], w[:12])
    theirs.update(np.array([1, 0, 2])[codes[12:]], 3, v[12:], w[12:])
    mine.merge(theirs, np.array([1, 0, 2]))
    for g in range(3):
        _assert_holds(mine.moments(g), _group_oracle(codes, g, v, w))
    before = {k: a.copy() for k, a in mine.sums.items()}
    mine.merge(GroupMoments(), np.array([], dtype=np.intp))
    assert all(mine.sums[k].tolist() == before[k].tolist() for k in before)


def test_group_moments_survive_a_saved_state_bit_for_bit() -> None:
    v, w = _weighted_rows(9, 20)
    codes = np.arange(20) % 3
    gm = GroupMoments(kish=True)
    gm.update(codes, 3, v, w)
    back = GroupMoments.from_state(_through_json(gm.to_state()))
    assert back.kish is True and len(back) == 3
    assert {k: a.tolist() for k, a in back.sums.items()} == {
        k: a.tolist() for k, a in gm.sums.items()
    }
    state = gm.to_state()
    state["m_vv"] = state["m_vv"][:2]
    with pytest.raises(ValueError, match="different lengths"):
        GroupMoments.from_state(state)
    state = gm.to_state()  # damaged: every sum as a nested list (3 × 1, not 3)
    state = {k: [[x] for x in v] if isinstance(v, list) else v for k, v in state.items()}
    with pytest.raises(ValueError, match="different lengths"):
        GroupMoments.from_state(state)


# --------------------------------------------------------------------------- Worst


def _rows(keys: np.ndarray, offset: int):
    def describe(idx: np.ndarray) -> list[WorstRow]:
        return [WorstRow(int(i) + offset, None, (float(keys[i]),)) for i in idx]

    return describe


@pytest.mark.parametrize("k", [1, 3, 5])
def test_worst_rows_of_chunks_are_the_k_largest_of_the_whole(k: int) -> None:
    """The k rows of largest key (NaN ranks last), ties broken by row number, leaving out
    the rows not eligible: the same for chunks of 7, 0, 1 and the rest as NumPy's sort of
    the whole (by −key, then row)."""
    keys = np.array([3.0, 1.0, 5.0, 5.0, np.nan, 2.0, 5.0, 4.0, 0.5, 5.0, 4.0, 9.0, 1.0, 7.0])
    eligible = np.ones(len(keys), dtype=bool)
    eligible[11] = False  # the largest key, e.g. a row of sample weight 0
    ranked = np.where(np.isnan(keys), -np.inf, keys)
    rows = np.flatnonzero(eligible)
    want = rows[np.lexsort((rows, -ranked[rows]))][:k].tolist()
    acc = Worst(k)
    for lo, hi in [(0, 7), (7, 7), (7, 8), (8, len(keys))]:
        acc.update(keys[lo:hi], _rows(keys[lo:hi], lo), eligible[lo:hi])
    assert [r.row for r in acc.finalize()] == want
    assert acc.keys.tolist() == ranked[want].tolist()
    back = Worst.from_state(_through_json(acc.to_state()), row_offset=100)
    assert [r.row for r in back.finalize()] == [r + 100 for r in want]
    assert back.keys.tolist() == acc.keys.tolist() and back.k == k


def test_worst_keeps_the_first_of_rows_tied_with_the_kth_largest() -> None:
    """k = 2 of keys 5, 3, 3 in one chunk: rows 0 and 1 (row 2 ties with row 1 and comes
    later); keys 1, 4, 2, 4, 3, 0 with k = 3: rows 1, 3 (the two 4s), then row 4 (3);
    keys 1, 4, 2, 3 with k = 3: rows 1 (4), 3 (3), 2 (2)."""
    cases = [
        ([5.0, 3.0, 3.0], 2, [0, 1]),
        ([1.0, 4.0, 2.0, 4.0, 3.0, 0.0], 3, [1, 3, 4]),
        ([1.0, 4.0, 2.0, 3.0], 3, [1, 3, 2]),
    ]
    for keys, k, want in cases:
        x = np.array(keys)
        acc = Worst(k)
        acc.update(x, _rows(x, 0))
        assert [r.row for r in acc.finalize()] == want
        assert acc.keys.tolist() == x[want].tolist()


def test_worst_describes_no_row_that_cannot_enter() -> None:
    """Once k rows are kept, a later row whose key is at most the k-th largest kept can never
    enter (earlier rows win ties), so ``describe`` (which builds a row's ids, labels and
    predictions) is not asked for it. k = 2: rows 0..2 keep 4 and 3; of the next chunk
    (3, 1, 2.5, 5) only the 5 (row 6) is described; it replaces the 3."""
    asked: list[int] = []
    first = np.array([4.0, 2.0, 3.0])
    second = np.array([3.0, 1.0, 2.5, 5.0])

    def describe(keys: np.ndarray, offset: int):
        def build(idx: np.ndarray) -> list[WorstRow]:
            asked.extend(int(i) + offset for i in idx)
            return _rows(keys, offset)(idx)

        return build

    acc = Worst(2)
    acc.update(first, describe(first, 0))
    assert sorted(asked) == [0, 2]
    asked.clear()
    acc.update(second, describe(second, 3))
    assert asked == [6]
    assert [r.row for r in acc.finalize()] == [6, 0]


def test_worst_keeps_nothing_with_k_zero_or_no_rows() -> None:
    acc = Worst(0)
    acc.update(np.array([1.0]), _rows(np.array([1.0]), 0))
    assert acc.finalize() == ()
    acc = Worst(2)
    acc.update(np.array([]), _rows(np.array([]), 0))
    assert acc.finalize() == ()
    back = Worst.from_state(_through_json(acc.to_state()))  # a state of no rows
    assert back.finalize() == () and back.keys.shape == (0,) and back.k == 2


def test_worst_state_with_more_keys_than_rows_is_refused() -> None:
    acc = Worst(2, np.array([3.0]), [WorstRow(0, None, (3.0,))])
    state = acc.to_state()
    state["keys"] = state["keys"] * 2
    with pytest.raises(ValueError):
        Worst.from_state(state)


def test_worst_row_state_keeps_every_float_exactly() -> None:
    row = WorstRow(4, "id", (0.1, math.inf), 1, 0, 0.3, (1.0, 2.5), (0.7,), 3, 2 / 3)
    acc = Worst(1, np.array([0.1]), [row])
    back = Worst.from_state(_through_json(acc.to_state()))
    assert back.finalize() == (row,)
    plain = WorstRow(0, None, (1.0,))
    assert Worst.from_state(_through_json(Worst(1, np.array([1.0]), [plain]).to_state())).rows == [
        plain
    ]


# --------------------------------------------------------------------------- ByClass


def test_by_class_sums_are_numpys_per_class_and_survive_a_saved_state() -> None:
    """Classes −1 and 3 (outside 0..2) and weight-0 rows are not counted."""
    v, w = _weighted_rows(10, 24)
    classes = np.random.default_rng(11).integers(-1, 4, 24)
    acc = ByClass(2, 3)
    acc.update(0, PerSample(v, w), classes)
    acc.update(1, PerSample(2 * v[:10]), classes[:10])  # two chunks add up
    acc.update(1, PerSample(2 * v[10:]), classes[10:])
    keep0 = (classes >= 0) & (classes < 3) & (w > 0)
    keep1 = (classes >= 0) & (classes < 3)
    for c in range(3):
        s0, s1 = keep0 & (classes == c), keep1 & (classes == c)
        assert acc.count[:, c].tolist() == [s0.sum(), s1.sum()]
        assert acc.sum_v[:, c] == pytest.approx([v[s0].sum(), 2 * v[s1].sum()], rel=1e-13)
        assert acc.sum_w[:, c] == pytest.approx([w[s0].sum(), s1.sum()], rel=1e-13)
    back = ByClass.from_state(_through_json(acc.to_state()))
    for name in ("sum_v", "sum_w", "count"):
        assert getattr(back, name).tolist() == getattr(acc, name).tolist()


def test_by_class_state_of_the_wrong_shape_is_refused() -> None:
    """A damaged state (3 classes declared, 2 per loss saved) is a ValueError, which
    ``load_state`` turns into an input error."""
    acc = ByClass(1, 2)
    for name in ("sum_v", "sum_w", "count"):
        state = acc.to_state()
        state["n_classes"] = 3
        for other in ("sum_v", "sum_w", "count"):
            if other != name:
                state[other] = [["0x0.0p+0"] * 3]
        with pytest.raises(ValueError):
            ByClass.from_state(state)


# --------------------------------------------------------------------------- LossBootstrap


def _batch(lo: int, hi: int) -> Batch:
    return Batch(np.zeros(hi - lo), np.zeros(hi - lo), None, np.arange(lo, hi), None)


def test_loss_bootstrap_of_partitions_merges_into_the_whole() -> None:
    """Two losses and 3 classes, rows 0..59 in two partitions merged: the overall and the
    per-class intervals of the second loss are the 2.5/97.5% percentiles (NumPy) of
    Σ r·v / Σ r·w over the rows (of the class), with the resampler's weights r of each row."""
    rng = np.random.default_rng(12)
    n, b = 60, 200
    v0, v1 = rng.exponential(1.0, n), rng.exponential(5.0, n)
    w0, w1 = rng.uniform(0.5, 2.0, n), rng.uniform(0.5, 2.0, n)
    classes = rng.integers(0, 3, n)
    intervals = Intervals(CiMethod.BOOTSTRAP, b, 3)
    parts = []
    for lo, hi in [(0, 25), (25, n)]:
        boot = LossBootstrap(intervals, 2, 3)
        terms = [PerSample(v0[lo:hi], w0[lo:hi]), PerSample(v1[lo:hi], w1[lo:hi])]
        boot.update(_batch(lo, hi), terms, [(t, classes[lo:hi]) for t in terms])
        parts.append(boot)
    parts[0].merge(parts[1])
    whole = parts[0]
    assert whole.n == n
    r = Resampler(b, 3).matrix(np.arange(n, dtype=np.uint64))
    for i, (v, w) in enumerate([(v0, w0), (v1, w1)]):
        reps = (r @ v) / (r @ w)
        assert whole.interval(i, Reduce.MEAN, "mean") == pytest.approx(
            tuple(np.percentile(reps, [2.5, 97.5])), rel=1e-12
        )
        reps_sum = n * (r @ v) / r.sum(axis=1)  # --reduction sum: n times Σ r·v / Σ r
        assert whole.interval(i, Reduce.MEAN, "sum") == pytest.approx(
            tuple(np.percentile(reps_sum, [2.5, 97.5])), rel=1e-12
        )
    per_class = whole.class_intervals(1)
    for c in range(3):
        sel = classes == c
        reps_c = (r[:, sel] @ v1[sel]) / (r[:, sel] @ w1[sel])
        assert per_class[c] == pytest.approx(tuple(np.percentile(reps_c, [2.5, 97.5])), rel=1e-12)
    no_classes = LossBootstrap(intervals, 1)
    assert no_classes.by_class is None  # no per-class sums without --by-class
    assert no_classes.class_intervals(0) == []


def test_intervals_of_two_samples_by_hand() -> None:
    """Values 1 and 3 (n = 2, unit weights): sample std √2 (m_vv = 2 over n − 1 = 1), t the
    97.5% quantile of Student's t with 1 df, the Cauchy distribution: tan(π(0.975 − 1/2))
    (scipy.stats.t.ppf(0.975, 1) gives 12.706204736174694, 2 ulps away; no SciPy import,
    which took seconds here). Sum 4 ± t·√n·std = 4 ± 2t; with sample weights (Kish,
    n_eff = (Σw)²/Σw² = 2) the same std, mean 2 ± t·√2/√2 = 2 ± t, and the sum Σw = 2
    times that half-width: 4 ± 2t."""
    t = math.tan(math.pi * 0.475)
    plain, kish = Moments(), Moments(kish=True)
    plain.update(np.array([1.0, 3.0]), None)
    kish.update(np.array([1.0, 3.0]), np.array([1.0, 1.0]))
    s = plain.finalize(Reduce.MEAN, "sum")
    assert (s.value, s.std) == (4.0, pytest.approx(math.sqrt(2), rel=1e-15))
    assert (s.ci_low, s.ci_high) == pytest.approx((4 - 2 * t, 4 + 2 * t), rel=1e-12)
    m = kish.finalize(Reduce.MEAN, "mean")
    assert (m.value, m.std) == (2.0, pytest.approx(math.sqrt(2), rel=1e-12))
    assert (m.ci_low, m.ci_high) == pytest.approx((2 - t, 2 + t), rel=1e-12)
    s = kish.finalize(Reduce.MEAN, "sum")
    assert s.value == 4.0
    assert (s.ci_low, s.ci_high) == pytest.approx((4 - 2 * t, 4 + 2 * t), rel=1e-12)


# --------------------------------------------------------------------------- Intervals


def test_interval_settings_at_their_bounds() -> None:
    """--bootstrap-samples from 1, --seed in [0, 2^64): 1, 0 and 2^64 − 1 are accepted;
    0 samples, seed −1 and seed 2^64 are usage errors."""
    assert Intervals(CiMethod.BOOTSTRAP, 1, 0).samples == 1
    assert Intervals(CiMethod.BOOTSTRAP, 1, 2**64 - 1).seed == 2**64 - 1
    with pytest.raises(UsageError, match="--bootstrap-samples must be at least 1, got 0"):
        Intervals(CiMethod.BOOTSTRAP, 0)
    for seed in (-1, 2**64):
        with pytest.raises(UsageError, match=r"--seed must be an integer in \[0, 2\^64\)"):
            Intervals(CiMethod.BOOTSTRAP, 10, seed)


def test_interval_signature_names_the_bootstraps_draws_only() -> None:
    """The signature's ci field: none for the t interval (the default), else the
    bootstrap's replicates and seed (format of ``Intervals.signature``)."""
    assert Intervals().signature() is None
    assert Intervals(CiMethod.BOOTSTRAP, 300, 5).signature() == "bootstrap(b=300,seed=5)"


def test_clip_to_range_cuts_a_nonnegative_losss_interval_at_zero() -> None:
    """[0, ∞) for a non-negative loss: −2 and −1 become 0, a positive bound and NaN (no
    interval) stay; a loss that can be negative keeps its bounds."""
    assert clip_to_range(-2.0, -1.0, True) == (0.0, 0.0)
    assert clip_to_range(-2.0, 3.5, True) == (0.0, 3.5)
    assert clip_to_range(0.25, 3.5, True) == (0.25, 3.5)
    low, high = clip_to_range(math.nan, math.nan, True)
    assert math.isnan(low) and math.isnan(high)
    assert clip_to_range(-2.0, -1.0, False) == (-2.0, -1.0)
