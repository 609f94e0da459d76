"""Sliced evaluation: ``--group-by`` (crossed), ``--meta``, ``--min-slice-size`` and the
Python API's ``groups=``.

Every expected slice value is the same loss computed by losscli on that slice's rows alone
(``losscli.compute`` on the subset, itself checked against the libraries in test_parity),
or a hand derivation written beside it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import losscli
from losscli.engine.accumulators import Moments
from losscli.engine.slices import SliceCoder, Sliced, _order, _rank
from losscli.errors import InputError
from losscli.losses import PerSample

ENTRY_POINT = Path(sys.executable).parent / "losscli"


def _by_values(slices: Any) -> dict[tuple[Any, ...], Any]:
    return {s.values: s for s in slices}


def test_each_slice_equals_the_loss_on_its_rows() -> None:
    rng = np.random.default_rng(1)
    n = 500
    z, y = rng.normal(size=(n, 3)) * 2, rng.integers(0, 3, n)
    lang = rng.choice(np.array(["en", "de", "fr"], dtype=object), n)
    w = rng.uniform(0, 2, n)
    got = losscli.compute("ce", z, y, logits=True, groups={"lang": lang}, weights=w)
    slices = _by_values(got.slices)
    assert set(slices) == {("en",), ("de",), ("fr",)}
    for (value,), s in slices.items():
        rows = lang == value
        alone = losscli.compute("ce", z[rows], y[rows], logits=True, weights=w[rows])
        assert s.n == rows.sum()
        (r,) = s.results
        for field in ("value", "std", "ci_low", "ci_high", "n", "n_eff"):
            assert getattr(r, field) == pytest.approx(getattr(alone, field), rel=1e-10), field
    # Worst slice first by the (first) loss.
    values = [s.results[0].value for s in got.slices]
    assert values == sorted(values, reverse=True)


def test_crossed_columns_integers_booleans_and_missing_values() -> None:
    p = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    y = np.zeros(6)
    groups = {
        "k": [1, 1, 2, 2, 1, 1],
        "flag": [True, False, True, True, True, False],
        "s": ["x", None, "x", "x", "x", None],
    }
    got = losscli.compute("mse", p, y, groups=groups)
    slices = _by_values(got.slices)
    # Rows per (k, flag, s): by hand from the lists above; a missing value is its own slice.
    assert {k: s.n for k, s in slices.items()} == {
        (1, True, "x"): 2,  # rows 0, 4
        (1, False, None): 2,  # rows 1, 5
        (2, True, "x"): 2,  # rows 2, 3
    }
    assert slices[(1, True, "x")].results[0].value == pytest.approx((0 + 16) / 2)
    assert slices[(1, False, None)].results[0].value == pytest.approx((1 + 25) / 2)


def test_coder_numbers_persist_across_chunks_and_read_csv_numbers_as_integers() -> None:
    coder = SliceCoder(("a", "b"))
    first = coder.codes({"a": np.array([1.0, 2.0, np.nan]), "b": np.array(["u", "v", "u"], object)})
    second = coder.codes({"a": np.array([2.0, 3.0]), "b": np.array(["v", None], object)})
    assert first.tolist() == [0, 1, 2]
    assert second.tolist() == [1, 3]
    assert coder.keys == [(1, "u"), (2, "v"), (None, "u"), (3, None)]


def test_coder_keeps_a_boolean_apart_from_an_integer_seen_in_an_earlier_chunk() -> None:
    """True == 1 and hash(True) == hash(1) in Python, but a boolean slice is not the integer
    slice (``_key``): True after 1 is a new slice, False after 0 too (numbered by hand)."""
    coder = SliceCoder(("g",))
    assert coder.codes({"g": np.array([1, 0])}).tolist() == [0, 1]
    assert coder.codes({"g": np.array([True, False, True])}).tolist() == [2, 3, 2]
    assert coder.keys == [(1,), (0,), (True,), (False,)]
    assert [type(k[0]) for k in coder.keys] == [int, int, bool, bool]


def test_a_fractional_group_value_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"--group-by g: the column holds 0\.5"):
        losscli.compute("mse", [1, 2], [1, 1], groups={"g": [1.0, 0.5]})


def test_slices_rank_worst_first_nan_last_and_ties_with_missing_first() -> None:
    """The shown order: the first loss's value descending, a NaN value after every number
    (even −inf, which ties with it and keeps its place); ties by the values' text, a missing
    value before any text (here "0", the text "None" itself, and "~")."""
    values = [1.0, math.nan, 3.0, -math.inf]
    ranked = sorted(values, key=lambda v: -_rank(v))
    assert ranked[:2] == [3.0, 1.0] and math.isnan(ranked[2]) and ranked[3] == -math.inf
    keys = [("0",), ("None",), (None,), ("~",)]
    assert sorted(keys, key=_order) == [(None,), ("0",), ("None",), ("~",)]


def test_sliced_merge_by_key_equals_one_pass() -> None:
    """Two parts of a run (different slices present in each) merge key by key into the
    accumulators of one pass over all rows."""
    rng = np.random.default_rng(2)
    v, w = rng.normal(size=100) ** 2, rng.uniform(0.5, 1.5, 100)
    g = rng.choice(np.array(["a", "b", "c"], dtype=object), 100)
    g[:50][g[:50] == "c"] = "a"  # "c" only in the second part

    def run(rows: slice) -> Sliced:
        sliced = Sliced(("g",), 1, kish=True)
        sliced.add({"g": g[rows]}, [PerSample(v[rows] * w[rows], w[rows])])
        return sliced

    def by_key(sliced: Sliced) -> dict[Any, tuple[int, Moments]]:
        return {
            key: (int(sliced.rows_of[i]), sliced.moments[0].moments(i))
            for i, key in enumerate(sliced.keys)
        }

    whole, part = by_key(run(slice(None))), run(slice(0, 50))
    part.merge(run(slice(50, None)))
    merged = by_key(part)
    assert set(merged) == set(whole) == {("a",), ("b",), ("c",)}
    for key, (n, state) in whole.items():
        assert merged[key][0] == n
        # Each slice's moments are what Moments.update gives its rows in one pass.
        rows = g == key[0]
        ref = Moments(kish=True)
        ref.update(v[rows] * w[rows], w[rows])
        for name in ("n", "sum_v", "sum_w", "sum_ww", "mean_l", "m_ll", "m_vv"):
            a, b = getattr(merged[key][1], name), getattr(state, name)
            assert a == pytest.approx(b, rel=1e-10), name
            assert b == pytest.approx(getattr(ref, name), rel=1e-10), name


def test_sliced_holds_fewer_than_flush_rows_and_counts_each_flush(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks wait only until ``FLUSH_ROWS`` rows have come (here 4): exactly 4 rows flush,
    and the count starts again at 0, so 3 more rows wait. A later flush in which a slice
    has no row adds 0 rows to it (hand count: a, b, then a, a, a; then a, a, a, then b)."""
    import losscli.engine.slices as slices

    monkeypatch.setattr(slices, "FLUSH_ROWS", 4)
    sliced = Sliced(("g",), 1)

    def add(*values: str) -> None:
        sliced.add({"g": np.array(values, dtype=object)}, [PerSample(np.ones(len(values)))])

    add("a", "b")
    add("a", "a")  # 4 rows: flushed
    assert sliced._pending == [] and sliced.rows_of.tolist() == [3.0, 1.0]
    add("a", "a", "a")  # 3 rows: held
    assert len(sliced._pending) == 1 and sliced.rows_of.tolist() == [3.0, 1.0]
    sliced.flush()  # slice b has no row here
    assert sliced.rows_of.tolist() == [6.0, 1.0]
    add("b")
    sliced.flush()  # slice a has none: its row count 6, not 7
    assert sliced.rows_of.tolist() == [6.0, 2.0]


def test_slices_do_not_depend_on_chunk_size(write: Any, run_cli: Any) -> None:
    rng = np.random.default_rng(3)
    n = 300
    preds = write("p.csv", {"p": rng.normal(size=n).round(4), "g": rng.integers(0, 7, n)})
    labels = write("l.csv", {"y": rng.normal(size=n).round(4)})
    docs = []
    for chunk in (1 << 20, 17):
        args = ["compute", preds, labels, "-l", "mae", "--group-by", "g", "-f", "json"]
        out = run_cli([*args, "--chunk-rows", chunk])
        assert out.exit_code == 0, out.output
        docs.append(json.loads(out.stdout)["slices"])
    assert [s["slice"] for s in docs[0]] == [s["slice"] for s in docs[1]]
    for a, b in zip(docs[0], docs[1], strict=True):
        assert a["results"][0]["value"] == pytest.approx(b["results"][0]["value"], rel=1e-12)


# --------------------------------------------------------------------------- CLI outputs


@pytest.fixture
def lang_files(write: Any) -> tuple[Path, Path]:
    """Six rows, three languages; squared errors by hand: en 0.01, 0.04; de 0.25, 0.36, 0.49;
    fr|x 1.0 (a value with Markdown specials)."""
    preds = write(
        "p.csv",
        {"p": [0.1, 0.2, 0.5, 0.6, 0.7, 1.0], "lang": ["en", "en", "de", "de", "de", "fr|x"]},
    )
    labels = write("l.csv", {"y": [0.0] * 6})
    return preds, labels


def test_table_shows_losses_by_column_worst_first(lang_files: Any, run_cli: Any) -> None:
    preds, labels = lang_files
    out = run_cli(["compute", preds, labels, "-l", "mse", "--group-by", "lang", "--top", "0"])
    assert out.exit_code == 0, out.output
    assert "Losses by lang" in out.stdout
    text = out.stdout.split("Losses by lang")[1]
    order = [text.index(name) for name in ("fr|x", "de", "en")]
    assert order == sorted(order)  # fr (1.0) > de (0.3667) > en (0.025)
    assert "+0.6417" in text  # fr: 1 − 2.15/6 = 0.641667 by hand


def test_min_slice_size_hides_values_not_counts(lang_files: Any, run_cli: Any) -> None:
    preds, labels = lang_files
    args = ["compute", preds, labels, "-l", "mse", "--group-by", "lang", "--min-slice-size", "3"]
    out = run_cli([*args, "-f", "json"])
    assert out.exit_code == 0, out.output
    slices = json.loads(out.stdout)["slices"]
    assert [(s["slice"]["lang"], s["n"], s["hidden"]) for s in slices] == [
        ("de", 3, False),
        ("en", 2, True),  # hidden ones last, larger first
        ("fr|x", 1, True),
    ]
    assert slices[0]["results"][0]["value"] == pytest.approx((0.25 + 0.36 + 0.49) / 3)
    assert slices[0]["results"][0]["difference"] == pytest.approx(1.1 / 3 - 2.15 / 6)
    assert slices[1]["results"] == []
    table = run_cli([*args, "--top", "0"])
    assert "values hidden" in table.stdout


def test_csv_and_markdown_outputs(lang_files: Any, run_cli: Any) -> None:
    preds, labels = lang_files
    args = ["compute", preds, labels, "-l", "mse", "--group-by", "lang", "--top", "0"]
    csv_out = run_cli([*args, "-f", "csv"])
    assert csv_out.exit_code == 0, csv_out.output
    lines = csv_out.stdout.splitlines()
    assert lines[0].endswith(",scope,lang,difference")
    assert lines[1].split(",")[8:] == ["overall", "", "0.0"]
    assert lines[2].startswith("mse,1.0,1,") and ",slice,fr|x," in lines[2]
    md = run_cli([*args, "-f", "markdown"])
    assert md.exit_code == 0, md.output
    assert "Losses by lang:" in md.stdout
    assert "| fr\\|x | 1 |" in md.stdout  # the user's | is escaped


def test_group_columns_from_a_meta_file_by_position(write: Any, run_cli: Any) -> None:
    preds = write("p.csv", {"p": [1.0, 2.0, 3.0, 4.0]})
    labels = write("l.csv", {"y": [0.0, 0.0, 0.0, 0.0]})
    meta = write("m.csv", {"device": ["ios", "web", "ios", None]})
    args = ["compute", preds, labels, "-l", "mae", "--meta", meta, "--group-by", "device"]
    out = run_cli([*args, "-f", "json", "--chunk-rows", "3"])
    assert out.exit_code == 0, out.output
    slices = {
        s["slice"]["device"]: s["results"][0]["value"] for s in json.loads(out.stdout)["slices"]
    }
    assert slices == {"ios": 2.0, "web": 2.0, None: 4.0}  # (1 + 3) / 2, 2, 4
    short = write("short.csv", {"device": ["ios", "web", "ios"]})
    bad = run_cli(["compute", preds, labels, "-l", "mae", "--meta", short, "--group-by", "device"])
    assert bad.exit_code == 3
    assert "has 3 rows but the predictions have at least 4" in bad.stderr


def test_unknown_group_column_is_a_usage_error(lang_files: Any, run_cli: Any) -> None:
    preds, labels = lang_files
    out = run_cli(["compute", preds, labels, "-l", "mse", "--group-by", "country"])
    assert out.exit_code == 2
    assert "--group-by country: no column 'country'" in out.stderr
    assert "--meta FILE" in out.stderr


def test_group_by_through_the_installed_entry_point(lang_files: Any) -> None:
    preds, labels = lang_files
    cmd = [ENTRY_POINT, "compute", preds, labels, "-l", "mse", "--group-by", "lang", "-f", "json"]
    proc = subprocess.run([str(a) for a in cmd], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["group_by"] == ["lang"]
    assert [s["slice"]["lang"] for s in doc["slices"]] == ["fr|x", "de", "en"]
    assert {s["n"] for s in doc["slices"]} == {1, 2, 3}


def test_signatures_name_the_weight_column_and_the_slice(lang_files: Any, run_cli: Any) -> None:
    preds, labels = lang_files
    args = ["compute", preds, labels, "-l", "mse", "--group-by", "lang", "-f", "json"]
    doc = json.loads(run_cli(args).stdout)
    assert "slice:" not in doc["results"][0]["signature"]
    by_lang = {s["slice"]["lang"]: s["results"][0]["signature"] for s in doc["slices"]}
    assert "|slice:lang=de|n:3|" in by_lang["de"]
    assert "slice:lang=fr/x" in by_lang["fr|x"]  # '|' cannot break the line apart
    assert "weights:" not in by_lang["de"]
    weighted = losscli.compute("mse", [1.0, 2.0], [0.0, 0.0], weights=[1.0, 2.0])
    assert "|weights:weight|" in weighted.signature
