"""--per-sample files: labels as the user wrote them, one column per --loss."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_class_names_not_indices(run_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    result = run_cli(
        [
            "compute",
            SAMPLE / "images_logits.csv",
            SAMPLE / "images_labels.csv",
            "--id-col",
            "image_id",
            "--loss",
            "ce",
            "--per-sample",
            out,
        ]
    )
    assert result.exit_code == 0, result.stderr
    rows = _rows(out)
    assert {r["label"] for r in rows} == {"cat", "dog", "bird", "fish", "horse"}
    labels = {r["image_id"]: r["label"] for r in _rows(SAMPLE / "images_labels.csv")}
    assert all(labels[r["id"]] == r["label"] for r in rows)


def test_the_same_spec_twice_keeps_both_columns(run_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    args = [
        "compute",
        SAMPLE / "seed_preds.csv",
        SAMPLE / "seed_labels.csv",
        "--loss",
        "mse",
        "--loss",
        "ce",
        "--loss",
        "mse",
    ]
    result = run_cli([*args, "--per-sample", out, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [r["loss"] for r in data["results"]] == ["mse", "ce", "mse"]
    assert data["results"][0]["value"] == data["results"][2]["value"]
    rows = _rows(out)
    assert list(rows[0]) == ["row", "label", "mse", "ce", "mse (2)"]
    # The worst table carries one value per --loss, in order.
    assert all(len(w["losses"]) == 3 for w in data["worst"])
    mse = [float(r["mse"]) for r in rows]
    assert sum(mse) / len(mse) == pytest.approx(data["results"][0]["value"], rel=1e-12)
