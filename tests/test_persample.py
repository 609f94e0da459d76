"""--per-sample files: labels as the user wrote them, one column per --loss."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import SAMPLE
from scipy.special import logsumexp
from test_cli import ENTRY_POINT, run_process

from losscli.io.readers import PEEK_ROWS


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


# --------------------------------------------------------------------------- the label column
# What the `label` column holds for each kind of labels (EvaluatedChunk.label_text). Expected
# values are the input files' own labels and losses recomputed here with NumPy/SciPy.


def _per_sample(run_cli: Any, out: Path, files: list[Path], *specs: str) -> list[dict[str, str]]:
    args = ["compute", *files, *(x for s in specs for x in ("--loss", s)), "--per-sample", out]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    return _rows(out)


def test_soft_labels_have_no_label_column(run_cli: Any, tmp_path: Path) -> None:
    """One label column per class: no single label to show, only each row's loss."""
    q, p = np.load(SAMPLE / "dist_preds.npy"), np.load(SAMPLE / "dist_labels.npy")
    files = [SAMPLE / "dist_preds.npy", SAMPLE / "dist_labels.npy"]
    rows = _per_sample(run_cli, tmp_path / "rows.csv", files, "ce")
    assert list(rows[0]) == ["row", "ce"]
    # cross-entropy with soft labels: −Σ_c p_c log q_c per row (q: probabilities on disk)
    got = [float(r["ce"]) for r in rows]
    np.testing.assert_allclose(got, -(p * np.log(q)).sum(axis=1), rtol=1e-12)


def test_dense_maps_have_no_label_column(run_cli: Any, tmp_path: Path) -> None:
    """A label map per image: no single label; each image's loss is the mean over its
    counted pixels (255 = void, left out)."""
    z = np.load(SAMPLE / "seg_logits.npy").astype(np.float64)  # (N, C, H, W), float32 on disk
    y = np.load(SAMPLE / "seg_labels.npy")  # (N, H, W)
    files = [SAMPLE / "seg_logits.npy", SAMPLE / "seg_labels.npy"]
    spec = "ce:ignore_index=255"
    rows = _per_sample(run_cli, tmp_path / "rows.csv", files, spec)
    assert list(rows[0]) == ["row", spec]
    expected = []
    for zi, yi in zip(z, y, strict=True):
        scores, labels = np.moveaxis(zi, 0, -1).reshape(-1, z.shape[1]), yi.reshape(-1)
        keep = labels != 255
        nll = logsumexp(scores[keep], axis=1) - scores[keep, labels[keep]]
        expected.append(nll.mean())
    np.testing.assert_allclose([float(r[spec]) for r in rows], expected, rtol=1e-6)


def test_binary_text_labels_are_shown_as_written(run_cli: Any, write: Any, tmp_path: Path) -> None:
    files = [write("p.csv", {"p": [0.2, 0.9, 0.4, 0.7]}), write("y.csv", {"y": YES_NO})]
    rows = _per_sample(run_cli, tmp_path / "rows.csv", files, "bce")
    assert [r["label"] for r in rows] == YES_NO
    # bce: −log p for "yes" (the positive class: later in sorted order), −log(1 − p) for "no"
    expected = [-math.log(0.8), -math.log(0.9), -math.log(0.6), -math.log(0.7)]
    assert [float(r["bce"]) for r in rows] == pytest.approx(expected, rel=1e-12)


YES_NO = ["no", "yes", "no", "yes"]


def test_a_late_third_binary_value_shows_the_labels_as_numbers(
    run_cli: Any, tmp_path: Path
) -> None:
    """0/1 labels in the file's head make a binary task; a 2 after the head is no class (class
    losses refuse it), but mse reads the labels as numbers, and so does the label column."""
    n = PEEK_ROWS + 50
    rng = np.random.default_rng(1)
    p, y = rng.uniform(0.05, 0.95, n), rng.integers(0, 2, n).astype(float)
    y[n - 7] = 2.0
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", y)
    rows = _per_sample(
        run_cli, tmp_path / "rows.csv", [tmp_path / "p.npy", tmp_path / "y.npy"], "mse"
    )
    assert rows[n - 7]["label"] == "2"
    np.testing.assert_array_equal([float(r["label"]) for r in rows], y)
    np.testing.assert_allclose([float(r["mse"]) for r in rows], (p - y) ** 2, rtol=1e-12)


def test_regression_labels_are_the_numbers_given(run_cli: Any, write: Any, tmp_path: Path) -> None:
    y = [1.5, -2.25, 3.0, 0.125]
    files = [write("p.csv", {"p": [1.0, -2.0, 3.5, 0.0]}), write("y.csv", {"y": y})]
    rows = _per_sample(run_cli, tmp_path / "rows.csv", files, "mse")
    assert [float(r["label"]) for r in rows] == y
    # squared errors by hand: 0.5², 0.25², 0.5², 0.125²
    assert [float(r["mse"]) for r in rows] == [0.25, 0.0625, 0.25, 0.015625]


# Three classes named by the prediction header; labels are class indices, one of them the
# ignore_index (no class: shown as the number written, its loss NaN).
ABC_LOGITS = {
    "a": [2.0, 0.1, 0.2, 1.0, 0.3],
    "b": [0.5, 1.5, 0.1, 1.0, 0.2],
    "c": [0.1, 0.3, 1.0, 1.0, 0.1],
}


@pytest.mark.parametrize(
    ("ignore", "shown"),
    # 3 = the number of classes; -1 and torch's default -100 are below 0 (-100 is no index).
    [
        (3, ["a", "b", "c", "3", "c"]),
        (-1, ["a", "b", "c", "-1", "a"]),
        (-100, ["a", "-100", "c", "b", "a"]),
    ],
)
def test_codes_outside_the_classes_are_shown_as_numbers(
    run_cli: Any, write: Any, tmp_path: Path, ignore: int, shown: list[str]
) -> None:
    codes = [{"a": 0, "b": 1, "c": 2}.get(s, ignore) for s in shown]
    files = [write("p.csv", ABC_LOGITS), write("y.csv", {"y": codes})]
    spec = f"ce:ignore_index={ignore}"
    rows = _per_sample(run_cli, tmp_path / "rows.csv", files, spec)
    assert [r["label"] for r in rows] == shown
    z = np.array(list(ABC_LOGITS.values())).T
    for r, y in zip(rows, codes, strict=True):
        if y == ignore:
            assert math.isnan(float(r[spec]))
        else:  # −log softmax(z)_y
            assert float(r[spec]) == pytest.approx(
                logsumexp(z[int(r["row"])]) - z[int(r["row"]), y], rel=1e-12
            )


def test_codes_outside_the_classes_through_the_installed_entry_point(
    write: Any, tmp_path: Path
) -> None:
    files = [write("p.csv", ABC_LOGITS), write("y.csv", {"y": [0, 1, 2, 3, 2]})]
    out = tmp_path / "rows.csv"
    proc = run_process(
        ENTRY_POINT, "compute", *files, "--loss", "ce:ignore_index=3", "--per-sample", out
    )
    assert proc.returncode == 0, proc.stderr
    assert [r["label"] for r in _rows(out)] == ["a", "b", "c", "3", "c"]


def test_a_spec_given_three_times_numbers_its_columns(run_cli: Any, tmp_path: Path) -> None:
    files = [SAMPLE / "seed_preds.csv", SAMPLE / "seed_labels.csv"]
    rows = _per_sample(run_cli, tmp_path / "rows.csv", files, "mse", "mse", "mse")
    assert list(rows[0]) == ["row", "label", "mse", "mse (2)", "mse (3)"]
    p = [float(r["prob"]) for r in _rows(SAMPLE / "seed_preds.csv")]
    y = [float(r["label"]) for r in _rows(SAMPLE / "seed_labels.csv")]
    expected = [(a - b) ** 2 for a, b in zip(p, y, strict=True)]
    for column in ("mse", "mse (2)", "mse (3)"):
        assert [float(r[column]) for r in rows] == pytest.approx(expected, rel=1e-12)
