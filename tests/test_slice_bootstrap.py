"""``--ci bootstrap`` with ``--group-by``: each slice's percentile interval from the run's own
Poisson replicate weights restricted to the slice's rows.

Expected intervals are recomputed independently here: the replicate weight matrix of every
row (``Resampler.matrix`` of the row numbers, the draw itself tested in test_resample), each
replicate's Σ r·v / Σ r·w over the slice's rows by a NumPy matrix product, and the
percentile interval by ``np.quantile`` (linear), as scipy.stats.bootstrap's percentile
method forms it.
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
from losscli.engine.resample import Resampler

ENTRY_POINT = Path(sys.executable).parent / "losscli"
B, SEED = 300, 7


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(41)
    n = 700
    p, y = rng.normal(size=n).round(4), rng.normal(size=n).round(4)
    g = rng.choice(np.array(["a", "b", "c", ""], dtype=object), n, p=[0.5, 0.3, 0.15, 0.05])
    w = rng.uniform(0.1, 3.0, n).round(3)
    return p, y, g, w


def _expected(
    v: np.ndarray, w: np.ndarray, rows: np.ndarray, root: bool = False
) -> tuple[float, float]:
    weights = Resampler(B, SEED).matrix(rows.astype(np.uint64))  # (B, rows)
    num, den = weights @ v, weights @ w
    ratio = num / den
    reps = np.sqrt(ratio) if root else ratio
    low, high = np.quantile(reps[np.isfinite(reps)], [0.025, 0.975])
    return float(low), float(high)


def _slices(doc: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    return {s["slice"]["g"]: s for s in doc["slices"]}


@pytest.mark.parametrize("chunk_rows", [1 << 20, 37])
def test_slice_intervals_restrict_the_runs_replicates(
    chunk_rows: int, write: Any, run_cli: Any
) -> None:
    p, y, g, _ = _data()
    preds = write("p.csv", {"p": p, "g": g})
    labels = write("l.csv", {"y": y})
    args = ["compute", preds, labels, "-l", "mse", "-l", "rmse", "--group-by", "g", "-f", "json"]
    args += ["--ci", "bootstrap", "--bootstrap-samples", B, "--seed", SEED]
    out = run_cli([*args, "--chunk-rows", chunk_rows])
    assert out.exit_code == 0, out.output
    slices = _slices(json.loads(out.stdout))
    se = (p - y) ** 2
    names = {"a": "a", "b": "b", "c": "c", None: ""}
    assert set(slices) == set(names)
    for value, text in names.items():
        rows = np.flatnonzero(g == text)
        for i, root in ((0, False), (1, True)):
            low, high = _expected(se[rows], np.ones(len(rows)), rows, root)
            got = slices[value]["results"][i]
            assert got["ci_low"] == pytest.approx(low, rel=1e-12)
            assert got["ci_high"] == pytest.approx(high, rel=1e-12)


def test_weighted_slice_intervals_in_the_python_api() -> None:
    p, y, g, w = _data()
    got = losscli.compute(
        "mae", p, y, weights=w, groups=g, ci="bootstrap", bootstrap_samples=B, seed=SEED
    )
    ae = np.abs(p - y)
    for s in got.slices:
        text = "" if s.values[0] is None else s.values[0]
        rows = np.flatnonzero(g == text)
        low, high = _expected(w[rows] * ae[rows], w[rows], rows)
        assert s.results[0].ci_low == pytest.approx(low, rel=1e-12)
        assert s.results[0].ci_high == pytest.approx(high, rel=1e-12)
        # Not the t interval: a percentile interval need not be symmetric about the value.
        t_result = losscli.compute("mae", p[rows], y[rows], weights=w[rows])
        assert not math.isclose(s.results[0].ci_low, t_result.ci_low, rel_tol=1e-9)


def test_slice_bootstrap_through_the_installed_entry_point(write: Any) -> None:
    p, y, g, _ = _data()
    preds = write("p.csv", {"p": p, "g": g})
    labels = write("l.csv", {"y": y})
    cmd = [ENTRY_POINT, "compute", preds, labels, "-l", "mse", "--group-by", "g", "-f", "json"]
    cmd += ["--ci", "bootstrap", "--bootstrap-samples", B, "--seed", SEED]
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    slices = _slices(json.loads(proc.stdout))
    rows = np.flatnonzero(g == "b")
    low, high = _expected(((p - y) ** 2)[rows], np.ones(len(rows)), rows)
    assert slices["b"]["results"][0]["ci_low"] == pytest.approx(low, rel=1e-12)
    assert slices["b"]["results"][0]["ci_high"] == pytest.approx(high, rel=1e-12)
    assert "bootstrap(b=300,seed=7)" in slices["b"]["results"][0]["signature"]
