"""Every breakdown ``compute`` prints, against numbers that do not come from losscli.

Two independent sources:

- ``tests/reference/oracles.json``, written by ``tests/reference/generate_oracles.py`` with
  PyTorch 2.13.0 and scikit-learn 1.9.1 (versions in the file; ``make reference``): per-class
  count, mean and share, and the worst rows (id or row, label, prediction, p(true), each loss)
  of plain, class-weighted, label-smoothed, soft-label and dense-map cross-entropy, hinge, MSE
  and KL on the files of ``sample_data/`` and on seeded binary logits;
- a pandas group-by of per-sample losses written here from their formulas with NumPy/SciPy
  (``logsumexp``, ``expit``), checked against scikit-learn ``log_loss`` with
  ``sample_weight``.

Weighted losses are where a by-class mean must divide by the class's summed weights, not its
count; the predicted class is not the true one on about one image in seven, so counting
under the predicted class changes the counts; label 0 of a binary task must report
p(true) = 1 − p.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SAMPLE, write_file
from float32_bound import U, log_sum_bound, loss_bound
from scipy.special import expit, logsumexp
from sklearn.metrics import log_loss
from typer.testing import Result

import losscli

ORACLES = json.loads((ROOT / "tests" / "reference" / "oracles.json").read_text())
CASES = {case["id"]: case for case in ORACLES["cases"]}
REL = 1e-10  # float64 inputs agree with the libraries to 1e-10 (ARCHITECTURE: Numerics)
IMAGE_CLASSES = ["cat", "dog", "bird", "fish", "horse"]
IMAGE_WEIGHT = np.array([1.0, 2.0, 1.0, 1.0, 0.5])


def case_args(case: dict[str, Any], folder: Path) -> list[str]:
    """The case's command-line arguments, with files it carries written into ``folder``."""
    args = list(case["args"])
    if "inputs" in case:
        score, label = case["args"][:2]
        write_file(folder / score, {"score": case["inputs"]["score"]})
        write_file(folder / label, {"label": case["inputs"]["label"]})
        args[:2] = [str(folder / score), str(folder / label)]
    return args


def run_json(run_cli: Callable[..., Result], case: dict[str, Any], folder: Path) -> Any:
    top = ["--top", str(case["top"])]
    args = ["compute", *case_args(case, folder), "--by-class", *top, "--format", "json"]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# The seg case's logits are float32 on disk (sample_data/seg_logits.npy, 3 classes): the
# kernels exponentiate them in float32 and sum in float64, so its means agree with torch's
# float64 numbers within tests/float32_bound.py's bound (derived in losscli/losses/kernels.py),
# not 1e-10. A mean is off by at most B(3) (+ 2u·|mean| with label smoothing's dot); a share
# A/T of sums A and T by at most B·share·(1/mean_A + 1/M) (+ 4u·share), M the overall mean
# T / Σ weights = 1 / Σ_A share_A / mean_A.
FLOAT32_CLASSES = {"seg": 3}


def near_mean(got: float, want: float, classes: int | None, spec: str) -> bool:
    if classes is None:
        return bool(got == pytest.approx(want, rel=REL))
    return abs(got - want) <= loss_bound(classes, want, dot="smoothing" in spec, rel=REL)


def near_share(got: float, want: dict[str, Any], overall: float, classes: int | None) -> bool:
    share = want["share"]
    if classes is None or share == 0:
        return bool(got == pytest.approx(share, rel=REL))
    b = log_sum_bound(classes, max(want["mean"], overall))
    bound = b * share * (1 / want["mean"] + 1 / overall) + (4 * U + REL) * share
    return abs(got - share) <= bound


def assert_by_class(
    doc: dict[str, Any], expected: dict[str, Any], classes: int | None = None
) -> None:
    """``classes``: the number of classes of float32 logits (the float32 bound), else None."""
    assert [row["class"] for row in doc["by_class"]] == list(expected)
    specs = list(next(iter(expected.values())))
    overall = {
        spec: 1 / sum(c[spec]["share"] / c[spec]["mean"] for c in expected.values())
        for spec in specs
    }
    for row in doc["by_class"]:
        want = expected[row["class"]]
        assert list(row["losses"]) == list(want)
        for spec, got in row["losses"].items():
            where = f"class {row['class']}, {spec}"
            assert got["count"] == want[spec]["count"], where
            assert near_mean(got["mean"], want[spec]["mean"], classes, spec), where
            assert near_share(got["share"], want[spec], overall[spec], classes), where


def assert_worst(
    doc: dict[str, Any], expected: list[dict[str, Any]], classes: int | None = None
) -> None:
    assert len(doc["worst"]) == len(expected)
    for got, want in zip(doc["worst"], expected, strict=True):
        where = f"worst row {got['row']} ({got['id']})"
        if "id" in want:
            assert got["id"] == want["id"], where
        else:
            assert got["row"] == want["row"], where
        assert got["label"] == want["label"], where
        if isinstance(want["prediction"], float):
            # shown with 4 significant digits
            assert float(got["prediction"]) == pytest.approx(want["prediction"], rel=5e-4)
        else:
            assert got["prediction"] == want["prediction"], where
        if want["p_true"] is None:
            assert got["p_true"] is None, where
        else:
            assert got["p_true"] == pytest.approx(want["p_true"], rel=REL), where
        specs = [r["loss"] for r in doc["results"]]
        for spec, loss, ref in zip(specs, got["losses"], want["losses"], strict=True):
            assert near_mean(loss, ref, classes, spec), where


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


# --------------------------------------------------------------------------- libraries


@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize("case_id", list(CASES))
def test_by_class_matches_torch_and_sklearn(
    case_id: str, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    case = CASES[case_id]
    doc = run_json(run_cli, case, tmp_path)
    assert_by_class(doc, case["by_class"], FLOAT32_CLASSES.get(case_id))


@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize("case_id", list(CASES))
def test_worst_rows_match_torch_and_sklearn(
    case_id: str, run_cli: Callable[..., Result], tmp_path: Path
) -> None:
    case = CASES[case_id]
    doc = run_json(run_cli, case, tmp_path)
    assert_worst(doc, case["worst"], FLOAT32_CLASSES.get(case_id))


@pytest.mark.parametrize("case_id", ["images", "seg"])
def test_breakdowns_through_the_installed_entry_point(case_id: str, tmp_path: Path) -> None:
    case = CASES[case_id]
    exe = Path(sys.executable).parent / "losscli"
    top = ["--top", str(case["top"])]
    proc = subprocess.run(
        [exe, "compute", *case_args(case, tmp_path), "--by-class", *top, "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert_by_class(doc, case["by_class"], FLOAT32_CLASSES.get(case_id))
    assert_worst(doc, case["worst"], FLOAT32_CLASSES.get(case_id))


# --------------------------------------------------------------------------- pandas group-by


def images_frame() -> pd.DataFrame:
    """The image files joined on id, with per-sample cross-entropy from its formula."""
    logits = pd.read_csv(SAMPLE / "images_logits.csv")
    labels = pd.read_csv(SAMPLE / "images_labels.csv")
    df = logits.merge(labels, on="image_id", validate="one_to_one")
    z = df[IMAGE_CLASSES].to_numpy()
    y = df["label"].map(IMAGE_CLASSES.index).to_numpy()
    log_p = z - logsumexp(z, axis=1, keepdims=True)
    df["y"] = y
    df["nll"] = -log_p[np.arange(len(y)), y]
    df["w"] = IMAGE_WEIGHT[y]
    df["p_true"] = np.exp(log_p[np.arange(len(y)), y])
    df["predicted"] = np.array(IMAGE_CLASSES)[z.argmax(axis=1)]
    return df


def test_weighted_by_class_mean_divides_by_summed_weights(run_cli: Callable[..., Result]) -> None:
    """ce:weight=...: per class Σ w·nll / Σ w (pandas), = sklearn log_loss with those
    sample weights; the counts are the true classes' (value_counts of the labels)."""
    df = images_frame()
    df["w_nll"] = df["w"] * df["nll"]
    groups = df.groupby("label").agg(n=("nll", "size"), w_nll=("w_nll", "sum"), w=("w", "sum"))
    spec = "ce:weight=[1,2,1,1,0.5]"
    result = run_cli(
        [
            "compute",
            SAMPLE / "images_logits.csv",
            SAMPLE / "images_labels.csv",
            *["--id-col", "image_id", "--loss", spec, "--by-class", "--format", "json"],
        ]
    )
    assert result.exit_code == 0, result.stderr
    rows = {row["class"]: row["losses"][spec] for row in json.loads(result.stdout)["by_class"]}
    total = df["w_nll"].sum()
    probs = np.exp(df[IMAGE_CLASSES].to_numpy() - logsumexp(df[IMAGE_CLASSES], axis=1)[:, None])
    for name, g in groups.iterrows():
        mean = g["w_nll"] / g["w"]
        mask = (df["label"] == name).to_numpy()
        sk = log_loss(
            df["y"][mask],
            probs[mask],
            sample_weight=df["w"][mask],
            labels=range(len(IMAGE_CLASSES)),
        )
        assert sk == pytest.approx(mean, rel=1e-12)
        assert rows[name]["count"] == g["n"]
        assert rows[name]["mean"] == pytest.approx(mean, rel=REL), name
        assert rows[name]["share"] == pytest.approx(g["w_nll"] / total, rel=REL), name
    # the weights matter: dog's (2) and horse's (0.5) sum differs from their count
    assert groups.loc["dog", "w"] != groups.loc["dog", "n"]


def test_worst_rows_by_pandas(run_cli: Callable[..., Result]) -> None:
    """Top 5 by cross-entropy: id, true label, argmax class, softmax p(true), the loss."""
    df = images_frame().sort_values(["nll"], ascending=False, kind="stable").head(5)
    result = run_cli(
        [
            "compute",
            SAMPLE / "images_logits.csv",
            SAMPLE / "images_labels.csv",
            *["--id-col", "image_id", "--loss", "ce", "--top", "5", "--format", "json"],
        ]
    )
    assert result.exit_code == 0, result.stderr
    worst = json.loads(result.stdout)["worst"]
    assert [w["id"] for w in worst] == df["image_id"].tolist()
    assert [w["label"] for w in worst] == df["label"].tolist()
    assert [w["prediction"] for w in worst] == df["predicted"].tolist()
    assert [w["p_true"] for w in worst] == pytest.approx(df["p_true"].tolist(), rel=REL)
    assert [w["losses"][0] for w in worst] == pytest.approx(df["nll"].tolist(), rel=REL)


@pytest.mark.parametrize("logits", [False, True], ids=["probabilities", "logits"])
def test_binary_p_true_of_label_0_is_one_minus_p(
    logits: bool, run_cli: Callable[..., Result], write: Callable[..., Path]
) -> None:
    """Binary: p(true) is p for label 1 and 1 − p for label 0 (p = sigmoid(x) for logits)."""
    rng = np.random.default_rng(15)
    y = np.array([0, 1] * 6)
    x = np.round(rng.normal(0, 2, 12), 6) if logits else np.round(rng.uniform(0.01, 0.99, 12), 6)
    p = expit(x) if logits else x
    df = pd.DataFrame({"x": x, "y": y})
    df["p_true"] = np.where(y == 1, p, 1 - p)
    df["ce"] = -np.log(df["p_true"])
    kind = ["--logits"] if logits else ["--probs"]
    result = run_cli(
        [
            "compute",
            write("p.csv", {"x": x.tolist()}),
            write("y.csv", {"y": y.tolist()}),
            *["--loss", "ce", *kind, "--top", "12", "--by-class", "--format", "json"],
        ]
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    for row in doc["worst"]:
        assert row["p_true"] == pytest.approx(df["p_true"][row["row"]], rel=REL), row
        assert row["losses"][0] == pytest.approx(df["ce"][row["row"]], rel=1e-9), row
    means = df.groupby("y")["ce"].mean()
    for row in doc["by_class"]:
        assert row["losses"]["ce"]["mean"] == pytest.approx(means[int(row["class"])], rel=1e-9)


def test_soft_label_classes_are_the_label_argmax(run_cli: Callable[..., Result]) -> None:
    """Soft labels: a row counts under the argmax of its label distribution; the mean is the
    plain mean of −Σ p log q over those rows (pandas group-by)."""
    q = np.load(SAMPLE / "dist_preds.npy")
    p = np.load(SAMPLE / "dist_labels.npy")
    df = pd.DataFrame({"cls": p.argmax(axis=1), "ce": -(p * np.log(q)).sum(axis=1)})
    groups = df.groupby("cls")["ce"].agg(["size", "mean", "sum"])
    result = run_cli(
        [
            "compute",
            SAMPLE / "dist_preds.npy",
            SAMPLE / "dist_labels.npy",
            *["--loss", "ce", "--by-class", "--format", "json"],
        ]
    )
    assert result.exit_code == 0, result.stderr
    for row in json.loads(result.stdout)["by_class"]:
        g = groups.loc[int(row["class"])]
        got = row["losses"]["ce"]
        assert got["count"] == g["size"]
        assert got["mean"] == pytest.approx(g["mean"], rel=REL)
        assert got["share"] == pytest.approx(g["sum"] / df["ce"].sum(), rel=REL)


def test_dense_by_class_counts_pixels_of_each_true_class(run_cli: Callable[..., Result]) -> None:
    """Maps: every counted pixel under its own label (255 = void, left out), class-weighted
    mean Σ w·nll / Σ w over those pixels (pandas group-by of per-pixel terms)."""
    z = np.load(SAMPLE / "seg_logits.npy").astype(np.float64)  # float32 on disk
    y = np.load(SAMPLE / "seg_labels.npy")
    w = np.array([1.0, 2.0, 0.5])
    zz = np.moveaxis(z, 1, -1).reshape(-1, z.shape[1])
    yy = y.reshape(-1)
    keep = yy != 255
    zz, yy = zz[keep], yy[keep]
    nll = logsumexp(zz, axis=1) - zz[np.arange(len(yy)), yy]
    df = pd.DataFrame({"y": yy, "w": w[yy], "w_nll": w[yy] * nll})
    groups = df.groupby("y").agg(n=("w", "size"), w=("w", "sum"), w_nll=("w_nll", "sum"))
    spec = "ce:ignore_index=255,weight=[1,2,0.5]"
    result = run_cli(
        [
            "compute",
            SAMPLE / "seg_logits.npy",
            SAMPLE / "seg_labels.npy",
            *["--loss", spec, "--by-class", "--top", "0", "--format", "json"],
        ]
    )
    assert result.exit_code == 0, result.stderr
    overall = df["w_nll"].sum() / df["w"].sum()
    for row in json.loads(result.stdout)["by_class"]:
        g = groups.loc[int(row["class"])]
        got = row["losses"][spec]
        want = {"mean": g["w_nll"] / g["w"], "share": g["w_nll"] / df["w_nll"].sum()}
        assert got["count"] == g["n"]
        # float32 logits: within the float32 bound of the float64 formula (FLOAT32_CLASSES)
        assert near_mean(got["mean"], want["mean"], 3, spec)
        assert near_share(got["share"], want, overall, 3)


def test_multilabel_margin_row_without_targets(
    run_cli: Callable[..., Result], write: Callable[..., Path]
) -> None:
    """A multi-hot row of zeros (no target class) is valid and scores 0. torch 2.13.0:
    F.multilabel_margin_loss(x, y, reduction="none") with x = [[.1, .2, .4, .8], [.3, -1, 2, 0]]
    (float64) and y = [[-1, -1, -1, -1], [3, 0, -1, 1]] (the index form of the rows below)
    gives [0.0, 1.425] (run by hand in the reference environment, .refenv)."""
    cols = ["a", "b", "c", "d"]
    preds = write(
        "p.csv", dict(zip(cols, [[0.1, 0.3], [0.2, -1.0], [0.4, 2.0], [0.8, 0.0]], strict=True))
    )
    labels = write("y.csv", dict(zip(cols, [[0, 1], [0, 0], [0, 0], [0, 1]], strict=True)))
    result = run_cli(["compute", preds, labels, "--loss", "multilabel_margin", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["value"] == pytest.approx(1.425 / 2, rel=1e-12)


def test_kl_with_log_targets_where_p_is_zero() -> None:
    """kl:log_target=true with log p = -inf (p = 0) terms: each contributes 0, as
    scipy.special.rel_entr(0, q) = 0, so the value equals the plain-probability KL."""
    from scipy.special import rel_entr

    from losscli.losses import REGISTRY

    q = np.array([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]])
    p = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    with np.errstate(divide="ignore"):
        log_p = np.log(p)
    got = REGISTRY["kl"].fn(q, log_p, logits=False, log_target=True).values
    np.testing.assert_allclose(got, rel_entr(p, q).sum(axis=1), rtol=1e-14)


# --------------------------------------------------------------------------- slices


def test_weighted_slices_match_a_pandas_group_by_and_sklearn() -> None:
    """Each slice of two crossed group columns against a pandas group-by of the rows: the
    count, the weighted log loss (sklearn ``log_loss`` with ``sample_weight`` on the slice's
    softmax probabilities), the weighted MSE (sklearn ``mean_squared_error`` with
    ``sample_weight``) and Kish's effective size (Σw)² / Σw² written out with pandas."""
    from scipy.special import softmax
    from sklearn.metrics import mean_squared_error

    rng = np.random.default_rng(11)
    n = 300
    z, y = rng.normal(size=(n, 3)) * 2, rng.integers(0, 3, n)
    w = rng.uniform(0.0, 2.0, n)
    lang = rng.choice(np.array(["en", "de", "fr"], dtype=object), n)
    device = rng.choice(np.array(["ios", "web"], dtype=object), n)
    groups = {"lang": lang, "device": device}
    ce = losscli.compute("ce", z, y, logits=True, weights=w, groups=groups)
    target = rng.normal(size=n)
    pred = target + rng.normal(scale=0.5, size=n)
    mse = losscli.compute("mse", pred, target, weights=w, groups=groups)
    df = pd.DataFrame({"lang": lang, "device": device, "w": w, "row": np.arange(n)})
    expected = df.groupby(["lang", "device"]).agg(
        n=("row", "size"), sw=("w", "sum"), sww=("w", lambda s: float((s * s).sum()))
    )
    probs = softmax(z, axis=1)
    assert {s.values for s in ce.slices} == set(expected.index)
    for got_ce, got_mse in zip(
        sorted(ce.slices, key=lambda s: s.values),
        sorted(mse.slices, key=lambda s: s.values),
        strict=True,
    ):
        rows = (lang == got_ce.values[0]) & (device == got_ce.values[1])
        row = expected.loc[got_ce.values]
        (r_ce,), (r_mse,) = got_ce.results, got_mse.results
        assert got_ce.n == got_mse.n == row["n"] == r_ce.n
        ref_ce = log_loss(y[rows], probs[rows], sample_weight=w[rows], labels=[0, 1, 2])
        ref_mse = mean_squared_error(target[rows], pred[rows], sample_weight=w[rows])
        assert r_ce.value == pytest.approx(ref_ce, rel=1e-10)
        assert r_mse.value == pytest.approx(ref_mse, rel=1e-10)
        assert r_ce.n_eff == pytest.approx(row["sw"] ** 2 / row["sww"], rel=1e-12)
