"""Per-row sample weights: ``--weight-col`` and ``losscli.compute(..., weights=...)``.

Expected values come from:

- ``tests/reference/weighted_cases.json``, written by ``tests/reference/generate_weighted.py``
  (``make reference``) with scikit-learn 1.9.1's ``sample_weight`` (and, for class weights
  times sample weights, torch 2.13.0's per-sample terms combined by the written formula);
- the definition Σ w·v / Σ w·W (v: a sample's term, W: its class weight or 1) for every loss
  of the registry, with v taken from ``tests/reference/cases.json`` (the libraries' own
  per-sample terms) where the library gives them;
- the weighted-variance formulas with Kish's effective sample size, written out with NumPy
  and ``scipy.stats.t`` below.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.stats

import losscli
from losscli.engine.accumulators import Moments
from losscli.errors import InputError, UsageError
from losscli.losses import LOSSES, Reduce

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WEIGHTED = json.loads((HERE / "reference" / "weighted_cases.json").read_text())
CASES = json.loads((HERE / "reference" / "cases.json").read_text())["cases"]
ENTRY_POINT = Path(sys.executable).parent / "losscli"


def _logits(kind: str | None) -> bool | None:
    return None if kind is None else kind == "logits"


# --------------------------------------------------------------------------- scikit-learn


SKLEARN_FUNCTIONS = {
    "log_loss",
    "mean_squared_error",
    "mean_absolute_error",
    "hinge_loss",
    "mean_pinball_loss",
    "mean_squared_log_error",
    "mean_absolute_percentage_error",
}


def test_weighted_cases_cover_every_sklearn_function_the_issue_names() -> None:
    called = {fn for c in WEIGHTED["cases"] for fn in SKLEARN_FUNCTIONS if fn in c["reference"]}
    assert called == SKLEARN_FUNCTIONS
    assert WEIGHTED["versions"]["scikit-learn"] == "1.9.1"


@pytest.mark.parametrize("case", WEIGHTED["cases"], ids=[c["id"] for c in WEIGHTED["cases"]])
def test_sample_weight_parity(case: dict[str, Any]) -> None:
    """losscli with weights= gives the library's sample_weight value to 1e-10 relative."""
    result = losscli.compute(
        case["spec"],
        case["preds"],
        case["labels"],
        logits=_logits(case["kind"]),
        weights=case["weights"],
    )
    assert result.value == pytest.approx(case["expected"], rel=1e-10)
    # Rows of weight 0 are left out of n (two per case, see generate_weighted.py).
    assert result.n == len(case["weights"]) - sum(w == 0 for w in case["weights"])


def test_sample_weight_parity_through_the_cli(write: Any, run_cli: Any) -> None:
    """The same numbers from files: --weight-col of the predictions file."""
    for case in WEIGHTED["cases"]:
        if np.asarray(case["preds"]).ndim != 1:
            continue
        preds = write(f"{case['id']}-p.csv", {"p": case["preds"], "w": case["weights"]})
        labels = write(f"{case['id']}-l.csv", {"y": case["labels"]})
        args = ["compute", preds, labels, "-l", case["spec"], "--weight-col", "w", "-f", "json"]
        if case["kind"]:
            args.append(f"--{case['kind']}")
        out = run_cli(args)
        assert out.exit_code == 0, out.output
        doc = json.loads(out.stdout)
        assert doc["results"][0]["value"] == pytest.approx(case["expected"], rel=1e-10)
        assert doc["weight_col"] == "w"


# --------------------------------------------------------------------------- definition


def _first_case(name: str) -> dict[str, Any] | None:
    """A float64 mean case of the loss from cases.json, under losscli's default convention."""
    for case in CASES:
        spec = case["spec"].split(":")[0]
        if (
            spec == name
            and case["dtype"] == "float64"
            and case["reduction"] == "mean"
            and case["convention"] is None
        ):
            return case
    return None


@pytest.mark.parametrize("loss", LOSSES, ids=[lo.name for lo in LOSSES])
def test_every_loss_follows_the_weighted_definition(loss: Any) -> None:
    """For every registered loss: mean = Σ w·v / Σ w·W and sum = Σ w·v, where v and W are the
    sample's term and denominator weight (torch's reduction='none' terms from cases.json where
    the library gives them, else losscli.per_sample's, which test_parity checks)."""
    case = _first_case(loss.name)
    assert case is not None, f"no float64 mean case for {loss.name} in cases.json"
    logits = _logits(case["kind"])
    if loss.reduce.binned:  # calibration errors are not means of per-sample terms
        with pytest.raises(UsageError, match="takes no sample weights"):
            losscli.compute(case["spec"], case["preds"], case["labels"], weights=[1.0])
        return
    terms = losscli.per_sample(case["spec"], case["preds"], case["labels"], logits=logits)
    v = np.asarray(case["per_sample"] if case["per_sample"] is not None else terms.values)
    big_w = terms.weights
    n = len(v)
    w = np.random.default_rng(len(loss.name)).uniform(0.0, 3.0, n)
    w[0] = 0.0
    mean = np.sum(w * v) / np.sum(w * big_w)
    expected = math.sqrt(mean) if loss.reduce is Reduce.SQRT_MEAN else mean
    got = losscli.compute(case["spec"], case["preds"], case["labels"], logits=logits, weights=w)
    assert got.value == pytest.approx(expected, rel=1e-10, abs=1e-13)
    if loss.reduce is Reduce.MEAN:
        total = losscli.compute(
            case["spec"], case["preds"], case["labels"], logits=logits, weights=w, reduction="sum"
        )
        assert total.value == pytest.approx(np.sum(w * v), rel=1e-10, abs=1e-13)
    # Unit weights change nothing (the same number as without weights).
    plain = losscli.compute(case["spec"], case["preds"], case["labels"], logits=logits)
    ones = losscli.compute(
        case["spec"], case["preds"], case["labels"], logits=logits, weights=np.ones(n)
    )
    assert ones.value == pytest.approx(plain.value, rel=1e-12, abs=1e-15)


# --------------------------------------------------------------------------- per_sample


@pytest.mark.parametrize("case", WEIGHTED["cases"], ids=[c["id"] for c in WEIGHTED["cases"]])
def test_per_sample_weights_reduce_to_sklearn_sample_weight(case: dict[str, Any]) -> None:
    """per_sample(weights=s): values.sum() / weights.sum() is scikit-learn's sample_weight
    value (weighted_cases.json; its root for rmse), as compute(weights=s) gives it."""
    terms = losscli.per_sample(
        case["spec"],
        case["preds"],
        case["labels"],
        logits=_logits(case["kind"]),
        weights=case["weights"],
    )
    mean = terms.values.sum() / terms.weights.sum()
    root = case["spec"] == "rmse"
    assert (math.sqrt(mean) if root else mean) == pytest.approx(case["expected"], rel=1e-10)


@pytest.mark.parametrize("loss", LOSSES, ids=[lo.name for lo in LOSSES])
def test_per_sample_weights_scale_each_term(loss: Any) -> None:
    """For every loss: the weighted terms are s·v and s·W of the unweighted terms (v, W), and
    they reduce to compute(weights=s)'s value and sum."""
    case = _first_case(loss.name)
    assert case is not None
    if loss.reduce.binned:  # not means of per-sample terms (see the definition test)
        return
    args = (case["spec"], case["preds"], case["labels"])
    logits = _logits(case["kind"])
    plain = losscli.per_sample(*args, logits=logits)
    s = np.random.default_rng(len(loss.name) + 1).uniform(0.0, 3.0, len(plain.values))
    s[-1] = 0.0
    got = losscli.per_sample(*args, logits=logits, weights=s)
    np.testing.assert_allclose(got.values, s * plain.values, rtol=1e-15, atol=0)
    np.testing.assert_allclose(got.weights, s * plain.weights, rtol=1e-15, atol=0)
    value = losscli.compute(*args, logits=logits, weights=s).value
    mean = got.values.sum() / got.weights.sum()
    expected = math.sqrt(mean) if loss.reduce is Reduce.SQRT_MEAN else mean
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-15)
    if loss.reduce is Reduce.MEAN:
        total = losscli.compute(*args, logits=logits, weights=s, reduction="sum").value
        assert total == pytest.approx(got.values.sum(), rel=1e-12, abs=1e-15)


def test_per_sample_refuses_bad_weights() -> None:
    with pytest.raises(InputError, match="negative weight -1 at row 1"):
        losscli.per_sample("mse", [1.0, 2.0], [1.0, 1.0], weights=[1, -1])
    with pytest.raises(InputError, match="weights has 3 rows but the predictions have 2"):
        losscli.per_sample("mse", [1.0, 2.0], [1.0, 1.0], weights=[1, 1, 1])


# --------------------------------------------------------------------------- Kish


def kish_reference(own: np.ndarray, w: np.ndarray) -> tuple[float, float, float, float]:
    """(mean, std, half-width, n_eff) written out: n_eff = (Σw)²/Σw²,
    s² = Σw(ℓ − mean)²/Σw · n_eff/(n_eff − 1), half = t.ppf(0.975, n_eff − 1) · s/√n_eff."""
    keep = w > 0
    own, w = own[keep], w[keep]
    mean = np.sum(w * own) / np.sum(w)
    n_eff = np.sum(w) ** 2 / np.sum(w**2)
    var = np.sum(w * (own - mean) ** 2) / np.sum(w) * n_eff / (n_eff - 1)
    sd = math.sqrt(var)
    half = scipy.stats.t.ppf(0.975, n_eff - 1) * sd / math.sqrt(n_eff)
    return mean, sd, half, n_eff


def test_weighted_std_and_interval_use_kish_effective_sample_size() -> None:
    rng = np.random.default_rng(3)
    p, y = rng.normal(size=50), rng.normal(size=50)
    w = rng.uniform(0, 4, 50)
    w[:5] = 0
    result = losscli.compute("mse", p, y, weights=w)
    mean, sd, half, n_eff = kish_reference((p - y) ** 2, w)
    assert result.value == pytest.approx(mean, rel=1e-12)
    assert result.std == pytest.approx(sd, rel=1e-10)
    assert result.n_eff == pytest.approx(n_eff, rel=1e-12)
    assert result.ci_low == pytest.approx(mean - half, rel=1e-10)
    assert result.ci_high == pytest.approx(mean + half, rel=1e-10)
    total = losscli.compute("mse", p, y, weights=w, reduction="sum")
    # The sum Σwℓ = Σw · mean: its half-width is Σw times the mean's.
    assert total.ci_high - total.value == pytest.approx(np.sum(w) * half, rel=1e-10)


def test_kish_with_class_weights_uses_the_product_weights() -> None:
    """With class weights c and sample weights s, the weights are s·c[y] and a row's own loss
    is its nll (= term / c[y])."""
    rng = np.random.default_rng(4)
    z, y = rng.normal(size=(40, 3)) * 2, rng.integers(0, 3, 40)
    s = rng.uniform(0.1, 2, 40)
    c = np.array([1.0, 2.0, 0.5])
    m = z.max(axis=1)
    nll = m + np.log(np.exp(z - m[:, None]).sum(axis=1)) - z[np.arange(40), y]
    result = losscli.compute("ce:weight=[1,2,0.5]", z, y, logits=True, weights=s)
    mean, sd, half, _ = kish_reference(nll, s * c[y])
    assert result.value == pytest.approx(mean, rel=1e-12)
    assert result.std == pytest.approx(sd, rel=1e-10)
    assert result.ci_high == pytest.approx(mean + half, rel=1e-10)


def test_unit_weights_give_the_unweighted_interval() -> None:
    rng = np.random.default_rng(5)
    p, y = rng.normal(size=30), rng.normal(size=30)
    plain, ones = losscli.compute("mae", p, y), losscli.compute("mae", p, y, weights=np.ones(30))
    assert ones.n_eff == pytest.approx(30)
    for field in ("value", "std", "ci_low", "ci_high"):
        assert getattr(ones, field) == pytest.approx(getattr(plain, field), rel=1e-12)
    assert plain.n_eff is None


def test_weighted_moments_merge_like_one_update() -> None:
    """Chunks merged (in any order) equal one update: the Kish sums merge exactly."""
    rng = np.random.default_rng(6)
    v, w = rng.normal(size=200) ** 2, rng.uniform(0, 2, 200)
    w[::7] = 0
    whole = Moments(kish=True)
    whole.update(v * w, w)
    parts = Moments(kish=True)
    for cut in (np.s_[150:], np.s_[:40], np.s_[40:150]):
        piece = Moments(kish=True)
        piece.update(v[cut] * w[cut], w[cut])
        parts.merge(piece)
    for name in ("n", "sum_v", "sum_w", "sum_ww", "mean_l", "ignored"):
        assert getattr(parts, name) == pytest.approx(getattr(whole, name), rel=1e-12)
    assert parts.m_ll == pytest.approx(whole.m_ll, rel=1e-10)


def test_grouped_moments_equal_one_update_per_group() -> None:
    """Moments.grouped (np.bincount per group) gives each group what update gives its rows."""
    rng = np.random.default_rng(8)
    v, w = rng.normal(size=300), rng.uniform(0, 2, 300)
    w[::5], v[::10] = 0, 0  # some ignored rows (weight 0, value 0)
    codes = rng.integers(0, 4, 300)
    for weights in (None, w):
        grouped = dict(Moments.grouped(codes, 5, v, weights, kish=True))
        assert set(grouped) == set(np.unique(codes))  # group 4 has no rows
        for g, got in grouped.items():
            ref = Moments(kish=True)
            ref.update(v[codes == g], None if weights is None else weights[codes == g])
            for name in ("n", "ignored", "sum_v", "sum_w", "mean_v", "mean_w", "sum_ww"):
                assert getattr(got, name) == pytest.approx(getattr(ref, name), rel=1e-12)
            for name in ("m_vv", "m_ww", "m_vw", "m_ll", "mean_l"):
                assert getattr(got, name) == pytest.approx(getattr(ref, name), rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- rows and errors


def test_zero_weight_rows_stay_out_of_the_worst_table(write: Any, run_cli: Any) -> None:
    preds = write("p.csv", {"p": [0.0, 5.0, 1.0, 2.0], "w": [1, 0, 1, 1]})
    labels = write("l.csv", {"y": [0.5, 0.0, 0.0, 0.0]})
    out = run_cli(["compute", preds, labels, "-l", "mse", "--weight-col", "w", "-f", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert [row["row"] for row in doc["worst"]] == [3, 2, 0]  # row 1 (weight 0) is out
    # (0.25·1 + 1·1 + 4·1) / 3 by hand; the weight column is not a prediction column.
    assert doc["results"][0]["value"] == pytest.approx(5.25 / 3, rel=1e-12)
    assert doc["inputs"]["predictions"]["columns"] == ["p"]


BAD_WEIGHTS = [
    ([1.0, -2.0, 1.0, 1.0], r"negative weight -2 at row 1"),
    ([1.0, 1.0, None, 1.0], r"NaN, infinite or empty weight at row 2"),
    ([0.0, 0.0, 0.0, 0.0], r"every weight is 0"),
]


@pytest.mark.parametrize(("weights", "message"), BAD_WEIGHTS, ids=["negative", "nan", "zero"])
def test_bad_weights_exit_3_naming_rows(
    weights: list[Any], message: str, write: Any, run_cli: Any
) -> None:
    preds = write("p.csv", {"p": [0.1, 0.2, 0.3, 0.4]})
    labels = write("l.csv", {"y": [0.0, 1.0, 0.5, 0.2], "w": weights})
    out = run_cli(["compute", preds, labels, "-l", "mse", "--weight-col", "w"])
    assert out.exit_code == 3
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    assert re.search(message, out.stderr), out.stderr


def test_bad_weights_in_the_python_api() -> None:
    with pytest.raises(InputError, match="negative weight"):
        losscli.compute("mse", [1, 2], [1, 1], weights=[1, -1])
    with pytest.raises(InputError, match="every weight is 0"):
        losscli.compute("mse", [1, 2], [1, 1], weights=[0, 0])
    with pytest.raises(InputError, match="different lengths"):
        losscli.compute("mse", [1, 2], [1, 1], weights=[1, 1], groups=["a"])


def test_missing_weight_column_is_a_usage_error(write: Any, run_cli: Any) -> None:
    preds = write("p.csv", {"p": [0.1, 0.2]})
    labels = write("l.csv", {"y": [0.0, 1.0]})
    out = run_cli(["compute", preds, labels, "-l", "mse", "--weight-col", "w"])
    assert out.exit_code == 2
    assert "--weight-col w: no column 'w'" in out.stderr


def test_weights_from_a_meta_file_by_id(write: Any, run_cli: Any) -> None:
    preds = write("p.csv", {"id": ["a", "b", "c"], "p": [1.0, 2.0, 3.0]})
    labels = write("l.csv", {"id": ["c", "a", "b"], "y": [0.0, 0.0, 0.0]})
    meta = write("m.csv", {"id": ["b", "c", "a"], "w": [0.0, 1.0, 3.0]})
    args = ["compute", preds, labels, "-l", "mse", "--id-col", "id", "--meta", meta]
    out = run_cli([*args, "--weight-col", "w", "-f", "json"])
    assert out.exit_code == 0, out.output
    # (3·1² + 0·2² + 1·3²) / 4 by hand
    assert json.loads(out.stdout)["results"][0]["value"] == pytest.approx(12 / 4)


def test_weight_col_through_the_installed_entry_point(write: Any) -> None:
    preds = write("p.csv", {"p": [0.0, 2.0, 1.0], "w": [1.0, 3.0, 0.0]})
    labels = write("l.csv", {"y": [1.0, 0.0, 0.0]})
    cmd = [ENTRY_POINT, "compute", preds, labels, "-l", "mse", "--weight-col", "w", "-f", "json"]
    proc = subprocess.run([str(a) for a in cmd], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["value"] == pytest.approx(13 / 4)  # (1+12)/4
    plain = write("plain.csv", {"p": [0.0, 2.0, 1.0]})
    bad = write("bad.csv", {"y": [1.0, 0.0, 0.0], "v": [1.0, -1.0, 1.0]})
    cmd = [ENTRY_POINT, "compute", plain, bad, "-l", "mse", "--weight-col", "v"]
    proc = subprocess.run([str(a) for a in cmd], capture_output=True, text=True, check=False)
    assert proc.returncode == 3
    assert "negative weight -1 at row 1" in proc.stderr
    assert proc.stdout == ""
