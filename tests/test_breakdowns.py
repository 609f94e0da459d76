"""--by-class and --class-axis through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import SAMPLE
from float32_bound import loss_bound


def _json(run_cli: Any, args: list[Any]) -> dict[str, Any]:
    result = run_cli([*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "args",
    [
        [
            SAMPLE / "images_logits.csv",
            SAMPLE / "images_labels.csv",
            "--id-col",
            "image_id",
            "--loss",
            "ce",
            "--loss",
            "ce:weight=[1,2,1,1,0.5]",
            "--loss",
            "hinge",
        ],
        [
            SAMPLE / "seg_logits.npy",
            SAMPLE / "seg_labels.npy",
            "--loss",
            "ce:ignore_index=255",
            "--loss",
            "ce:ignore_index=255,label_smoothing=0.1",
        ],
        [SAMPLE / "seed_preds.csv", SAMPLE / "seed_labels.csv", "--loss", "ce", "--loss", "mse"],
    ],
)
def test_by_class_adds_up_to_the_overall_loss(run_cli: Any, args: list[Any]) -> None:
    data = _json(run_cli, ["compute", *args, "--by-class"])
    rows = data["by_class"]
    for result in data["results"]:
        parts = [row["losses"][result["loss"]] for row in rows]
        shares = sum(p["share"] for p in parts)
        assert shares == pytest.approx(1.0, rel=1e-12)
        # Σ_c mean_c · weight_c / Σ_c weight_c is the overall mean; with unit weights
        # weight_c is the count, so the count-weighted class means give the value back.
        if "weight" not in result["loss"]:
            total = sum(p["mean"] * p["count"] for p in parts) / sum(p["count"] for p in parts)
            assert total == pytest.approx(result["value"], rel=1e-12)
    counts = sum(row["losses"][data["results"][0]["loss"]]["count"] for row in rows)
    if data["task"] != "dense":
        assert counts == data["n_samples"]


def test_by_class_table_names_the_classes(run_cli: Any) -> None:
    result = run_cli(
        [
            "compute",
            SAMPLE / "images_logits.csv",
            SAMPLE / "images_labels.csv",
            "--id-col",
            "image_id",
            "--loss",
            "ce",
            "--by-class",
            "--top",
            "0",
        ]
    )
    assert result.exit_code == 0, result.stderr
    assert "By true class" in result.stdout
    for name in ("cat", "dog", "bird", "fish", "horse"):
        assert name in result.stdout


def test_by_class_needs_classes(run_cli: Any) -> None:
    result = run_cli(
        [
            "compute",
            SAMPLE / "house_prices_preds.parquet",
            SAMPLE / "house_prices_labels.parquet",
            "--loss",
            "mse",
            "--by-class",
        ]
    )
    assert result.exit_code == 2
    assert "--by-class needs class labels" in result.stderr


def test_channels_last_with_class_axis(run_cli: Any, tmp_path: Path) -> None:
    last = tmp_path / "last.npy"
    np.save(last, np.moveaxis(np.load(SAMPLE / "seg_logits.npy"), 1, -1))
    spec = ["--loss", "ce:ignore_index=255"]
    first = _json(run_cli, ["compute", SAMPLE / "seg_logits.npy", SAMPLE / "seg_labels.npy", *spec])
    moved = _json(
        run_cli, ["compute", last, SAMPLE / "seg_labels.npy", *spec, "--class-axis", "-1"]
    )
    assert moved["results"][0]["value"] == first["results"][0]["value"]
    # torch 2.13.0: F.cross_entropy(torch.tensor(seg_logits, float64), seg_labels,
    # ignore_index=255).item() on these files = 0.27358623770840057 (run by hand in the
    # reference environment of tests/reference/README.md; also in sample_data/README.md).
    # The logits are float32 (3 classes): the kernels' float32 exp keeps the mean within
    # B(3) of that float64 value (tests/float32_bound.py; 1e-10 relative for torch's side).
    torch64 = 0.27358623770840057
    assert abs(first["results"][0]["value"] - torch64) <= loss_bound(3, torch64, rel=1e-10)
    # Without the flag the shapes do not fit, and the message says what to do.
    result = run_cli(["compute", last, SAMPLE / "seg_labels.npy", *spec])
    assert result.exit_code == 3
    assert "--class-axis -1" in result.stderr


@pytest.mark.parametrize("axis", ["0", "7"])
def test_class_axis_out_of_range(run_cli: Any, axis: str) -> None:
    result = run_cli(
        [
            "compute",
            SAMPLE / "seg_logits.npy",
            SAMPLE / "seg_labels.npy",
            "--loss",
            "ce",
            "--class-axis",
            axis,
        ]
    )
    assert result.exit_code == 2
    assert "--class-axis" in result.stderr


def test_class_axis_on_a_table_is_a_usage_error(run_cli: Any) -> None:
    result = run_cli(
        [
            "compute",
            SAMPLE / "seed_preds.csv",
            SAMPLE / "seed_labels.csv",
            "--loss",
            "ce",
            "--class-axis",
            "-1",
        ]
    )
    assert result.exit_code == 2
    assert "N-d prediction arrays" in result.stderr


def test_by_class_accumulators_merge_like_one_pass() -> None:
    from losscli.engine.accumulators import ByClass
    from losscli.losses import PerSample

    rng = np.random.default_rng(7)
    values, weights = rng.uniform(0, 3, 40), rng.uniform(0, 2, 40)
    classes = rng.integers(-1, 4, 40)  # -1: a label outside the classes (ignore_index)
    whole = ByClass(1, 4)
    whole.update(0, PerSample(values, weights), classes)
    left, right = ByClass(1, 4), ByClass(1, 4)
    left.update(0, PerSample(values[:15], weights[:15]), classes[:15])
    right.update(0, PerSample(values[15:], weights[15:]), classes[15:])
    left.merge(right)
    for a, b in ((left.sum_v, whole.sum_v), (left.sum_w, whole.sum_w), (left.count, whole.count)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # Independent check: the per-class sums by masking.
    for c in range(4):
        assert whole.sum_v[0, c] == pytest.approx(values[classes == c].sum(), rel=1e-12)
        assert whole.count[0, c] == np.count_nonzero(classes == c)
