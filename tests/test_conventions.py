"""--convention: each library's defaults where they differ, against that library's numbers.

Expected values come from tests/reference/cases.json, written by
tests/reference/generate_reference.py with torch 2.13.0, scikit-learn 1.9.1 and Keras 3
(versions recorded in the JSON); each case names the exact call in its ``reference`` field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import SAMPLE

import losscli
from losscli.errors import InputError, UsageError
from losscli.losses import LOSSES

CASES = json.loads((Path(__file__).parent / "reference" / "cases.json").read_text())["cases"]
CONVENTION_CASES = [c for c in CASES if c["convention"]]


def _logits(case: dict[str, Any]) -> bool | None:
    return {"logits": True, "probs": False}.get(case["kind"])


@pytest.mark.parametrize("case", CONVENTION_CASES, ids=[c["id"] for c in CONVENTION_CASES])
def test_convention_reproduces_the_library(case: dict[str, Any]) -> None:
    # float32 cases: the library computed in float32 (log_loss clips at float32's eps).
    dtype, rel = (np.float32, 1e-6) if case["dtype"] == "float32" else (np.float64, 1e-10)
    result = losscli.compute(
        case["spec"],
        np.asarray(case["preds"], dtype=dtype),
        case["labels"],
        logits=_logits(case),
        reduction=case["reduction"],
        convention=case["convention"],
    )
    assert result.value == pytest.approx(case["expected"], rel=rel)
    assert result.convention == case["convention"]


def test_every_convention_is_exercised_by_a_reference_case() -> None:
    covered = {(c["spec"].split(":")[0], c["convention"]) for c in CONVENTION_CASES}
    for loss in LOSSES:
        for convention in loss.conventions:
            if (loss.name, convention) == ("kl", "sklearn"):
                continue  # scikit-learn has no KL: the note says it is losscli's default
            assert (loss.name, convention) in covered, (loss.name, convention)


def test_kl_torch_convention_is_batchmean_divided_by_classes() -> None:
    # REFERENCES.md: torch kl_div 'batchmean' 0.1356988476, 'mean' 0.04523294919 (C = 3).
    p = [[0.36, 0.48, 0.16], [0.2, 0.3, 0.5]]
    q = [[1 / 3] * 3, [0.1, 0.6, 0.3]]
    default = losscli.compute("kl", q, p, logits=False).value
    torch_mean = losscli.compute("kl", q, p, logits=False, convention="torch").value
    assert default == pytest.approx(0.1356988476, abs=5e-11)
    assert torch_mean == pytest.approx(default / 3, rel=1e-12)
    # 'sum' is the same in every convention.
    assert losscli.compute(
        "kl", q, p, logits=False, convention="torch", reduction="sum"
    ).value == pytest.approx(2 * default, rel=1e-12)


def test_logits_do_not_depend_on_the_convention() -> None:
    z = np.array([[2.0, 0.5, -1.0], [0.1, 1.5, 0.3], [-0.5, 0.2, 2.2]])
    y = [0, 1, 2]
    values = {
        c: losscli.compute("ce", z, y, convention=c).value
        for c in ("losscli", "torch", "sklearn", "keras")
    }
    assert len(set(values.values())) == 1


def test_unnormalised_rows_are_refused_by_default_but_not_under_sklearn_or_keras() -> None:
    probs = [[0.5, 0.3, 0.1], [0.2, 0.7, 0.1]]
    with pytest.raises(InputError, match="rows do not sum to 1"):
        losscli.compute("ce", probs, [0, 1], logits=False)
    sk = losscli.compute("ce", probs, [0, 1], logits=False, convention="sklearn").value
    keras = losscli.compute("ce", probs, [0, 1], logits=False, convention="keras").value
    # Hand derivation: sklearn takes rows as given, -mean(log 0.5, log 0.7); Keras divides
    # each row by its sum first: -mean(log(0.5/0.9), log(0.7/1.0)).
    assert sk == pytest.approx(-(np.log(0.5) + np.log(0.7)) / 2, rel=1e-12)
    assert keras == pytest.approx(-(np.log(0.5 / 0.9) + np.log(0.7)) / 2, rel=1e-12)


def test_all_conventions_in_one_table(run_cli: Any, tmp_path: Path) -> None:
    preds = tmp_path / "p.csv"
    preds.write_text("a,b,c\n0.7,0.3,0\n0.2,0.8,0\n0.1,0.1,0.8\n")
    labels = tmp_path / "l.csv"
    labels.write_text("y\n2\n1\n2\n")
    result = run_cli(
        [
            "compute",
            preds,
            labels,
            "--loss",
            "ce",
            "--loss",
            "hinge",
            "--convention",
            "all",
            "--top",
            "0",
        ]
    )
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for convention in ("torch", "sklearn", "keras"):
        assert f"ce [{convention}]" in out
    # One line per convention says what differs; a loss without conventions appears once.
    assert "clamped at -100" in out and "renormalised" in out
    table = [line for line in out.splitlines() if not line.startswith("signature ")]
    assert sum(line.startswith("hinge ") for line in table) == 1
    assert "hinge [" not in out
    # Row 0 gives p = 0 to its true class: torch's clamp costs 100, sklearn's eps clip
    # -log(2.22e-16) = 36.04, Keras' 1e-7 clip 16.12 (REFERENCES.md); the means differ.
    data = json.loads(
        run_cli(
            ["compute", preds, labels, "--loss", "ce", "--convention", "all", "--format", "json"]
        ).stdout
    )
    values = {r["convention"]: r["value"] for r in data["results"]}
    expected_torch = (100 + -np.log(0.8) + -np.log(0.8)) / 3
    assert values["torch"] == pytest.approx(expected_torch, rel=1e-12)
    assert values["sklearn"] == pytest.approx(
        (-np.log(np.finfo(float).eps) - 2 * np.log(0.8)) / 3, rel=1e-12
    )
    assert values["keras"] == pytest.approx((-np.log(1e-7) - 2 * np.log(0.8)) / 3, rel=1e-9)


def test_unknown_convention_is_a_usage_error(run_cli: Any) -> None:
    result = run_cli(
        [
            "compute",
            SAMPLE / "seed_preds.csv",
            SAMPLE / "seed_labels.csv",
            "--loss",
            "ce",
            "--convention",
            "jax",
        ]
    )
    assert result.exit_code == 2
    assert result.stdout == ""


def test_api_refuses_all() -> None:
    with pytest.raises(UsageError, match="one convention"):
        losscli.compute("ce", [0.5], [1], convention="all")


# --------------------------------------------------------------------------- input-dependent


def _case(case_id: str) -> dict[str, Any]:
    return next(c for c in CASES if c["id"] == case_id)


def test_float32_probabilities_clip_at_float32_eps_only_under_sklearn(tmp_path: Path) -> None:
    """cases.json bce-probs-float32-sklearn: sklearn.metrics.log_loss on float32 input
    (scikit-learn 1.9.1). The same numbers as float64 clip at float64's eps, and losscli's
    own convention keeps float64's eps whatever the dtype."""
    case = _case("bce-probs-float32-sklearn")
    p32 = np.asarray(case["preds"], dtype=np.float32)
    sk32 = losscli.compute("bce", p32, case["labels"], logits=False, convention="sklearn")
    assert sk32.value == pytest.approx(case["expected"], rel=1e-6)
    p64 = p32.astype(np.float64)
    sk64 = losscli.compute("bce", p64, case["labels"], logits=False, convention="sklearn")
    own32 = losscli.compute("bce", p32, case["labels"], logits=False)
    # p = 0 for a positive row: -log(eps) is 15.9 at float32's eps, 36.0 at float64's.
    assert sk64.value > sk32.value + 1.0
    assert own32.value == pytest.approx(sk64.value, rel=1e-6)


def test_multioutput_rmse_is_the_mean_of_per_output_rmses_under_sklearn() -> None:
    """cases.json rmse-multioutput-sklearn: root_mean_squared_error(multioutput=
    'uniform_average'), scikit-learn 1.9.1. losscli's own convention is the root of the mean
    over every value (torch: sqrt(mse_loss)), recomputed here with NumPy."""
    case = _case("rmse-multioutput-sklearn")
    preds, labels = np.asarray(case["preds"]), np.asarray(case["labels"])
    sk = losscli.compute("rmse", preds, labels, convention="sklearn")
    assert sk.value == pytest.approx(case["expected"], rel=1e-10)
    own = losscli.compute("rmse", preds, labels)
    assert own.value == pytest.approx(float(np.sqrt(np.mean((preds - labels) ** 2))), rel=1e-12)
    assert abs(own.value - sk.value) > 0.1
    assert sk.ci_low < sk.value < sk.ci_high


def test_multioutput_rmse_merges_across_chunks(run_cli: Any, tmp_path: Path) -> None:
    """Per-output moments merge exactly: chunks of 2 rows give the one-chunk value."""
    case = _case("rmse-multioutput-sklearn")
    np.save(tmp_path / "p.npy", np.asarray(case["preds"]))
    np.save(tmp_path / "y.npy", np.asarray(case["labels"]))
    args = ["compute", tmp_path / "p.npy", tmp_path / "y.npy", "-l", "rmse", "-f", "json"]
    values = []
    for rows in ("2", "1000"):
        result = run_cli([*args, "--convention", "sklearn", "--chunk-rows", rows])
        assert result.exit_code == 0, result.stderr
        values.append(json.loads(result.stdout)["results"][0]["value"])
    assert values[0] == pytest.approx(case["expected"], rel=1e-12)
    assert values[0] == pytest.approx(values[1], rel=1e-12)


def test_sklearn_conventions_through_the_cli(run_cli: Any, tmp_path: Path) -> None:
    bce = _case("bce-probs-float32-sklearn")
    np.save(tmp_path / "p.npy", np.asarray(bce["preds"], dtype=np.float32))
    np.save(tmp_path / "y.npy", np.asarray(bce["labels"]))
    args = ["compute", tmp_path / "p.npy", tmp_path / "y.npy", "-l", "bce", "--probs"]
    result = run_cli([*args, "--convention", "sklearn", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["value"] == pytest.approx(
        bce["expected"], rel=1e-6
    )
    rmse = _case("rmse-multioutput-sklearn")
    np.save(tmp_path / "rp.npy", np.asarray(rmse["preds"]))
    np.save(tmp_path / "ry.npy", np.asarray(rmse["labels"]))
    args = ["compute", tmp_path / "rp.npy", tmp_path / "ry.npy", "-l", "rmse"]
    result = run_cli([*args, "--convention", "sklearn", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)["results"][0]
    assert doc["value"] == pytest.approx(rmse["expected"], rel=1e-10)
    assert "convention:sklearn" in doc["signature"]
    refused = run_cli([*args, "--convention", "sklearn", "--ci", "bootstrap"])
    assert refused.exit_code == 2
    assert "--ci bootstrap does not apply" in refused.stderr


def test_sklearn_float32_clip_in_a_process(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from conftest import CLI_ENV

    bce = _case("bce-probs-float32-sklearn")
    np.save(tmp_path / "p.npy", np.asarray(bce["preds"], dtype=np.float32))
    np.save(tmp_path / "y.npy", np.asarray(bce["labels"]))
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    exe = Path(sys.executable).parent / "losscli"
    args = [exe, "compute", tmp_path / "p.npy", tmp_path / "y.npy", "-l", "bce", "--probs"]
    proc = subprocess.run(
        [str(a) for a in [*args, "--convention", "sklearn", "-f", "json"]],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    value = json.loads(proc.stdout)["results"][0]["value"]
    assert value == pytest.approx(bce["expected"], rel=1e-6)
