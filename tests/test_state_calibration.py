"""Calibration bins in saved states: ``ece``/``mce`` states of parts merge into the report of
one run over the whole data (the same reliability table and value). Expected numbers: the one
run of ``losscli compute`` on the whole files, itself checked against TorchMetrics in
tests/test_parity.py; counts exact, sums to 1e-12 relative (another summation order)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import CLI_ENV, SAMPLE, invoke
from state_helpers import assert_close, installed_merge_json, report_json

CUTS = [(0, 250), (250, 251), (251, 600)]


def _parts(tmp_path: Path, preds: Path, labels: Path, args: list[str]) -> list[Path]:
    p, y = pd.read_csv(preds), pd.read_csv(labels)
    states = []
    for i, (a, b) in enumerate(CUTS):
        p.iloc[a:b].to_csv(tmp_path / f"p{i}.csv", index=False)
        y.iloc[a:b].to_csv(tmp_path / f"y{i}.csv", index=False)
        states.append(tmp_path / f"s{i}.json")
        run = ["compute", tmp_path / f"p{i}.csv", tmp_path / f"y{i}.csv", *args]
        result = invoke([*run, "--save-state", states[-1], "-q"])
        assert result.exit_code == 0, result.output
    return states


def _binary(tmp_path: Path) -> tuple[Path, Path]:
    """The tickets' p(bug) against 'is the ticket a bug' (a binary task)."""
    p = pd.read_csv(SAMPLE / "tickets_probs_v2.csv")[["bug"]]
    y = (pd.read_csv(SAMPLE / "tickets_labels.csv")["intent"] == "bug").astype(int)
    p.to_csv(tmp_path / "bp.csv", index=False)
    y.to_frame("bug").to_csv(tmp_path / "by.csv", index=False)
    return tmp_path / "bp.csv", tmp_path / "by.csv"


CASES = {
    "multiclass": (
        lambda tmp: (SAMPLE / "tickets_probs_v2.csv", SAMPLE / "tickets_labels.csv"),
        ["--label-col", "intent", "--probs"],
    ),
    "binary": (_binary, ["--probs"]),
}
LOSSES = ["--loss", "ece", "--loss", "mce:bins=10", "--loss", "ce", "--top", "3"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_merged_calibration_states_equal_one_run(tmp_path: Path, case: str) -> None:
    make, reading = CASES[case]
    preds, labels = make(tmp_path)
    args = [*reading, *LOSSES]
    expected = report_json(["compute", preds, labels, *args])
    merged = report_json(["merge", *_parts(tmp_path, preds, labels, args)])
    assert merged["n_samples"] == expected["n_samples"] == 600
    for got, want in zip(merged["results"], expected["results"], strict=True):
        assert got["loss"] == want["loss"]
        assert [b["count"] for b in got["bins"]] == [b["count"] for b in want["bins"]]
        # The signatures differ only in the labels hash (parts' hashes hashed).
        got, want = ({k: v for k, v in r.items() if k != "signature"} for r in (got, want))
        assert_close(got, want, abs_tol=1e-15)
    ece = expected["results"][0]
    assert ece["bins"] and ece["value"] > 0  # the bins are there and the test can fail


def test_a_calibration_state_keeps_its_bins(tmp_path: Path) -> None:
    """The state holds each bin's count, Σ confidence and Σ correct as exact hex floats."""
    state = tmp_path / "s.json"
    args = ["--label-col", "intent", "--probs", "--loss", "ece:bins=4", "--save-state", state]
    files = [SAMPLE / "tickets_probs_v2.csv", SAMPLE / "tickets_labels.csv"]
    assert invoke(["compute", *files, *args, "-q"]).exit_code == 0
    bins = json.loads(state.read_text())["moments"][0]["calibration"]
    assert bins["n_bins"] == 4 and len(bins["count"]) == 5  # + the bin of confidence 1
    assert sum(float.fromhex(c) for c in bins["count"]) == 600


def test_a_damaged_state_exits_3(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    args = ["--label-col", "intent", "--probs", "--loss", "ece", "--save-state", state]
    files = [SAMPLE / "tickets_probs_v2.csv", SAMPLE / "tickets_labels.csv"]
    assert invoke(["compute", *files, *args, "-q"]).exit_code == 0
    doc = json.loads(state.read_text())
    doc["moments"][0]["calibration"]["count"].pop()
    state.write_text(json.dumps(doc))
    result = invoke(["merge", state])
    assert result.exit_code == 3, result.output
    assert "damaged part" in result.stderr and "count" in result.stderr
    del doc["worst"]
    state.write_text(json.dumps(doc))
    exe = Path(sys.executable).parent / "losscli"
    env = {k: v for k, v in CLI_ENV.items() if v is not None}
    proc = subprocess.run([str(exe), "merge", str(state)], capture_output=True, text=True, env=env)
    assert proc.returncode == 3 and "damaged part" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_installed_merge_of_calibration_states(tmp_path: Path) -> None:
    make, reading = CASES["multiclass"]
    preds, labels = make(tmp_path)
    args = [*reading, *LOSSES]
    states = _parts(tmp_path, preds, labels, args)
    want = report_json(["compute", preds, labels, *args])["results"][0]["value"]
    assert installed_merge_json(states)["results"][0]["value"] == pytest.approx(want, rel=1e-12)
