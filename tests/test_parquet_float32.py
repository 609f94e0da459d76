"""float32 Parquet columns under ``--convention sklearn`` (issue 8): scikit-learn computes
``log_loss`` in the input's dtype and clips at float32's eps, and pandas reads a float32
Parquet column as float32, so losscli must too (it read Parquet as float64 and clipped at
float64's eps).

Expected number: tests/reference/cases.json ``bce-probs-float32-sklearn``,
``sklearn.metrics.log_loss`` 1.9.1 on the float32 array (written by
tests/reference/generate_reference.py, ``make reference``): 7.056691646575928. The same
call on ``pandas.read_parquet`` of the file this test writes gives the same 7.056691646575928
(checked with .refenv/bin/python; float32 arithmetic, so compared to 1e-6 relative).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import CLI_ENV, invoke

ROOT = Path(__file__).resolve().parent
CASE = next(
    c
    for c in json.loads((ROOT / "reference" / "cases.json").read_text())["cases"]
    if c["id"] == "bce-probs-float32-sklearn"
)
SKLEARN_FLOAT32 = 7.056691646575928
assert CASE["expected"] == SKLEARN_FLOAT32  # the committed reference number


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    p32 = np.asarray(CASE["preds"], dtype=np.float32)
    out = {name: tmp_path / f"{name}.parquet" for name in ("p32", "p64", "y")}
    pd.DataFrame({"p": p32}).to_parquet(out["p32"], index=False)
    pd.DataFrame({"p": p32.astype(np.float64)}).to_parquet(out["p64"], index=False)
    pd.DataFrame({"y": CASE["labels"]}).to_parquet(out["y"], index=False)
    (tmp_path / "parts").mkdir()
    for i, (a, b) in enumerate([(0, 5), (5, len(p32))]):
        pd.DataFrame({"p": p32[a:b]}).to_parquet(tmp_path / "parts" / f"part-{i}.parquet")
    out["parts"] = tmp_path / "parts"
    return out


def _value(args: list[Any]) -> float:
    result = invoke(["compute", *args, "-l", "bce", "--probs", "-f", "json"])
    assert result.exit_code == 0, result.output
    return float(json.loads(result.stdout)["results"][0]["value"])


def test_float32_parquet_clips_at_float32_eps_under_sklearn(files: dict[str, Path]) -> None:
    sk32 = _value([files["p32"], files["y"], "--convention", "sklearn"])
    assert sk32 == pytest.approx(SKLEARN_FLOAT32, rel=1e-6)
    # The same values stored as float64 clip at float64's eps (36.04 per p = 0 positive row).
    sk64 = _value([files["p64"], files["y"], "--convention", "sklearn"])
    assert sk64 > sk32 + 1.0
    # losscli's own convention keeps float64's eps whatever the stored type.
    assert _value([files["p32"], files["y"]]) == pytest.approx(sk64, rel=1e-6)
    # Shards of float32 Parquet are float32 too.
    parts = _value([files["parts"], files["y"], "--convention", "sklearn"])
    assert parts == pytest.approx(SKLEARN_FLOAT32, rel=1e-6)


def test_float32_parquet_in_a_process(files: dict[str, Path]) -> None:
    env = {k: v for k, v in CLI_ENV.items() if v is not None}
    exe = Path(sys.executable).parent / "losscli"
    cmd = [exe, "compute", files["p32"], files["y"], "-l", "bce", "--probs", "-f", "json"]
    proc = subprocess.run(
        [str(a) for a in [*cmd, "--convention", "sklearn"]],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    value = json.loads(proc.stdout)["results"][0]["value"]
    assert value == pytest.approx(SKLEARN_FLOAT32, rel=1e-6)
