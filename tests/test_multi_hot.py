"""Several 0/1 label columns (a multi-label classifier's targets, scored with bce): the run
says it read them as one 0/1 target per column, and the worst rows name each row's positive
classes instead of an argmax. Expected rows and losses come from NumPy in the test: bce per
row is the mean over the classes of -(y log p + (1 - y) log(1 - p)), torch's
``binary_cross_entropy`` with ``reduction='none'`` averaged per row."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import ENTRY_POINT, run_process, worst_rows
from typer.testing import Result

RunCli = Callable[..., Result]
CLASSES = ["cat", "dog", "bird"]


def _files(tmp_path: Path, labels: np.ndarray, seed: int = 3) -> tuple[Path, Path, np.ndarray]:
    rng = np.random.default_rng(seed)
    probs = np.clip(rng.random(labels.shape) * 0.6 + 0.3 * labels, 0.01, 0.99)
    preds, truth = tmp_path / "preds.csv", tmp_path / "labels.csv"
    pd.DataFrame(probs, columns=CLASSES).to_csv(preds, index=False)
    pd.DataFrame(labels, columns=CLASSES).to_csv(truth, index=False)
    return preds, truth, probs


def _positives(row: np.ndarray) -> str:
    return " + ".join(c for c, v in zip(CLASSES, row, strict=True) if v == 1) or "none"


def test_multi_hot_labels_are_named_as_such_and_rows_show_their_classes(
    tmp_path: Path, run_cli: RunCli
) -> None:
    rng = np.random.default_rng(8)
    labels = (rng.random((60, 3)) < 0.4).astype(int)
    labels[0] = [0, 0, 0]  # no positive class
    labels[1] = [1, 1, 1]
    preds, truth, probs = _files(tmp_path, labels)
    args = ["compute", preds, truth, "--loss", "bce", "--top", "60"]

    doc = json.loads(run_cli([*args, "-f", "json"]).stdout)
    assert doc["interpretation"][0]["decision"] == (
        "3 label columns read as 0/1 targets, one per column (multi-hot)"
    )
    terms = -(labels * np.log(probs) + (1 - labels) * np.log(1 - probs)).mean(axis=1)
    assert doc["results"][0]["value"] == pytest.approx(terms.mean(), rel=1e-12)
    order = np.argsort(-terms, kind="stable")
    assert [w["row"] for w in doc["worst"]] == order.tolist()
    assert [w["label"] for w in doc["worst"]] == [_positives(labels[i]) for i in order]
    assert [w["prediction"] for w in doc["worst"]] == [
        f"argmax {CLASSES[int(np.argmax(probs[i]))]}" for i in order
    ]
    assert {"none", "cat + dog + bird"} <= {w["label"] for w in doc["worst"]}

    table = worst_rows(run_cli(args).stdout)
    assert [cells[1] for cells in table] == [_positives(labels[i]) for i in order]


def test_soft_labels_keep_the_distribution_reading_and_their_argmax(
    tmp_path: Path, run_cli: RunCli
) -> None:
    rng = np.random.default_rng(9)
    soft = rng.dirichlet([1.0, 1.0, 1.0], size=30)
    soft[0] = [0.0, 1.0, 0.0]  # a one-hot row among soft ones: named by its class
    preds, truth = tmp_path / "preds.csv", tmp_path / "labels.csv"
    pd.DataFrame(rng.dirichlet([2.0, 2.0, 2.0], size=30), columns=CLASSES).to_csv(
        preds, index=False
    )
    pd.DataFrame(soft, columns=CLASSES).to_csv(truth, index=False)
    doc = json.loads(
        run_cli(["compute", preds, truth, "--loss", "ce", "--top", "30", "-f", "json"]).stdout
    )
    assert doc["interpretation"][0]["decision"] == (
        "3 label columns read as a distribution per row (soft labels)"
    )
    shown = {w["row"]: w["label"] for w in doc["worst"]}
    assert shown[0] == "dog"
    assert shown[1] == f"argmax {CLASSES[int(np.argmax(soft[1]))]}"


def test_multi_hot_through_the_installed_command(tmp_path: Path) -> None:
    labels = np.array([[1, 1, 0], [0, 0, 0], [0, 1, 0], [1, 0, 1]])
    preds, truth, _ = _files(tmp_path, labels)
    proc = run_process(ENTRY_POINT, "compute", preds, truth, "--loss", "bce", "--top", "4")
    assert proc.returncode == 0, proc.stderr
    assert "read as 0/1 targets, one per column (multi-hot)" in proc.stdout
    assert sorted(cells[1] for cells in worst_rows(proc.stdout)) == [
        "cat + bird",
        "cat + dog",
        "dog",
        "none",
    ]
