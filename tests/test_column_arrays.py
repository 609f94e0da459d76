"""(N, 1) arrays (a model's single output, ``np.save`` of ``torch.sigmoid(model(x))``) are read
exactly as (N,) arrays, for every loss, through the Python API and the CLI (issue 8).

Expected values come from ``tests/reference/cases.json`` (the real libraries; see its
``versions`` and each case's ``reference``) and from ../shared/REFERENCES.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_parity import DEFAULT_CASES, KINDS, TOLERANCE, case_inputs, registered

import losscli

ONE_D = [c for c in DEFAULT_CASES if np.asarray(c["preds"]).ndim == 1]
# The article's example (REFERENCES.md): sklearn log_loss 0.4149315996 on probabilities,
# sklearn hinge_loss 0.2333333333 on scores, torch mse_loss 0.1366666667.
ART_PROBS = [[0.9], [0.2], [0.4]]
ART_SCORES = [[1.2], [-0.5], [0.8]]
ART_LABELS = [1, 0, 1]
ENTRY_POINT = Path(sys.executable).parent / "losscli"


def test_there_are_one_column_cases_for_many_losses() -> None:
    assert len({c["spec"].partition(":")[0] for c in ONE_D}) >= 15


@pytest.mark.parametrize("case", ONE_D, ids=lambda c: c["id"])
def test_n_by_1_predictions_give_the_reference_value(case: dict[str, Any]) -> None:
    registered(case)
    preds, labels = case_inputs(case)
    expected = pytest.approx(case["expected"], **TOLERANCE[case["dtype"]])
    kwargs = {"logits": KINDS[case["kind"]], "reduction": case["reduction"]}
    column = losscli.compute(case["spec"], preds[:, None], labels, **kwargs)
    assert column.value == expected, case["reference"]
    if labels.ndim == 1:
        both = losscli.compute(case["spec"], preds[:, None], labels[:, None], **kwargs)
        assert both.value == expected, case["reference"]


@pytest.mark.parametrize(
    ("spec", "preds", "expected"),
    [
        ("bce", ART_PROBS, 0.4149315996),
        ("ce", ART_PROBS, 0.4149315996),
        ("mse", ART_PROBS, 0.1366666667),
        ("hinge", ART_SCORES, 0.2333333333),
    ],
)
def test_article_example_as_n_by_1_through_the_cli(
    run_cli: Any, write: Any, spec: str, preds: Any, expected: float
) -> None:
    p = write("preds.npy", np.asarray(preds, dtype=np.float32))
    y = write("labels.npy", ART_LABELS)
    result = run_cli(["compute", p, y, "--loss", spec, "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # float32 input: agreement to 1e-6 (ARCHITECTURE.md, numerics).
    assert doc["results"][0]["value"] == pytest.approx(expected, abs=1e-6)
    decisions = [n["decision"] for n in doc["interpretation"]]
    assert f"predictions of shape (N, 1) in {p} read as one column" in decisions


def test_n_by_1_through_the_installed_entry_point(write: Any) -> None:
    p = write("preds.npy", np.asarray(ART_PROBS))
    y = write("labels.npy", ART_LABELS)
    proc = subprocess.run(
        [str(ENTRY_POINT), "compute", str(p), str(y), "--loss", "bce", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["value"] == pytest.approx(0.4149315996, abs=5e-11)
