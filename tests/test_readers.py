"""Every file format gives the same losses for the same data (through the CLI).

Expected values are computed here with NumPy from the formulas (binary log loss as scikit-learn
``log_loss``, hinge with labels mapped to ±1 as scikit-learn ``hinge_loss``, cross-entropy from
logits as torch ``cross_entropy``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from float32_bound import loss_bound
from typer.testing import Result

RunCli = Callable[..., Result]
Write = Callable[..., Path]

# Binary: probabilities of class 1 and 0/1 labels.
P = np.array([0.9, 0.2, 0.4, 0.7, 0.05, 0.6, 0.35])
Y = np.array([1, 0, 1, 1, 0, 0, 1])
BINARY_EXPECTED = [
    np.mean((P - Y) ** 2),
    -np.mean(Y * np.log(P) + (1 - Y) * np.log(1 - P)),
    np.mean(np.maximum(0, 1 - (2 * Y - 1) * P)),
]
BINARY_SPECS = ["mse", "ce", "hinge"]

# Multiclass: logits (n, 3) and class indices.
Z = np.array(
    [[2.0, 0.5, -1.0], [0.1, 1.5, 0.3], [-0.7, 0.2, 3.1], [1.2, 1.1, -2.0], [0.0, -0.5, 0.4]]
)
C = np.array([0, 1, 2, 1, 0])


def _ce(z: np.ndarray, y: np.ndarray) -> float:
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def _hinge(z: np.ndarray, y: np.ndarray) -> float:
    rows = np.arange(len(y))
    others = z.copy()
    others[rows, y] = -np.inf
    return float(np.maximum(0, 1 - (z[rows, y] - others.max(axis=1))).mean())


MULTI_EXPECTED = [_ce(Z, C), _hinge(Z, C)]
MULTI_SPECS = ["ce", "hinge"]


def compute(run_cli: RunCli, args: list[Any], specs: list[str]) -> dict[str, Any]:
    result = run_cli(
        ["compute", *args, *(x for s in specs for x in ("--loss", s)), "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def values(doc: dict[str, Any]) -> list[float]:
    return [r["value"] for r in doc["results"]]


TABLE_SUFFIXES = ["csv", "tsv", "csv.gz", "tsv.gz", "parquet", "pq", "tab"]


@pytest.mark.parametrize("suffix", TABLE_SUFFIXES)
def test_binary_tables(suffix: str, write: Write, run_cli: RunCli) -> None:
    preds = write(f"preds.{suffix}", {"prob": list(P)})
    labels = write(f"labels.{suffix}", {"label": list(Y)})
    doc = compute(run_cli, [preds, labels], BINARY_SPECS)
    assert values(doc) == pytest.approx(BINARY_EXPECTED, rel=1e-12)
    assert doc["n_samples"] == len(P)
    assert doc["task"] == "binary"


@pytest.mark.parametrize("suffix", TABLE_SUFFIXES)
def test_multiclass_tables(suffix: str, write: Write, run_cli: RunCli) -> None:
    preds = write(f"preds.{suffix}", {name: list(Z[:, i]) for i, name in enumerate("abc")})
    labels = write(f"labels.{suffix}", {"label": list(C)})
    doc = compute(run_cli, [preds, labels], MULTI_SPECS)
    assert values(doc) == pytest.approx(MULTI_EXPECTED, rel=1e-12)
    assert doc["classes"] == ["a", "b", "c"]
    assert doc["predictions_kind"] == "logits"


def test_binary_npy(write: Write, run_cli: RunCli) -> None:
    doc = compute(run_cli, [write("p.npy", P), write("y.npy", Y)], BINARY_SPECS)
    assert values(doc) == pytest.approx(BINARY_EXPECTED, rel=1e-12)


def test_multiclass_npy(write: Write, run_cli: RunCli) -> None:
    doc = compute(run_cli, [write("z.npy", Z), write("c.npy", C)], MULTI_SPECS)
    assert values(doc) == pytest.approx(MULTI_EXPECTED, rel=1e-12)


def test_float32_npy_accumulates_in_float64(write: Write, run_cli: RunCli) -> None:
    z32 = Z.astype(np.float32)
    doc = compute(run_cli, [write("z.npy", z32), write("c.npy", C)], MULTI_SPECS)
    # The float32 values themselves, evaluated in float64: hinge computes in float64, to
    # 1e-12; ce's kernels exponentiate float32 logits in float32 and sum in float64, within
    # B(3) of the float64 computation (tests/float32_bound.py).
    ce, hinge = values(doc)
    ce64 = _ce(z32.astype(np.float64), C)
    assert abs(ce - ce64) <= loss_bound(3, ce64)
    assert hinge == pytest.approx(_hinge(z32.astype(np.float64), C), rel=1e-12)


def test_npz_with_one_array(write: Write, run_cli: RunCli) -> None:
    doc = compute(
        run_cli, [write("p.npz", {"scores": P}), write("y.npz", {"labels": Y})], BINARY_SPECS
    )
    assert values(doc) == pytest.approx(BINARY_EXPECTED, rel=1e-12)


def test_npz_with_several_arrays_and_keys(write: Write, run_cli: RunCli) -> None:
    both = write("both.npz", {"logits": Z, "classes": C, "probs": P, "binary": Y})
    doc = compute(
        run_cli, [both, both, "--preds-key", "logits", "--labels-key", "classes"], MULTI_SPECS
    )
    assert values(doc) == pytest.approx(MULTI_EXPECTED, rel=1e-12)
    doc = compute(
        run_cli, [both, both, "--preds-key", "probs", "--labels-key", "binary"], BINARY_SPECS
    )
    assert values(doc) == pytest.approx(BINARY_EXPECTED, rel=1e-12)


def test_mixed_formats(write: Write, run_cli: RunCli) -> None:
    preds = write("p.parquet", {"prob": list(P)})
    labels = write("y.npy", Y)
    assert values(compute(run_cli, [preds, labels], BINARY_SPECS)) == pytest.approx(
        BINARY_EXPECTED, rel=1e-12
    )
    labels = write("y.tsv", {"label": list(Y)})
    preds = write("p.npz", {"p": P})
    assert values(compute(run_cli, [preds, labels], BINARY_SPECS)) == pytest.approx(
        BINARY_EXPECTED, rel=1e-12
    )


@pytest.mark.parametrize("suffix", ["csv", "tsv", "csv.gz"])
def test_headerless_file_is_read_as_data(suffix: str, write: Write, run_cli: RunCli) -> None:
    # First line all numbers: it is the first sample, not a header.
    preds = write(f"p.{suffix}", {"prob": list(P)}, header=False)
    labels = write(f"y.{suffix}", {"label": list(Y)}, header=False)
    doc = compute(run_cli, [preds, labels], BINARY_SPECS)
    assert doc["n_samples"] == len(P)
    assert values(doc) == pytest.approx(BINARY_EXPECTED, rel=1e-12)


def test_headerless_multicolumn_with_negative_first_value(write: Write, run_cli: RunCli) -> None:
    preds = write("z.csv", {str(i): list(Z[:, i]) for i in range(3)}, header=False)
    labels = write("c.csv", {"c": list(C)}, header=False)
    assert preds.read_text().startswith("2.0,0.5,-1.0\n")
    doc = compute(run_cli, [preds, labels], MULTI_SPECS)
    assert doc["n_samples"] == len(C)
    assert values(doc) == pytest.approx(MULTI_EXPECTED, rel=1e-12)


def test_number_formats_in_one_column(write: Write, run_cli: RunCli) -> None:
    # Integers, decimals, exponents and a leading '+' mixed in one column.
    preds = write("p.csv", "pred\n1\n0\n2.5\n3e-1\n+4\n-1.25E1\n")
    labels = write("y.csv", "y\n1.5\n0\n2\n1\n3\n-12\n")
    p = np.array([1, 0, 2.5, 0.3, 4, -12.5])
    y = np.array([1.5, 0, 2, 1, 3, -12])
    doc = compute(run_cli, [preds, labels], ["mse", "mae"])
    assert values(doc) == pytest.approx([np.mean((p - y) ** 2), np.mean(np.abs(p - y))], rel=1e-12)


def test_crlf_line_endings_and_quoted_header(write: Write, run_cli: RunCli) -> None:
    preds = write("p.csv", '"prob"\r\n' + "".join(f"{v}\r\n" for v in P))
    labels = write("y.csv", '"label"\r\n' + "".join(f"{v}\r\n" for v in Y))
    doc = compute(run_cli, [preds, labels], BINARY_SPECS)
    assert values(doc) == pytest.approx(BINARY_EXPECTED, rel=1e-12)
    assert doc["inputs"]["predictions"]["columns"] == ["prob"]


def test_ints_then_floats_across_csv_blocks(write: Write, run_cli: RunCli) -> None:
    # Over 1 MiB of integer rows (more than one CSV parsing block), then float rows: a column's
    # type is fixed from the start, so the late floats neither fail nor get truncated.
    n_int = 600_000
    preds = write("p.csv", "p\n" + "0\n" * n_int + "0.5\n0.25\n")
    labels = write("y.csv", "y\n" + "0\n" * n_int + "1\n0\n")
    assert preds.stat().st_size > 1 << 20
    doc = compute(run_cli, [preds, labels], ["mse"])
    assert doc["n_samples"] == n_int + 2
    assert values(doc) == pytest.approx([(0.25 + 0.0625) / (n_int + 2)], rel=1e-12)


def test_text_in_a_late_csv_block_is_an_input_error(write: Write, run_cli: RunCli) -> None:
    n_int = 600_000
    preds = write("p.csv", "p\n" + "0\n" * n_int + "abc\n0.25\n")
    labels = write("y.csv", "y\n" + "0\n" * n_int + "1\n0\n")
    result = run_cli(["compute", preds, labels, "--loss", "mse"])
    assert result.exit_code == 3, result.stderr
    assert result.stdout == ""
    assert "abc" in result.stderr
    assert "Traceback" not in result.output


def test_unnamed_index_column_is_ignored_and_said(run_cli: RunCli, tmp_path: Path) -> None:
    # pandas' DataFrame.to_csv() writes the row index as a first column with an empty header.
    preds = tmp_path / "p.csv"
    preds.write_text(",cat,dog\n0,2.0,1.0\n1,0.5,1.5\n2,-1,3\n")
    labels = tmp_path / "l.csv"
    labels.write_text(",label\n0,cat\n1,dog\n2,dog\n")
    result = run_cli(["compute", preds, labels, "--loss", "ce", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["classes"] == ["cat", "dog"]
    assert any("unnamed column of" in i["decision"] for i in data["interpretation"])
    # Hand derivation: mean of logsumexp(z) - z[y] over the three rows.
    z = np.array([[2.0, 1.0], [0.5, 1.5], [-1.0, 3.0]])
    y = np.array([0, 1, 1])
    lse = np.log(np.exp(z).sum(axis=1))
    assert data["results"][0]["value"] == pytest.approx(
        np.mean(lse - z[np.arange(3), y]), rel=1e-12
    )
