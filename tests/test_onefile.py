"""One-file mode (issue 11): ``losscli compute results.parquet --label-col label`` and the
same for ``check``. Expected numbers: the two-file run of the same columns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import CLI_ENV, invoke


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(5)
    n = 120
    logits = rng.normal(size=(n, 3))
    frame = pd.DataFrame(logits, columns=["p0", "p1", "p2"])
    frame["label"] = rng.integers(0, 3, n)
    frame["row_id"] = [f"r{i}" for i in range(n)]
    frame.to_parquet(tmp_path / "results.parquet", index=False)
    frame[["p0", "p1", "p2"]].to_csv(tmp_path / "preds.csv", index=False)
    frame[["label"]].to_csv(tmp_path / "labels.csv", index=False)
    (tmp_path / "parts").mkdir()
    for i, (a, b) in enumerate([(0, 50), (50, n)]):
        frame.iloc[a:b].to_parquet(tmp_path / "parts" / f"part-{i:05d}.parquet", index=False)
    return {p.stem: p for p in tmp_path.iterdir()}


def _values(args: list[Any]) -> list[tuple[str, float, int]]:
    result = invoke(["compute", *args, "--loss", "ce", "--loss", "multi_margin", "-f", "json"])
    assert result.exit_code == 0, result.output
    return [(r["loss"], r["value"], r["n"]) for r in json.loads(result.stdout)["results"]]


def test_one_file_gives_the_two_file_numbers(files: dict[str, Path]) -> None:
    expected = _values([files["preds"], files["labels"], "--logits"])
    label = ["--label-col", "label", "--logits"]
    # Predictions default to the numeric columns but the label (row_id is text).
    assert _values([files["results"], *label]) == expected
    assert _values([files["results"], "--pred-cols", "p0,p1,p2", *label]) == expected
    # A directory of part files holding both.
    for got, want in zip(_values([files["parts"], *label]), expected, strict=True):
        assert got[0] == want[0] and got[2] == want[2]
        assert got[1] == pytest.approx(want[1], rel=1e-12, abs=0)


def test_one_file_check(files: dict[str, Path]) -> None:
    base = ["check", files["results"], "--label-col", "label", "--logits", "--loss", "ce"]
    ce = _values([files["preds"], files["labels"], "--logits"])[0][1]
    assert invoke([*base, "--max", f"ce={ce * 1.01}"]).exit_code == 0
    failed = invoke([*base, "--max", f"ce={ce * 0.99}"])
    assert failed.exit_code == 1, failed.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "LABELS left out but no --label-col"),
        (["--label-col", "nope"], "no column 'nope'"),
    ],
)
def test_one_file_usage_errors(files: dict[str, Path], extra: list[str], message: str) -> None:
    result = invoke(["compute", files["results"], "--loss", "ce", "--logits", *extra])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_one_file_needs_a_table(tmp_path: Path) -> None:
    np.save(tmp_path / "p.npy", np.zeros((3, 2)))
    result = invoke(["compute", tmp_path / "p.npy", "--loss", "ce", "--label-col", "y"])
    assert result.exit_code == 2
    assert "is an array" in result.stderr


def test_the_installed_command_in_one_file_mode(files: dict[str, Path]) -> None:
    exe = Path(sys.executable).parent / "losscli"
    env = {k: v for k, v in CLI_ENV.items() if v is not None}
    cmd = [str(exe), "compute", str(files["results"]), "--loss", "ce", "--logits", "-f", "json"]
    ok = subprocess.run([*cmd, "--label-col", "label"], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    value = json.loads(ok.stdout)["results"][0]["value"]
    assert value == _values([files["preds"], files["labels"], "--logits"])[0][1]
    bad = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "--label-col" in bad.stderr and "Traceback" not in bad.stderr


def _decisions(args: list[Any]) -> list[str]:
    result = invoke(["compute", *args, "--loss", "ce", "--logits", "-f", "json"])
    assert result.exit_code == 0, result.output
    return [note["decision"] for note in json.loads(result.stdout)["interpretation"]]


def test_position_alignment_is_said_for_two_files_only(files: dict[str, Path]) -> None:
    """Two files sharing a text column (``row_id``) may be meant to be joined on it: the run
    says it aligned rows by position. One file holding both is aligned with itself."""
    tables = files["results"].parent
    frame = pd.read_parquet(files["results"])
    frame[["p0", "p1", "p2", "row_id"]].to_csv(tables / "preds_ids.csv", index=False)
    frame[["label", "row_id"]].to_csv(tables / "labels_ids.csv", index=False)
    two = _decisions([tables / "preds_ids.csv", tables / "labels_ids.csv", "--label-col", "label"])
    assert "rows aligned by position" in two
    assert "rows aligned by position" not in _decisions([files["results"], "--label-col", "label"])


@pytest.fixture
def archive(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """An .npz holding a model's (N, 1) float32 sigmoid output and its (N, 1) labels, as
    ``np.savez(path, preds=..., labels=...)`` writes them after a Keras or torch run."""
    rng = np.random.default_rng(21)
    probs = (1 / (1 + np.exp(-rng.normal(size=(300, 1))))).astype(np.float32)
    labels = rng.integers(0, 2, size=(300, 1)).astype(np.float32)
    path = tmp_path / "run.npz"
    np.savez(path, preds=probs, labels=labels)
    return path, probs.astype(np.float64).ravel(), labels.astype(np.float64).ravel()


def _bce(p: np.ndarray, y: np.ndarray) -> float:
    """torch binary_cross_entropy's mean, written out: -(y log p + (1 - y) log(1 - p))."""
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log1p(-p))))


def test_one_npz_holds_predictions_and_labels(
    archive: tuple[Path, np.ndarray, np.ndarray],
) -> None:
    path, p, y = archive
    keys = ["--preds-key", "preds", "--labels-key", "labels"]
    result = invoke(["compute", path, *keys, "--loss", "bce", "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["results"][0]["value"] == pytest.approx(_bce(p, y), rel=1e-12)
    assert doc["n_samples"] == 300
    passing = invoke(["check", path, *keys, "--loss", "bce", "--max", f"bce={_bce(p, y) * 1.01}"])
    failing = invoke(["check", path, *keys, "--loss", "bce", "--max", f"bce={_bce(p, y) * 0.99}"])
    assert (passing.exit_code, failing.exit_code) == (0, 1), passing.output + failing.output


def test_one_npz_without_labels_key_says_which_flag(
    archive: tuple[Path, np.ndarray, np.ndarray],
) -> None:
    path = archive[0]
    result = invoke(["compute", path, "--preds-key", "preds", "--loss", "bce"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: LABELS left out: {path}[preds] is an array; name the .npz array that holds "
        "the labels (--labels-key KEY), or give a LABELS file"
    ]


def test_one_npz_through_the_installed_command(
    archive: tuple[Path, np.ndarray, np.ndarray],
) -> None:
    path, p, y = archive
    exe = Path(sys.executable).parent / "losscli"
    args = [exe, "compute", path, "--preds-key", "preds", "--labels-key", "labels"]
    proc = subprocess.run(
        [str(a) for a in [*args, "--loss", "bce", "-f", "json"]],
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if k not in CLI_ENV},
            **{k: v for k, v in CLI_ENV.items() if v is not None},
        },
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["value"] == pytest.approx(_bce(p, y), rel=1e-12)
