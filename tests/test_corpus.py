"""The corpus: files as real tools write them, each with its expected value or exit code,
through CliRunner and through the installed entry point (issue 8: zero exit 4).

Byte fixtures are in tests/corpus/ (written by tests/corpus/make_corpus.py, which says which
tool writes each one so); files pandas, NumPy and pyarrow write are made here by those
libraries. Expected values:
- ART_BCE 0.4149315996: sklearn 1.9.1 log_loss([1, 0, 1], [0.9, 0.2, 0.4]) (REFERENCES.md);
- ART_MSE 0.1366666667: torch 2.13.0 mse_loss on the same (REFERENCES.md);
- REF_CE 0.4902972751: torch 2.13.0 cross_entropy on REFERENCES.md's logits and targets;
- R_SKIP: bce of rows 0 and 2 once the NA row is skipped, by hand: -(ln 0.9 + ln 0.4) / 2.
float32 files agree to 1e-6 (ARCHITECTURE.md, numerics).
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
from conftest import invoke

CORPUS = Path(__file__).resolve().parent / "corpus"
ENTRY_POINT = Path(sys.executable).parent / "losscli"
ART_BCE, ART_MSE, REF_CE = 0.4149315996, 0.1366666667, 0.4902972751
R_SKIP = -(math.log(0.9) + math.log(0.4)) / 2
REF_LOGITS = [[2, 0.5, -1], [0.1, 1.5, 0.3], [-0.5, 0.2, 2.2], [1, 1, 1]]
REF_TARGETS = [0, 1, 2, 1]
LABELS = CORPUS / "labels.csv"


def _library_files(folder: Path) -> dict[str, Path]:
    """Files written by pandas, NumPy and pyarrow themselves."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = {
        "pandas_logits": folder / "pandas_logits.csv",
        "pandas_targets": folder / "pandas_targets.csv",
        "numpy_npz": folder / "outputs.npz",
        "arrow_lists": folder / "lists.parquet",
    }
    pd.DataFrame(np.array(REF_LOGITS, dtype=float)).to_csv(out["pandas_logits"], index=False)
    pd.DataFrame({"target": REF_TARGETS}).to_csv(out["pandas_targets"], index=False)
    np.savez_compressed(out["numpy_npz"], probs=np.array([[0.9], [0.2], [0.4]], np.float32))
    probs = pa.array([[0.1, 0.9], [0.8, 0.2], [0.6, 0.4]], pa.list_(pa.float64(), 2))
    pq.write_table(pa.table({"probs": probs}), out["arrow_lists"])
    return out


# (id, preds, labels, extra arguments, expected value or exit code)
CASES: list[tuple[str, str, str, list[str], float | int]] = [
    ("excel-bom", "excel_bom.csv", "labels", ["-l", "bce"], ART_BCE),
    ("excel-utf16", "excel_unicode.tsv", "labels", ["-l", "bce"], 3),
    ("r-na", "r_write_csv.csv", "labels", ["-l", "bce"], 3),
    ("r-na-skip", "r_write_csv.csv", "labels", ["-l", "bce", "--nan", "skip"], R_SKIP),
    (
        "european",
        "european.csv",
        "european.csv",
        ["-l", "mse", "--pred-cols", "p", "--label-col", "y", "--delimiter", ";", "--decimal", ","],
        ART_MSE,
    ),
    ("european-without-flags", "european.csv", "european.csv", ["-l", "mse"], 3),
    ("latin1", "latin1.csv", "labels", ["-l", "bce"], 3),
    ("torch-n1", "torch_sigmoid_n1.npy", "labels", ["-l", "bce"], ART_BCE),
    ("keras-n1", "keras_predict_n1.npy", "labels", ["-l", "mse"], ART_MSE),
    ("pandas-header", "pandas_logits", "pandas_targets", ["-l", "ce", "--logits"], REF_CE),
    ("numpy-npz", "numpy_npz", "labels", ["-l", "bce"], ART_BCE),
    (
        "arrow-lists",
        "arrow_lists",
        "labels",
        ["-l", "ce", "--probs"],
        -float(np.mean(np.log([0.9, 0.8, 0.4]))),
    ),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    made = _library_files(tmp_path_factory.mktemp("corpus"))
    return {**made, "labels": LABELS}


def _args(case: tuple[str, str, str, list[str], float | int], files: dict[str, Path]) -> list[str]:
    _, preds, labels, extra, _ = case
    where = [files.get(name, CORPUS / name) for name in (preds, labels)]
    return ["compute", *map(str, where), *extra, "--format", "json"]


def _check(code: int, stdout: str, stderr: str, expected: float | int, what: str) -> None:
    assert "Traceback" not in stderr, what
    if isinstance(expected, int):
        assert (code, stdout) == (expected, ""), f"{what}: {stderr}"
        assert stderr.startswith("error: ") and len(stderr.strip().splitlines()) <= 2, stderr
        return
    assert code == 0, f"{what}: {stderr}"
    got = json.loads(stdout)["results"][0]["value"]
    assert got == pytest.approx(expected, abs=1e-6), what


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_corpus_through_cli_runner(case: Any, files: dict[str, Path]) -> None:
    result = invoke(_args(case, files))
    _check(result.exit_code, result.stdout, result.stderr, case[4], case[0])


def test_corpus_through_the_installed_entry_point(files: dict[str, Path]) -> None:
    for case in CASES:
        proc = subprocess.run(
            [str(ENTRY_POINT), *_args(case, files)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        _check(proc.returncode, proc.stdout, proc.stderr, case[4], case[0])
