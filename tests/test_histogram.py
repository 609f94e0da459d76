"""The per-sample loss histogram: quantiles against NumPy's sorted values, exact counts, merges
that do not depend on how the data was cut, and what compute shows of it (JSON quantiles and
histogram, the distribution column, --hist, the mermaid chart in Markdown).

Expected values come from NumPy alone: the quantile of level q is the value of rank
⌊q·(n − 1)⌋ of ``np.sort(values)`` (NumPy's ``method="lower"``), and for the sample images the
per-sample cross-entropy is recomputed here as ``logsumexp(z) − z[y]`` with NumPy.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE, invoke
from test_cli import ENTRY_POINT, run_process

from losscli.engine.histogram import (
    _K,
    _K_MAX,
    _K_MIN,
    _LOG_GAMMA,
    ALPHA,
    EXACT_LIMIT,
    GAMMA,
    HUGE,
    N_BINS,
    TINY,
    Histogram,
    bin_edges,
    bin_index,
)

LEVELS = (0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0)


def _filled(values: np.ndarray, chunks: int = 1) -> Histogram:
    hist = Histogram()
    for part in np.array_split(values, chunks):
        hist.update(part)
    return hist


def _lower(values: np.ndarray, q: float) -> float:
    values = np.sort(values[~np.isnan(values)])
    return float(values[math.floor(q * (len(values) - 1))])


DISTRIBUTIONS = {
    "exponential": lambda rng: rng.exponential(1.0, 50_000),
    "lognormal wide": lambda rng: rng.lognormal(0.0, 4.0, 50_000),
    "signed normal": lambda rng: rng.normal(0.0, 1.0, 20_000),
    "mostly zeros": lambda rng: np.where(rng.random(30_000) < 0.7, 0.0, rng.exponential(2, 30_000)),
    "cauchy": lambda rng: rng.standard_cauchy(20_001),
}


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_quantiles_within_alpha_of_numpy(name: str) -> None:
    values = DISTRIBUTIONS[name](np.random.default_rng(7))
    assert len(values) > EXACT_LIMIT  # the binned path, not the exact one
    hist = _filled(values, chunks=13)
    assert hist.exact is None
    for q in LEVELS:
        expected = _lower(values, q)
        assert hist.quantile(q) == pytest.approx(expected, rel=ALPHA, abs=0), q


def test_small_runs_have_exact_quantiles() -> None:
    values = np.random.default_rng(1).gamma(0.5, 1.0, EXACT_LIMIT)
    hist = _filled(values, chunks=9)
    assert hist.exact is not None
    for q in LEVELS:
        assert hist.quantile(q) == _lower(values, q)


@pytest.mark.parametrize("chunks", [7, 1000])
def test_chunking_does_not_change_anything(chunks: int) -> None:
    values = np.random.default_rng(3).lognormal(0, 2, 10_007)
    whole, cut = _filled(values), _filled(values, chunks)
    assert np.array_equal(whole.counts, cut.counts)
    assert (whole.min, whole.max) == (cut.min, cut.max)
    assert whole.finalize() == cut.finalize()


def test_merge_of_partitions_is_the_whole_run() -> None:
    values = np.random.default_rng(4).exponential(1, 9_000)
    parts = [_filled(p) for p in np.array_split(values, 3)]
    merged = Histogram()
    for p in parts:
        merged.merge(p)
    assert merged.finalize() == _filled(values).finalize()
    # Below EXACT_LIMIT the union stays exact, above it the values are dropped.
    small = Histogram()
    small.merge(_filled(values[:10]))
    small.merge(_filled(values[10:20]))
    assert small.exact is not None and len(small.exact) == 20


@pytest.mark.parametrize("n", [50, EXACT_LIMIT + 1])
def test_saved_state_round_trips_exactly(n: int) -> None:
    hist = _filled(np.random.default_rng(9).lognormal(0, 2, n))
    back = Histogram.from_state(json.loads(json.dumps(hist.to_state())))
    assert np.array_equal(back.counts, hist.counts)
    assert (back.min, back.max) == (hist.min, hist.max)
    assert back.finalize() == hist.finalize()
    assert (back.exact is None) == (n > EXACT_LIMIT)


def test_saved_state_of_an_empty_histogram_round_trips() -> None:
    back = Histogram.from_state(json.loads(json.dumps(Histogram().to_state())))
    assert back.n == 0 and back.finalize() is None
    assert back.exact is not None and len(back.exact) == 0


def _bins_by_definition(values: np.ndarray) -> np.ndarray:
    """The bins as the module docstring defines them, value by value: zero bucket _K below
    TINY, else offset k = clip(ceil(log(min(|v|, HUGE)) / log γ), K_MIN, K_MAX) − K_MIN and
    bin _K ± (k + 1) by sign (NumPy's log, as the engine's, so bin edges agree exactly)."""
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        mag = abs(float(v))
        if mag < TINY:
            out[i] = _K
            continue
        k = int(np.ceil(np.log(np.float64(min(mag, HUGE))) / _LOG_GAMMA))
        k = min(max(k, _K_MIN), _K_MAX) - _K_MIN
        out[i] = _K + 1 + k if v > 0 else _K - 1 - k
    return out


def test_bins_follow_the_definition_at_edges_and_extremes() -> None:
    """bin_index (computed in place over whole arrays) against the value-by-value definition,
    on values at, just below and just above bin edges, both signs, zeros, subnormals, TINY,
    HUGE and infinities, from an unaligned start."""
    rng = np.random.default_rng(11)
    edges = GAMMA ** np.arange(_K_MIN - 2, _K_MAX + 2, 97, dtype=np.float64)
    special = [0.0, -0.0, 5e-324, TINY, -TINY, TINY / 2, HUGE, -HUGE, 2 * HUGE, np.inf, -np.inf]
    values = np.r_[
        edges,
        np.nextafter(edges, 0),
        np.nextafter(edges, np.inf),
        -edges,
        special,
        rng.lognormal(0, 6, 3000) * rng.choice([-1.0, 1.0], 3000),
    ]
    rng.shuffle(values)
    with warnings.catch_warnings():  # zeros and infinities too: no NumPy warning either
        warnings.simplefilter("error")
        for part in (values, values[1:], values.astype(np.float32).astype(np.float64)):
            assert (bin_index(part) == _bins_by_definition(part)).all()


def test_counts_are_exact_and_memory_is_fixed() -> None:
    values = np.r_[np.random.default_rng(5).normal(0, 3, 200_000), [np.nan] * 5, [np.inf, 0.0]]
    hist = _filled(values, chunks=4)
    assert hist.counts.shape == (N_BINS,)  # the same for any n
    dist = hist.finalize()
    assert dist is not None
    assert dist.count == hist.n == 200_002  # NaN left out, inf and 0 counted
    assert sum(dist.counts) == dist.count
    assert dist.max == math.inf and dist.min == float(np.nanmin(values))
    assert len(dist.edges) == len(dist.counts) + 1
    assert list(dist.edges) == sorted(dist.edges)


def test_bars_count_the_values_between_their_edges() -> None:
    values = np.random.default_rng(6).lognormal(0, 1, 30_000)
    dist = _filled(values).finalize()
    assert dist is not None
    inside = [
        int(((values >= lo) & (values < hi)).sum())
        for lo, hi in zip(dist.edges[:-1], dist.edges[1:], strict=True)
    ]
    inside[-1] += int((values == dist.edges[-1]).sum())  # the last bar holds the maximum
    # Edges are bin boundaries, so a value can only sit on the other side of an edge when it
    # equals that edge (a bin is (low, high]): the counts agree up to such ties.
    assert sum(inside) == len(values)
    assert np.abs(np.array(inside) - np.array(dist.counts)).sum() <= 2 * len(dist.counts)


def test_exact_zeros_get_their_own_bar() -> None:
    values = np.r_[np.zeros(100), np.random.default_rng(8).exponential(1, 50)]
    dist = _filled(values).finalize()
    assert dist is not None
    assert dist.counts[0] == 100 and dist.edges[0] == 0.0


def test_empty_histogram_has_no_distribution() -> None:
    hist = _filled(np.array([np.nan, np.nan]))
    assert hist.finalize() is None and math.isnan(hist.quantile(0.5))


def test_bin_edges_bound_the_values_of_their_bin() -> None:
    """By the module's definition: positive bin _K + 1 + o holds the magnitudes in
    (γ^(o + K_MIN − 1), γ^(o + K_MIN)], the negative bin _K − 1 − o their negatives, the zero
    bucket (−TINY, TINY). Checked on the ends of the range and on bins around 1."""
    assert bin_edges(_K) == (-TINY, TINY)
    for o in (0, 1, 2763, 2764, _K - 1):
        k = o + _K_MIN
        assert bin_edges(_K + 1 + o) == pytest.approx(
            (GAMMA ** (k - 1), GAMMA**k), rel=1e-12, abs=0
        )
        assert bin_edges(_K - 1 - o) == pytest.approx(
            (-(GAMMA**k), -(GAMMA ** (k - 1))), rel=1e-12, abs=0
        )
    values = np.array([-3.0, -1.0, -1e-9, 1e-9, 1.0, 3.0])
    for v, b in zip(values, bin_index(values), strict=True):
        low, high = bin_edges(int(b))
        assert (low < v <= high) if v > 0 else (low <= v < high)


def test_nan_in_the_only_chunk_is_left_out_of_min_and_max() -> None:
    hist = _filled(np.array([3.0, np.nan, 1.0, 2.0]))
    assert (hist.n, hist.min, hist.max) == (3, 1.0, 3.0)
    assert hist.exact is not None and sorted(hist.exact) == [1.0, 2.0, 3.0]
    hist.update(np.empty(0))  # nothing: unchanged
    assert (hist.n, hist.min, hist.max) == (3, 1.0, 3.0)


def test_one_chunk_of_exactly_exact_limit_values_stays_exact() -> None:
    values = np.arange(EXACT_LIMIT, 0, -1, dtype=np.float32)  # EXACT_LIMIT .. 1
    hist = _filled(values)
    assert hist.exact is not None and hist.exact.dtype == np.float64
    assert hist.quantile(0.5) == 2048.0  # rank ⌊0.5 · 4095⌋ = 2047 of 1..4096
    hist.update(np.array([0.5]))  # one more: past the limit, the values are dropped
    assert hist.exact is None


def test_two_halves_of_exact_limit_values_merge_exactly() -> None:
    values = np.arange(1.0, EXACT_LIMIT + 1)
    merged = _filled(values[: EXACT_LIMIT // 2])
    merged.merge(_filled(values[EXACT_LIMIT // 2 :]))
    assert merged.exact is not None and np.array_equal(merged.exact, values)
    merged.merge(_filled(np.array([0.5])))  # one more: past the limit
    assert merged.exact is None


def test_a_histogram_without_its_values_does_not_regain_them_by_merging() -> None:
    kept, dropped = _filled(np.array([1.0, 2.0])), _filled(np.array([3.0]))
    dropped.exact = None  # e.g. a saved state of a larger run, cut down
    kept.merge(dropped)
    assert kept.exact is None and kept.n == 3
    dropped.merge(_filled(np.array([4.0])))
    assert dropped.exact is None and dropped.n == 2


def test_binned_quantiles_give_the_ends_exactly() -> None:
    """Past EXACT_LIMIT, levels 0 and 1 are the exact min and max. ±1.0 are the upper edges
    of the bins (γ^-1, 1] and [-1, -γ^-1], whose representatives ±2/(γ + 1) = ±0.995 are not
    the ends; level 1/(n − 1) is rank 1, the second smallest value (−0.5, bin representative
    within α)."""
    values = np.r_[-1.0, np.linspace(-0.5, 0.5, EXACT_LIMIT), 1.0]
    hist = _filled(values)
    assert hist.exact is None
    assert hist.quantile(0.0) == -1.0 and hist.quantile(1.0) == 1.0
    assert hist.quantile(1 / (len(values) - 1)) == pytest.approx(-0.5, rel=ALPHA)
    assert hist.quantile(1 - 1 / (len(values) - 1)) == pytest.approx(0.5, rel=ALPHA)


def _binned(bins: dict[int, int]) -> Histogram:
    """A histogram past EXACT_LIMIT with the given counts per bin, its ends the outer edges."""
    counts = np.zeros(N_BINS, dtype=np.int64)
    counts[list(bins)] = list(bins.values())
    lo, hi = min(bins), max(bins)
    return Histogram(counts, bin_edges(lo)[0], bin_edges(hi)[1], None)


def _run(first: int, span: int, count: int = 1) -> dict[int, int]:
    return dict.fromkeys(range(first, first + span), count)


def test_default_is_20_bars_of_equal_runs_of_bins() -> None:
    """100 filled positive bins, no zeros: 20 bars of 5 bins; inner edges are the lower edges
    of bins _K + 1 + 5j (j = 1..19), i.e. γ^(K_MIN − 1 + 5j)."""
    dist = _binned(_run(_K + 1, 100)).finalize()
    assert dist is not None
    assert dist.counts == (5,) * 20
    assert list(dist.quantiles) == ["p50", "p90", "p99"]
    expected = [GAMMA ** (_K_MIN - 1 + 5 * j) for j in range(1, 20)]
    assert dist.edges[1:-1] == pytest.approx(expected, rel=1e-12, abs=0)
    assert (dist.edges[0], dist.edges[-1]) == (GAMMA ** (_K_MIN - 1), GAMMA ** (_K_MIN + 99))


def test_zeros_take_one_bar_and_a_side_the_rest() -> None:
    # 3 zeros and 4 positive bins, 5 bars: the zero bar (from −TINY), then one bar per bin,
    # from the lower edges γ^(K_MIN − 1 + o) of bins _K + 1 + o, up to the maximum.
    small = _binned({_K: 3, **{_K + 1 + o: o + 1 for o in range(4)}})
    edges, counts = small._coarse(5)
    assert counts == (3, 1, 2, 3, 4)
    assert edges[0] == -TINY and edges[-1] == small.max == pytest.approx(GAMMA ** (_K_MIN + 3))
    assert edges[1:-1] == pytest.approx([GAMMA ** (_K_MIN - 1 + o) for o in range(4)], abs=0)
    # 7 zeros and 95 positive bins, 20 bars: the zero bar and 19 bars of 5 bins.
    wide = _binned({_K: 7, **_run(_K + 1, 95)}).finalize()
    assert wide is not None and wide.counts == (7,) + (5,) * 19


def test_two_sides_share_the_bars_in_proportion_to_their_bins() -> None:
    """10 negative bins (1 each) and 30 positive ones (2 each), 8 bars: 8 · 10/40 = 2 bars of 5
    bins for the negatives, 8 · 30/40 = 6 of 5 bins for the positives."""
    hist = _binned({**_run(_K - 10, 10), **_run(_K + 1, 30, 2)})
    edges, counts = hist._coarse(8)
    assert counts == (5, 5, 10, 10, 10, 10, 10, 10)
    assert edges[1:3] == (bin_edges(_K - 5)[0], bin_edges(_K + 1)[0])


@pytest.mark.parametrize("neg_first", [True, False])
def test_a_side_of_few_bins_gets_one_bar_and_the_total_stays_at_most_groups(
    neg_first: bool,
) -> None:
    """95 bins on one side, 2 bins on the other, 20 bars: the small side's share
    20 · 2/97 = 0.41 rounds to 0 but it gets one bar (its 2 bins together); the wide side's
    20 · 95/97 = 19.6 rounds to 20, cut to the 19 left: 19 bars of 5 bins (20 bars in all; the
    rounded shares alone gave 21)."""
    if neg_first:
        bins, expected = {**_run(_K - 95, 95), _K + 1: 4, _K + 2: 6}, (5,) * 19 + (10,)
    else:
        bins, expected = {_K - 2: 4, _K - 1: 6, **_run(_K + 1, 95)}, (10,) + (5,) * 19
    dist = _binned(bins).finalize()
    assert dist is not None and dist.counts == expected


def test_zeros_and_two_equal_sides_stay_within_20_bars() -> None:
    """Zeros, 10 negative and 10 positive bins: 19 bars left, each side's share 19 · 10/20 = 9.5
    rounds (to even) to 10; the negatives, first, get 10 bars (one per bin), the positives the
    9 left, so 20 bars in all (the rounded shares alone gave 21)."""
    hist = _binned({**_run(_K - 10, 10), _K: 5, **_run(_K + 1, 10, 3)})
    dist = hist.finalize()
    assert dist is not None
    assert len(dist.counts) == 20 and sum(dist.counts) == hist.n
    assert dist.counts[:11] == (1,) * 10 + (5,)
    assert len(dist.counts[11:]) == 9 and sum(dist.counts[11:]) == 30


# --------------------------------------------------------------------------- through compute

IMAGES = (str(SAMPLE / "images_logits.csv"), str(SAMPLE / "images_labels.csv"))


def _image_ce() -> np.ndarray:
    """Per-sample cross-entropy of the sample images, by NumPy: logsumexp(z) − z[y]."""
    logits = pd.read_csv(IMAGES[0]).set_index("image_id")
    labels = pd.read_csv(IMAGES[1]).set_index("image_id").loc[logits.index, "label"]
    z = logits.to_numpy()
    y = np.array([list(logits.columns).index(c) for c in labels])
    m = z.max(axis=1)
    lse = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
    return lse - z[np.arange(len(y)), y]


def test_json_quantiles_match_numpy_on_the_sample_images() -> None:
    result = invoke(["compute", *IMAGES, "--id-col", "image_id", "--loss", "ce", "-f", "json"])
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["results"][0]
    ce = _image_ce()
    for key, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        assert entry["quantiles"][key] == pytest.approx(_lower(ce, q), rel=1e-12)
    hist = entry["histogram"]
    assert hist["count"] == len(ce) == sum(hist["counts"])
    assert hist["min"] == pytest.approx(ce.min(), rel=1e-12)
    assert hist["max"] == pytest.approx(ce.max(), rel=1e-12)


@pytest.mark.parametrize("loss", ["mse", "mae", "huber:delta=0.5", "rmse"])
def test_json_carries_quantiles_for_every_loss(loss: str) -> None:
    result = invoke(
        [
            "compute",
            SAMPLE / "house_prices_preds.parquet",
            SAMPLE / "house_prices_labels.parquet",
            "--loss",
            loss,
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["results"][0]
    assert set(entry["quantiles"]) == {"p50", "p90", "p99"}
    assert entry["quantiles"]["p50"] <= entry["quantiles"]["p90"] <= entry["quantiles"]["p99"]
    assert sum(entry["histogram"]["counts"]) == entry["n"]


def test_table_shows_a_distribution_column_and_hist_the_histograms() -> None:
    result = invoke(
        ["compute", *IMAGES, "--id-col", "image_id", "--loss", "ce", "--hist", "--top", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "distribution" in result.stdout
    assert "Distribution of ce per sample" in result.stdout
    assert f"p50 {_lower(_image_ce(), 0.5):.3g}" in result.stdout
    plain = invoke(["compute", *IMAGES, "--id-col", "image_id", "--loss", "ce"])
    assert "Distribution of ce per sample" not in plain.stdout


def test_markdown_has_a_mermaid_chart_with_the_counts() -> None:
    result = invoke(["compute", *IMAGES, "--id-col", "image_id", "--loss", "ce", "-f", "markdown"])
    assert result.exit_code == 0, result.output
    md = result.stdout
    assert "```mermaid\nxychart-beta" in md
    bars = next(line for line in md.splitlines() if line.strip().startswith("bar ["))
    counts = [int(c) for c in bars.strip()[len("bar [") : -1].split(",")]
    assert sum(counts) == 200


def test_hist_through_the_installed_command() -> None:
    proc = run_process(
        ENTRY_POINT, "compute", *IMAGES, "--id-col", "image_id", "--loss", "ce", "--hist"
    )
    assert proc.returncode == 0, proc.stderr
    assert "Distribution of ce per sample" in proc.stdout and proc.stderr == ""
