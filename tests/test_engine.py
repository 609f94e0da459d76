"""The engine's accumulators: merging, chunking, intervals, weighted means, worst rows.

Every expected number is computed here independently with NumPy (two-pass mean and
``np.std(ddof=1)``, ``scipy``-free closed forms), never by the engine's own code.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numeric_helpers import run_arrays
from scipy import stats as scipy_stats

import losscli
from losscli.api import compute_files
from losscli.engine.accumulators import Moments, Worst
from losscli.engine.results import LossResult, Report, WorstRow
from losscli.errors import InputError
from losscli.interpret.plan import Batch, Kind, Options
from losscli.losses import Reduce


def t95(n: int) -> float:
    """The two-sided 95% quantile of Student's t with n - 1 df, from SciPy (independent of
    losscli's own t distribution in losscli/stats.py)."""
    return float(scipy_stats.t.ppf(0.975, n - 1))


def finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def logsumexp_nll(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """-log softmax(z)[y] per row, written independently of losscli's numerics."""
    m = z.max(axis=1)
    lse = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
    return lse - z[np.arange(len(y)), y]


# --------------------------------------------------------------------------- Moments


@st.composite
def values_and_split(draw: st.DrawFn, weighted: bool) -> tuple[np.ndarray, Any, int]:
    n = draw(st.integers(2, 60))
    offset = draw(st.sampled_from([0.0, 1e3, -50.0]))
    v = offset + draw(hnp.arrays(np.float64, n, elements=finite(-10.0, 10.0)))
    # class weights: 0 (ignored rows) or a sensible positive weight
    weight = st.just(0.0) | finite(0.01, 3.0)
    w = draw(hnp.arrays(np.float64, n, elements=weight)) if weighted else None
    if w is not None and w.sum() == 0:
        w[0] = 1.0
    return v, w, draw(st.integers(0, n))


def moments_of(values: np.ndarray, weights: np.ndarray | None) -> Moments:
    m = Moments()
    m.update(values, weights)
    return m


def assert_same_moments(a: Moments, b: Moments) -> None:
    assert a.n == b.n
    assert a.ignored == b.ignored
    for name in ("sum_v", "sum_w", "mean_v", "mean_w"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-12, abs=1e-9), name
    for name in ("m_vv", "m_ww", "m_vw"):
        # co-moments scale with n·spread²; compare relative to that scale
        scale = 1e-12 * max(1.0, abs(b.m_vv), abs(b.m_ww))
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-11, abs=scale), name


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@given(data=st.data())
def test_merge_of_two_halves_equals_one_update(weighted: bool, data: st.DataObject) -> None:
    v, w, cut = data.draw(values_and_split(weighted))
    whole = moments_of(v, w)
    left = moments_of(v[:cut], None if w is None else w[:cut])
    left.merge(moments_of(v[cut:], None if w is None else w[cut:]))
    assert_same_moments(left, whole)
    for reduction in ("mean", "sum"):
        a, b = left.finalize(Reduce.MEAN, reduction), whole.finalize(Reduce.MEAN, reduction)
        assert a.value == pytest.approx(b.value, rel=1e-12, abs=1e-12)
        assert a.std == pytest.approx(b.std, rel=1e-12, abs=1e-12, nan_ok=True)  # n = 1: both nan
    # and the whole agrees with NumPy's two-pass statistics
    mean = whole.finalize(Reduce.MEAN, "mean")
    ws = np.ones_like(v) if w is None else w
    assert mean.value == pytest.approx(np.sum(v) / np.sum(ws), rel=1e-12, abs=1e-12)
    if w is None:
        assert mean.std == pytest.approx(np.std(v, ddof=1), rel=1e-10, abs=1e-12)


@given(data=st.data())
def test_merge_is_order_free_and_update_accumulates(data: st.DataObject) -> None:
    """Many chunks merged in any order, or fed to one accumulator by update, give the same."""
    v = data.draw(hnp.arrays(np.float64, st.integers(3, 40), elements=finite(-5.0, 5.0)))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(v)), max_size=5)))
    pieces = np.split(v, cuts)
    order = data.draw(st.permutations(range(len(pieces))))
    merged, streamed = Moments(), Moments()
    for i in order:
        merged.merge(moments_of(pieces[i], None))
    for piece in pieces:
        streamed.update(piece, None)
    whole = moments_of(v, None)
    assert_same_moments(merged, whole)
    assert_same_moments(streamed, whole)


def test_merge_with_empty_changes_nothing() -> None:
    m = moments_of(np.array([1.0, 2.0, 4.0]), None)
    before = dict(m.__dict__)
    m.merge(Moments())
    m.update(np.array([]), None)
    assert m.__dict__ == before
    empty = Moments()
    empty.merge(m)
    assert empty.__dict__ == before


def test_merge_keeps_precision_far_from_zero() -> None:
    """Values 1e8 + N(0, 1) in 10 chunks: Σv² − n·mean² would lose every digit of the
    variance (1e16 vs 1); the centred merge must keep it (NumPy two-pass std as reference)."""
    rng = np.random.default_rng(7)
    v = 1e8 + rng.standard_normal(1000)
    m = Moments()
    for piece in np.array_split(v, 10):
        m.update(piece, None)
    est = m.finalize(Reduce.MEAN, "mean")
    assert est.value == pytest.approx(v.mean(), rel=1e-15)
    assert est.std == pytest.approx(np.std(v, ddof=1), rel=1e-6)


# --------------------------------------------------------------------------- intervals


def assert_ci(result: LossResult, per_sample: np.ndarray) -> None:
    """value ± t95(n) · std / sqrt(n), std = np.std(ddof=1) of the samples' own losses, the
    lower end cut at 0 (every loss tested here is non-negative)."""
    n = len(per_sample)
    mean = float(np.mean(per_sample))
    sd = float(np.std(per_sample, ddof=1))
    assert result.n == n
    assert result.value == pytest.approx(mean, rel=1e-12)
    assert result.std == pytest.approx(sd, rel=1e-10)
    half = t95(n) * sd / math.sqrt(n)
    assert result.ci_low == pytest.approx(max(mean - half, 0.0), rel=1e-10)
    assert result.ci_high == pytest.approx(mean + half, rel=1e-10)


@given(
    preds=hnp.arrays(np.float64, 12, elements=finite(-5.0, 5.0)),
    labels=hnp.arrays(np.float64, 12, elements=finite(-5.0, 5.0), unique=True),
)
def test_ci_of_unweighted_mean(preds: np.ndarray, labels: np.ndarray) -> None:
    result = losscli.compute("mse", preds, labels)
    assert_ci(result, (preds - labels) ** 2)


def test_ci_of_unweighted_ce() -> None:
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(50, 4)) * 2, rng.integers(0, 4, 50)
    assert_ci(losscli.compute("ce", z, y, logits=True), logsumexp_nll(z, y))


def test_ci_with_several_outputs_uses_each_samples_own_loss() -> None:
    """Multi-output regression: a sample's loss is the mean of its k squared errors."""
    rng = np.random.default_rng(11)
    p, y = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    assert_ci(losscli.compute("mse", p, y), ((p - y) ** 2).mean(axis=1))


def test_ci_of_sum() -> None:
    """Sum of n values: Σv ± t95(n) · sqrt(n) · std."""
    rng = np.random.default_rng(5)
    p, y = rng.normal(size=40), rng.normal(size=40) * 3
    v = np.abs(p - y)
    result = losscli.compute("mae", p, y, reduction="sum")
    sd = np.std(v, ddof=1)
    assert result.value == pytest.approx(v.sum(), rel=1e-12)
    assert result.std == pytest.approx(sd, rel=1e-10)
    assert result.ci_low == pytest.approx(v.sum() - t95(40) * math.sqrt(40) * sd, rel=1e-10)
    assert result.ci_high == pytest.approx(v.sum() + t95(40) * math.sqrt(40) * sd, rel=1e-10)


def test_ci_of_rmse_is_the_root_of_the_mse_interval() -> None:
    rng = np.random.default_rng(9)
    p, y = rng.normal(size=25), rng.normal(size=25)
    sq = (p - y) ** 2
    half = t95(25) * np.std(sq, ddof=1) / math.sqrt(25)
    result = losscli.compute("rmse", p, y)
    assert result.value == pytest.approx(math.sqrt(sq.mean()), rel=1e-12)
    assert result.ci_low == pytest.approx(math.sqrt(max(sq.mean() - half, 0.0)), rel=1e-10)
    assert result.ci_high == pytest.approx(math.sqrt(sq.mean() + half), rel=1e-10)


def test_ci_when_rows_are_ignored_counts_only_the_kept_rows() -> None:
    """ignore_index rows count nowhere (REFERENCES.md), so the interval is the unweighted one
    over the kept rows: n = kept rows, std = np.std(ddof=1) of their losses."""
    rng = np.random.default_rng(13)
    z = rng.normal(size=(40, 3)) * 2
    y = rng.integers(0, 3, 40)
    y[::2] = 1  # half the rows (and some more) are ignored
    result = losscli.compute("ce:ignore_index=1", z, y, logits=True)
    kept = y != 1
    assert result.ignored == int((~kept).sum())
    assert_ci(result, logsumexp_nll(z[kept], y[kept]))


# --------------------------------------------------------------------------- weighted CE


WEIGHT = np.array([1.0, 2.0, 0.5, 3.0])


def test_weighted_ce_is_sum_over_sum_of_weights_like_torch() -> None:
    """torch F.cross_entropy(weight=w): Σ w[y_i]·nll_i / Σ w[y_i] (torch docs, 'mean')."""
    rng = np.random.default_rng(17)
    z, y = rng.normal(size=(37, 4)) * 2, rng.integers(0, 4, 37)
    w = WEIGHT[y]
    nll = logsumexp_nll(z, y)
    result = losscli.compute("ce:weight=[1,2,0.5,3]", z, y, logits=True)
    ratio = np.sum(w * nll) / np.sum(w)
    assert result.value == pytest.approx(ratio, rel=1e-12)
    assert result.value != pytest.approx(np.mean(w * nll), rel=1e-3)  # not the plain mean
    # sum: torch reduction="sum" is Σ w[y_i]·nll_i
    total = losscli.compute("ce:weight=[1,2,0.5,3]", z, y, logits=True, reduction="sum")
    assert total.value == pytest.approx(np.sum(w * nll), rel=1e-12)
    # The interval of a ratio Σv/Σw (delta method): std = sqrt(Σ(v − R·w)² / (n − 1)) / mean(w).
    sd = math.sqrt(np.sum((w * nll - ratio * w) ** 2) / (len(y) - 1)) / w.mean()
    assert result.std == pytest.approx(sd, rel=1e-10)
    assert result.ci_low == pytest.approx(ratio - t95(len(y)) * sd / math.sqrt(len(y)), rel=1e-10)
    assert result.ci_high == pytest.approx(ratio + t95(len(y)) * sd / math.sqrt(len(y)), rel=1e-10)


def test_weighted_ce_matches_the_torch_reference_number() -> None:
    """REFERENCES.md: torch 2.13.0 F.cross_entropy(x, y, weight=[1, 2, .5]) = 0.6189839876."""
    z = [[2, 0.5, -1], [0.1, 1.5, 0.3], [-0.5, 0.2, 2.2], [1, 1, 1]]
    result = losscli.compute("ce:weight=[1,2,0.5]", z, [0, 1, 2, 1], logits=True)
    assert result.value == pytest.approx(0.6189839876, abs=5e-11)


# --------------------------------------------------------------------------- chunking


def _dense_inputs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    z = rng.normal(size=(10, 3, 2, 2))
    y = rng.integers(0, 3, size=(10, 2, 2))
    y[0, 0, 0] = 255
    return z, y


def _chunk_inputs() -> list[tuple[str, list[str], Any, Any, bool | None]]:
    rng = np.random.default_rng(21)
    n = 17
    reg_p, reg_y = rng.normal(size=n), rng.normal(size=n)
    z, y = rng.normal(size=(n, 4)) * 2, rng.integers(0, 4, n)
    y[[1, 8, 9]] = 2
    p_soft = rng.dirichlet(np.ones(4), size=n)
    q_soft = rng.dirichlet(np.ones(4), size=n)
    ml_p, ml_y = rng.normal(size=(n, 3)), rng.integers(0, 2, size=(n, 3)).astype(float)
    mo_p, mo_y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    dense_z, dense_y = _dense_inputs(rng)
    return [
        (
            "regression",
            ["mse", "rmse", "mae", "huber:delta=0.5", "smooth_l1:beta=2"],
            reg_p,
            reg_y,
            None,
        ),
        (
            "ce-logits",
            [
                "ce",
                "ce:weight=[1,2,0.5,3]",
                "ce:ignore_index=2",
                "ce:label_smoothing=0.1,weight=[1,2,0.5,3],ignore_index=2",
                "hinge",
                "squared_hinge",
            ],
            z,
            y,
            True,
        ),
        ("kl-and-soft-ce", ["kl", "ce:label_smoothing=0.2"], q_soft, p_soft, False),
        ("multilabel-bce", ["bce", "bce:pos_weight=3"], ml_p, ml_y, True),
        ("multi-output", ["mse", "huber"], mo_p, mo_y, None),
        (
            "dense-ce",
            ["ce:ignore_index=255", "ce:weight=[1,2,0.5],ignore_index=255"],
            dense_z,
            dense_y,
            True,
        ),
    ]


CHUNK_CASES = _chunk_inputs()


def assert_same_report(a: Report, b: Report) -> None:
    assert a.n_samples == b.n_samples
    for ra, rb in zip(a.results, b.results, strict=True):
        assert ra.loss == rb.loss
        assert (ra.n, ra.ignored) == (rb.n, rb.ignored)
        for name in ("value", "std", "ci_low", "ci_high"):
            assert getattr(ra, name) == pytest.approx(getattr(rb, name), rel=1e-12, abs=1e-14), (
                ra.loss,
                name,
            )


@pytest.mark.parametrize(
    ("name", "specs", "preds", "labels", "logits"), CHUNK_CASES, ids=[c[0] for c in CHUNK_CASES]
)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_chunked_evaluation_equals_one_chunk(
    name: str, specs: list[str], preds: Any, labels: Any, logits: bool | None, reduction: str
) -> None:
    if reduction == "sum":
        specs = [s for s in specs if s != "rmse"]
    calls: list[int] = []
    chunked = run_arrays(
        specs,
        preds,
        labels,
        logits=logits,
        reduction=reduction,
        chunk_rows=3,
        top=5,
        sink=lambda chunk: calls.append(len(chunk.batch)),
    )
    whole = run_arrays(specs, preds, labels, logits=logits, reduction=reduction, top=5)
    n = len(preds)
    assert calls == [3] * (n // 3) + ([n % 3] if n % 3 else [])  # really evaluated in chunks
    assert_same_report(chunked, whole)
    assert [r.row for r in chunked.worst] == [r.row for r in whole.worst]


def test_chunked_files_equal_one_chunk(tmp_path: Path) -> None:
    """The same through files: .npy read in chunks of 3 rows by the file readers."""
    rng = np.random.default_rng(23)
    z, y = rng.normal(size=(20, 3)), rng.integers(0, 3, 20)
    np.save(tmp_path / "p.npy", z)
    np.save(tmp_path / "y.npy", y)
    specs = ["ce", "ce:weight=[1,2,0.5]", "hinge"]
    opts = Options(kind=Kind.LOGITS)
    calls: list[int] = []
    chunked = compute_files(
        tmp_path / "p.npy",
        tmp_path / "y.npy",
        specs,
        opts,
        chunk_rows=3,
        sink=lambda chunk: calls.append(len(chunk.batch)),
    )
    whole = compute_files(tmp_path / "p.npy", tmp_path / "y.npy", specs, opts)
    assert len(calls) == 7
    assert_same_report(chunked, whole)
    assert chunked.results[0].value == pytest.approx(logsumexp_nll(z, y).mean(), rel=1e-12)


# --------------------------------------------------------------------------- worst rows


def _describe(rows: np.ndarray) -> Any:
    def describe(idx: np.ndarray) -> list[WorstRow]:
        return [WorstRow(int(rows[i]), None, ()) for i in idx]

    return describe


@given(
    # few distinct values, so ties (common: equal losses of equal rows) are drawn often
    keys=hnp.arrays(
        np.float64,
        st.integers(1, 40),
        elements=st.sampled_from([0.0, 0.5, 2.0, np.nan]) | finite(0.0, 5.0),
    ),
    k=st.integers(1, 8),
    chunk=st.integers(1, 7),
)
def test_worst_keeps_the_k_largest_across_chunks(keys: np.ndarray, k: int, chunk: int) -> None:
    worst = Worst(k)
    rows = np.arange(len(keys))
    for start in range(0, len(keys), chunk):
        part = slice(start, start + chunk)
        worst.update(keys[part], _describe(rows[part]))
    # Independent ranking: largest first, ties by row number, NaN last.
    ranked = np.where(np.isnan(keys), -np.inf, keys)
    expected = sorted(rows.tolist(), key=lambda i: (-ranked[i], i))[:k]
    assert [r.row for r in worst.finalize()] == expected
    assert worst.keys.tolist() == [ranked[i] for i in expected]


def test_worst_breaks_ties_by_row_number_within_a_chunk() -> None:
    """Equal losses rank by row number (the order ``Worst.merge`` sorts by), so the rows shown
    do not depend on how the file was chunked: rows 2 and 3 tie at 2.0, row 2 comes first."""
    worst = Worst(1)
    worst.update(np.array([0.0, 0.5, 2.0, 2.0, 0.0, 0.0, 0.5]), _describe(np.arange(7)))
    assert [r.row for r in worst.finalize()] == [2]


def test_worst_merge_of_partitions() -> None:
    a, b = Worst(3), Worst(3)
    a.update(np.array([0.5, 9.0, 1.0]), _describe(np.array([0, 1, 2])))
    b.update(np.array([7.0, 0.1, 8.0, 2.0]), _describe(np.array([3, 4, 5, 6])))
    a.merge(b)
    assert [r.row for r in a.finalize()] == [1, 5, 3]
    assert a.keys.tolist() == [9.0, 8.0, 7.0]


def test_worst_rows_of_a_chunked_run_are_the_largest_losses() -> None:
    rng = np.random.default_rng(29)
    p, y = rng.normal(size=23), rng.normal(size=23) * 2
    report = run_arrays(["mae", "mse"], p, y, chunk_rows=3, top=4)
    err = np.abs(p - y)
    expected = np.argsort(-err, kind="stable")[:4]
    assert [r.row for r in report.worst] == expected.tolist()
    for row in report.worst:
        assert row.losses == pytest.approx([err[row.row], err[row.row] ** 2], rel=1e-15)


# --------------------------------------------------------------------------- all ignored


def test_all_rows_ignored_is_an_input_error() -> None:
    z = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 0.3], [2.0, -1.0, 0.0]])
    with pytest.raises(InputError, match="every row is ignored"):
        losscli.compute("ce:ignore_index=1", z, [1, 1, 1], logits=True)


def test_all_rows_ignored_across_chunks_is_an_input_error() -> None:
    z = np.random.default_rng(31).normal(size=(10, 3))
    with pytest.raises(InputError, match="every row is ignored"):
        run_arrays(
            ["ce:ignore_index=0"], z, np.zeros(10, dtype=np.int64), logits=True, chunk_rows=3
        )


def test_all_rows_ignored_in_moments() -> None:
    m = moments_of(np.zeros(4), np.zeros(4))
    assert m.ignored == 4
    with pytest.raises(InputError, match="ignore"):
        m.finalize(Reduce.MEAN, "mean")


def test_some_rows_ignored_is_fine() -> None:
    z = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 0.3], [2.0, -1.0, 0.0]])
    result = losscli.compute("ce:ignore_index=1", z, [1, 0, 1], logits=True)
    assert (result.n, result.ignored) == (1, 2)
    assert result.value == pytest.approx(logsumexp_nll(z[1:2], np.array([0]))[0], rel=1e-12)


def test_what_the_sink_receives() -> None:
    seen: list[Any] = []
    run_arrays(
        ["mse"],
        [0.0, 1.0, 2.0, 3.0],
        [0.5, 1.5, 2.0, 5.0],
        chunk_rows=3,
        sink=seen.append,
    )
    assert all(isinstance(chunk.batch, Batch) for chunk in seen)
    assert [chunk.labels for chunk in seen] == [["mse"], ["mse"]]
    # (preds - labels)² per row, by hand.
    assert np.concatenate([chunk.shown[0] for chunk in seen]).tolist() == pytest.approx(
        [0.25, 0.25, 0.0, 4.0]
    )
    assert np.concatenate([chunk.terms[0].values for chunk in seen]).tolist() == pytest.approx(
        [0.25, 0.25, 0.0, 4.0]
    )
