"""Parity with PyTorch and scikit-learn: losscli must give the libraries' numbers to 1e-10.

Two sources of expected values, neither computed by losscli:

- ``REFERENCE_TABLE``: the numbers written in ../shared/REFERENCES.md ("Reference numbers
  (float64, torch 2.13.0 CPU, scikit-learn 1.9.1)" and the article's example), each row naming
  the library call that produced it.
- ``tests/reference/cases.json``: cases generated with the real libraries by
  ``tests/reference/generate_reference.py`` (versions in the file's ``versions``); each case
  names its library call in ``reference``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numeric_helpers import engine_terms

import losscli
from losscli.losses import LOSSES, REGISTRY, LossDef, Target

# --------------------------------------------------------------------------- REFERENCES.md

# The cross-entropy example of REFERENCES.md: logits (4, 3) and class indices.
CE_LOGITS = [[2, 0.5, -1], [0.1, 1.5, 0.3], [-0.5, 0.2, 2.2], [1, 1, 1]]
CE_TARGETS = [0, 1, 2, 1]
# KL example: p (the labels) and q (the predictions).
KL_P = [[0.36, 0.48, 0.16], [0.2, 0.3, 0.5]]
KL_Q = [[1 / 3, 1 / 3, 1 / 3], [0.1, 0.6, 0.3]]
# BCE-with-logits example.
BCE_X = [1.5, -0.3, 0.8, -2]
BCE_Y = [1, 0, 1, 1]
# sklearn log_loss example: two probability columns.
LOG_LOSS_Y = [0, 0, 0, 1, 1, 1]
LOG_LOSS_P = [[0.5, 0.5], [0.1, 0.9], [0.01, 0.99], [0.9, 0.1], [0.75, 0.25], [0.001, 0.999]]
# Regression example.
REG_PREDS = [0, 0.5, 2, -3]
REG_LABELS = [0.2, 0, 0, 0]
# The article's example: probabilities, labels, SVM scores.
ART_PREDS = [0.9, 0.2, 0.4]
ART_LABELS = [1, 0, 1]
ART_SCORES = [1.2, -0.5, 0.8]


@dataclass(frozen=True)
class Ref:
    """One number of REFERENCES.md.

    ``expected`` is the text as REFERENCES.md prints it. ``rounded`` says the library's value
    was printed rounded to that many decimals: the tolerance is then half a unit of the last
    printed decimal (e.g. 5e-11 for 0.4902972751); otherwise the printed value is the exact
    decimal and the tolerance is 1e-10 relative.
    """

    id: str
    spec: str
    preds: Any
    labels: Any
    logits: bool | None
    reduction: str
    expected: str
    rounded: bool

    def approx(self) -> Any:
        value = float(self.expected)
        if self.rounded:
            decimals = -Decimal(self.expected).as_tuple().exponent
            return pytest.approx(value, abs=0.5 * 10.0**-decimals)
        return pytest.approx(value, rel=1e-10)


REFERENCE_TABLE = [
    # torch 2.13.0: F.cross_entropy(x, y)
    Ref("ce", "ce", CE_LOGITS, CE_TARGETS, True, "mean", "0.4902972751", True),
    # torch 2.13.0: F.cross_entropy(x, y, label_smoothing=0.1)
    Ref(
        "ce-smooth",
        "ce:label_smoothing=0.1",
        CE_LOGITS,
        CE_TARGETS,
        True,
        "mean",
        "0.5886306084",
        True,
    ),
    # torch 2.13.0: F.cross_entropy(x, y, weight=torch.tensor([1, 2, .5]))
    Ref(
        "ce-weight",
        "ce:weight=[1,2,0.5]",
        CE_LOGITS,
        CE_TARGETS,
        True,
        "mean",
        "0.6189839876",
        True,
    ),
    # torch 2.13.0: F.cross_entropy(x, y, weight=torch.tensor([1, 2, .5]), label_smoothing=0.1)
    Ref(
        "ce-weight-smooth",
        "ce:weight=[1,2,0.5],label_smoothing=0.1",
        CE_LOGITS,
        CE_TARGETS,
        True,
        "mean",
        "0.6786865697",
        True,
    ),
    # torch 2.13.0: F.kl_div(torch.log(q), p, reduction="sum")
    Ref("kl-sum", "kl", KL_Q, KL_P, False, "sum", "0.2713976951", True),
    # torch 2.13.0: F.kl_div(torch.log(q), p, reduction="batchmean")
    Ref("kl-batchmean", "kl", KL_Q, KL_P, False, "mean", "0.1356988476", True),
    # torch 2.13.0: F.binary_cross_entropy_with_logits(x, y)
    Ref("bce-logits", "bce", BCE_X, BCE_Y, True, "mean", "0.8134492999", True),
    # torch 2.13.0: F.binary_cross_entropy_with_logits(x, y, pos_weight=torch.tensor(3.))
    Ref(
        "bce-logits-pos_weight", "bce:pos_weight=3", BCE_X, BCE_Y, True, "mean", "2.163170277", True
    ),
    # scikit-learn 1.9.1: sklearn.metrics.log_loss(y, P)
    Ref("log_loss", "ce", LOG_LOSS_P, LOG_LOSS_Y, False, "mean", "1.881797069", True),
    # scikit-learn 1.9.1 log_loss again, through the alias and the automatic kind decision
    Ref(
        "log_loss-alias-auto", "log_loss", LOG_LOSS_P, LOG_LOSS_Y, None, "mean", "1.881797069", True
    ),
    # torch 2.13.0: F.huber_loss(x, y, delta=1)
    Ref("huber-1", "huber:delta=1", REG_PREDS, REG_LABELS, None, "mean", "1.03625", False),
    # torch 2.13.0: F.huber_loss(x, y) (delta defaults to 1)
    Ref("huber-default", "huber", REG_PREDS, REG_LABELS, None, "mean", "1.03625", False),
    # torch 2.13.0: F.huber_loss(x, y, delta=2)
    Ref("huber-2", "huber:delta=2", REG_PREDS, REG_LABELS, None, "mean", "1.53625", False),
    # torch 2.13.0: F.huber_loss(x, y, delta=0.5)
    Ref("huber-0.5", "huber:delta=0.5", REG_PREDS, REG_LABELS, None, "mean", "0.59875", False),
    # torch 2.13.0: F.smooth_l1_loss(x, y, beta=2)
    Ref("smooth_l1-2", "smooth_l1:beta=2", REG_PREDS, REG_LABELS, None, "mean", "0.768125", False),
    # torch 2.13.0: F.smooth_l1_loss(x, y, beta=0.5)
    Ref(
        "smooth_l1-0.5", "smooth_l1:beta=0.5", REG_PREDS, REG_LABELS, None, "mean", "1.1975", False
    ),
    # torch 2.13.0: F.l1_loss(x, y)
    Ref("l1", "l1", REG_PREDS, REG_LABELS, None, "mean", "1.425", False),
    # torch 2.13.0: F.l1_loss(x, y), through the canonical name
    Ref("mae", "mae", REG_PREDS, REG_LABELS, None, "mean", "1.425", False),
    # torch 2.13.0: F.mse_loss(x, y)
    Ref("mse", "mse", REG_PREDS, REG_LABELS, None, "mean", "3.3225", False),
    # The article's example, "computed correctly (float64)" in REFERENCES.md, from the natural
    # command (no --logits/--probs: the tool must read these as probabilities itself).
    # torch 2.13.0: F.mse_loss on float labels
    Ref("article-mse", "mse", ART_PREDS, ART_LABELS, None, "mean", "0.1366666667", True),
    # scikit-learn 1.9.1: sklearn.metrics.log_loss(y, p)
    Ref("article-ce", "ce", ART_PREDS, ART_LABELS, None, "mean", "0.4149315996", True),
    # torch 2.13.0: F.binary_cross_entropy(p, y)
    Ref("article-bce", "bce", ART_PREDS, ART_LABELS, None, "mean", "0.4149315996", True),
    # scikit-learn 1.9.1: sklearn.metrics.hinge_loss(y, s), labels {0,1} -> {-1,+1}
    Ref("article-hinge", "hinge", ART_SCORES, ART_LABELS, None, "mean", "0.2333333333", True),
]


@pytest.mark.parametrize("ref", REFERENCE_TABLE, ids=lambda r: r.id)
def test_references_md_numbers(ref: Ref) -> None:
    result = losscli.compute(
        ref.spec, ref.preds, ref.labels, logits=ref.logits, reduction=ref.reduction
    )
    assert isinstance(result.value, float)
    assert result.value == ref.approx()


def test_kl_torch_default_mean_is_batchmean_over_classes() -> None:
    """torch 2.13.0 ``F.kl_div(log q, p)`` (reduction "mean") gives 0.04523294919: it divides
    by N·C. losscli's mean is the true KL (``batchmean``), so it reports C times that."""
    value = losscli.compute("kl", KL_Q, KL_P, logits=False).value
    n_classes = len(KL_P[0])
    assert value / n_classes == pytest.approx(0.04523294919, abs=5e-12)
    assert value != pytest.approx(0.04523294919, rel=1e-3)


# --------------------------------------------------------------------------- cases.json

CASES_PATH = Path(__file__).resolve().parent / "reference" / "cases.json"
CASE_KEYS = {
    "id",
    "spec",
    "preds",
    "labels",
    "kind",
    "reduction",
    "convention",
    "expected",
    "per_sample",
    "reference",
    "dtype",
}
KINDS: dict[str | None, bool | None] = {"logits": True, "probs": False, None: None}
DTYPES = {"float64": np.float64, "float32": np.float32}
# float64 cases: the library's own float64 number, to 1e-10 relative (ARCHITECTURE.md).
# float32 cases: torch computed in float32; intermediates of magnitude <= ~10 carry ~1e-6
# absolute rounding, so agreement is to 1e-6 relative or absolute.
TOLERANCE = {"float64": {"rel": 1e-10}, "float32": {"rel": 1e-6, "abs": 1e-6}}


def _load_cases() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not CASES_PATH.exists():
        return {}, []
    data = json.loads(CASES_PATH.read_text(encoding="utf-8"))
    return data.get("versions", {}), list(data.get("cases", []))


VERSIONS, ALL_CASES = _load_cases()
DEFAULT_CASES = [c for c in ALL_CASES if c.get("convention") is None]
PER_SAMPLE_CASES = [c for c in DEFAULT_CASES if c.get("per_sample") is not None]


def loss_name(spec: str) -> str:
    return spec.partition(":")[0].strip().lower()


def registered(case: dict[str, Any]) -> LossDef:
    """The case's loss, or skip the test when losscli does not have that loss yet."""
    name = loss_name(case["spec"])
    if name not in REGISTRY:
        pytest.skip(f"loss {name!r} is not registered in losscli yet (case {case['id']})")
    return REGISTRY[name]


def case_inputs(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The case's arrays in the dtype the library computed in (int/str labels as given)."""
    dtype = DTYPES[case["dtype"]]
    preds = np.asarray(case["preds"], dtype=dtype)
    labels = np.asarray(case["labels"])
    if labels.dtype.kind == "f":
        labels = labels.astype(dtype)
    return preds, labels


def test_cases_file_is_present_and_well_formed() -> None:
    assert CASES_PATH.exists(), f"{CASES_PATH} is missing; run generate_reference.py"
    assert {"torch", "sklearn"} <= set(VERSIONS)
    assert VERSIONS["torch"].startswith("2.13.0")
    assert VERSIONS["sklearn"] == "1.9.1"
    ids = [c["id"] for c in ALL_CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    for case in ALL_CASES:
        assert set(case) == CASE_KEYS, case["id"]
        assert case["kind"] in KINDS, case["id"]
        assert case["reduction"] in ("mean", "sum"), case["id"]
        assert case["dtype"] in DTYPES, case["id"]
        assert case["reference"], case["id"]


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c["id"])
def test_reference_case_value(case: dict[str, Any]) -> None:
    registered(case)
    preds, labels = case_inputs(case)
    result = losscli.compute(
        case["spec"], preds, labels, logits=KINDS[case["kind"]], reduction=case["reduction"]
    )
    expected = pytest.approx(case["expected"], **TOLERANCE[case["dtype"]])
    assert result.value == expected, f"{case['reference']}"


def elementwise_outputs(loss: LossDef, preds: np.ndarray, labels: np.ndarray) -> bool:
    """k outputs per sample of an elementwise loss (multi-output regression, multi-label bce):
    torch's ``none`` gives one term per element; cases.json keeps their mean per sample."""
    return (
        preds.ndim == 2
        and labels.shape == preds.shape
        and (loss.target is Target.VALUES or loss.independent_columns)
    )


@pytest.mark.parametrize("case", PER_SAMPLE_CASES, ids=lambda c: c["id"])
def test_reference_case_per_sample(case: dict[str, Any]) -> None:
    """torch's ``reduction="none"`` terms against the engine's per-sample terms.

    cases.json's ``per_sample`` is the term a sample adds to the sum (``w[y]·nll``, 0 for an
    ignored row), compared with ``losscli.per_sample(...).values``. Where torch gives several
    terms per sample (dense maps, k outputs) it is the sample's own (weighted) mean of them,
    which is what the engine displays per sample (``own_values``, the
    ``--per-sample`` column).
    """
    loss = registered(case)
    preds, labels = case_inputs(case)
    terms, shown = engine_terms(case["spec"], preds, labels, logits=KINDS[case["kind"]])
    own_mean = preds.ndim >= 3 or elementwise_outputs(loss, preds, labels)
    got = shown if own_mean else terms.values
    expected = np.asarray(case["per_sample"], dtype=np.float64)
    assert got.shape == expected.shape
    assert got.tolist() == pytest.approx(expected.tolist(), **TOLERANCE[case["dtype"]]), case[
        "reference"
    ]


def test_every_registered_loss_has_reference_cases() -> None:
    """We shouldn't forget any loss: each registered loss needs a library-computed case."""
    covered = {
        REGISTRY[loss_name(c["spec"])].name
        for c in DEFAULT_CASES
        if loss_name(c["spec"]) in REGISTRY
    }
    missing = sorted(loss.name for loss in LOSSES if loss.name not in covered)
    assert not missing, f"no reference case in cases.json for: {', '.join(missing)}"
