"""Readers hold one chunk at a time: NPY read in blocks of fresh arrays (no memory map left
resident), Parquet decoded in bounded batches. Peak memory itself is measured by
``make bench`` (bench/bench_memory.py); here, that the chunks are right and owned.

Expected values are the arrays written by ``numpy.save`` in each test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import Result

from losscli.io.arrow import PARQUET_BATCH_ROWS
from losscli.io.readers import open_source
from losscli.io.sources import ArraySource, TableSource, rechunked

RunCli = Callable[..., Result]
ENTRY_POINT = Path(sys.executable).parent / "losscli"


def _chunks(path: Path, rows: int) -> list[np.ndarray]:
    src = open_source(path, chunk_rows=rows)
    assert isinstance(src, ArraySource)
    return list(src.chunks())


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(10, dtype=np.float64),
        np.arange(30, dtype=np.float32).reshape(10, 3),
        np.arange(60, dtype=np.int16).reshape(10, 3, 2),
        np.array(["cat", "dog", "emu", "yak", "ox"] * 2),
    ],
    ids=["1d", "2d-float32", "3d-int16", "text"],
)
def test_npy_chunks_are_owned_copies_in_order(
    tmp_path: Path, array: np.ndarray, order: str
) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.asarray(array, order=order))
    chunks = _chunks(path, 3)
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    for chunk in chunks:
        assert not isinstance(chunk, np.memmap)
        assert chunk.flags.owndata and chunk.flags.c_contiguous
    np.testing.assert_array_equal(np.concatenate(chunks), array)
    assert all(c.dtype == array.dtype for c in chunks)


def test_npy_read_twice_gives_the_same_chunks(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.linspace(0, 1, 7))
    src = open_source(path, chunk_rows=2)
    assert isinstance(src, ArraySource)
    first = np.concatenate(list(src.chunks()))
    np.testing.assert_array_equal(first, np.concatenate(list(src.chunks())))
    head = src.head()
    assert head is not None
    np.testing.assert_array_equal(head, first)


def test_npy_cut_short_is_an_input_error(tmp_path: Path, run_cli: RunCli) -> None:
    preds, labels = tmp_path / "p.npy", tmp_path / "y.npy"
    np.save(preds, np.linspace(0, 1, 100))
    np.save(labels, np.zeros(100))
    preds.write_bytes(preds.read_bytes()[:-80])  # ten rows missing
    result = run_cli(["compute", preds, labels, "--loss", "mse"])
    assert result.exit_code == 3 and "cut short" in result.stderr
    proc = subprocess.run(
        [ENTRY_POINT, "compute", preds, labels, "--loss", "mse"], capture_output=True, text=True
    )
    assert proc.returncode == 3, proc.stderr
    assert "cut short" in proc.stderr and "Traceback" not in proc.stderr


def test_parquet_is_decoded_in_bounded_batches(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 3 * PARQUET_BATCH_ROWS + 5
    values = np.arange(n, dtype=np.float64)
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"p": values}), path, row_group_size=n)  # one big row group
    src = open_source(path, chunk_rows=2 * PARQUET_BATCH_ROWS)
    assert isinstance(src, TableSource) and src.arrow is not None
    assert max(b.num_rows for b in src.arrow(["p"])) <= PARQUET_BATCH_ROWS
    chunks = [c["p"] for c in src.chunks(["p"])]
    assert [len(c) for c in chunks] == [2 * PARQUET_BATCH_ROWS, PARQUET_BATCH_ROWS + 5]
    np.testing.assert_array_equal(np.concatenate(chunks), values)


@pytest.mark.parametrize("rows", [1, 3, 4, 100])
def test_rechunked_joins_and_cuts_in_order(rows: int) -> None:
    parts = [(0, 2), (2, 3), (3, 3), (3, 9), (9, 10)]  # batches of 2, 1, 0, 6 and 1 rows
    chunks = [
        {"x": np.arange(a, b), "t": np.array([str(i) for i in range(a, b)])} for a, b in parts
    ]
    out = list(rechunked(iter(chunks), rows))
    sizes = [len(c["x"]) for c in out]
    assert all(s == rows for s in sizes[:-1]) and 0 < sizes[-1] <= rows
    np.testing.assert_array_equal(np.concatenate([c["x"] for c in out]), np.arange(10))
    assert [v for c in out for v in c["t"]] == [str(i) for i in range(10)]


def test_chunked_npy_gives_the_one_chunk_value(tmp_path: Path, run_cli: RunCli) -> None:
    """The same MSE (to 1e-12: only the order of the float64 sums differs) from 1-row,
    7-row and whole-file chunks; expected value: NumPy's mean of squared differences."""
    rng = np.random.default_rng(3)
    p, y = rng.normal(size=1001), rng.normal(size=1001)
    np.save(tmp_path / "p.npy", np.asfortranarray(p.reshape(1001, 1)))
    np.save(tmp_path / "y.npy", y)
    expected = float(np.mean((p - y) ** 2))
    for rows in ("1", "7", "100000"):
        result = run_cli(
            [
                *("compute", tmp_path / "p.npy", tmp_path / "y.npy", "--loss", "mse"),
                *("--format", "json", "--chunk-rows", rows),
            ]
        )
        assert result.exit_code == 0, result.stderr
        value = json.loads(result.stdout)["results"][0]["value"]
        assert value == pytest.approx(expected, rel=1e-12)


def test_large_counts_have_thousands_separators_in_tables_only(
    write: Callable[..., Path], run_cli: RunCli
) -> None:
    """2,500 samples: n and the reliability bin count read 2,500 in the terminal table; JSON
    keeps plain numbers. (Every prediction is 0.9, so all 2,500 fall in one bin.)"""
    labels = [1, 0, 1, 1, 1] * 500
    preds = write("p.csv", {"p": [0.9] * 2500})
    y = write("y.csv", {"y": labels})
    table = run_cli(["compute", preds, y, "-l", "ece:bins=2", "--calibration"])
    assert table.exit_code == 0, table.stderr
    assert "2,500 samples" in table.stdout
    assert " 2,500 " in table.stdout.split("reliability")[1]
    doc = run_cli(["compute", preds, y, "-l", "ece:bins=2", "--format", "json"])
    data = json.loads(doc.stdout)
    assert data["n_samples"] == 2500 and data["results"][0]["n"] == 2500
