"""``check --state ... --group-by COL``: saved states keep their ``--group-by`` slices (state
version 2), and the check gates every slice of them as the check on the files does.

Expected outputs: the check on the files the states came from (sample_data/tickets_*, v2
worse on German tickets): the same JSON report for one state; for states of row ranges,
merged, the same rules and outcomes (values to 1e-12 relative: the sums run in another
order), with the labels hash left out of the signatures (merged parts hash their parts').
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import SAMPLE, invoke
from state_helpers import assert_close

NEW = SAMPLE / "tickets_probs_v2.csv"
OLD = SAMPLE / "tickets_probs_v1.csv"
LABELS = SAMPLE / "tickets_labels.csv"
LOSSES = ["-l", "ce", "-l", "brier"]
CUTS = [(0, 250), (250, 251), (251, 600)]


def _check(args: list[Any]) -> tuple[int, dict[str, Any]]:
    out = invoke(["check", *args, "-f", "json"])
    assert out.exit_code in (0, 1), out.output
    return out.exit_code, json.loads(out.stdout)


def _save(preds: Path, labels: Path, state: Path) -> Path:
    out = invoke(["compute", preds, labels, *LOSSES, "--group-by", "lang", "--save-state", state])
    assert out.exit_code == 0, out.output
    return state


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The old model's sliced report (``compute --group-by lang --format json``)."""
    path = tmp_path_factory.mktemp("base") / "old.json"
    out = invoke(["compute", OLD, LABELS, *LOSSES, "--group-by", "lang", "-f", "json"])
    assert out.exit_code == 0, out.output
    path.write_text(out.stdout)
    return path


RULES = [
    (["--slice-max", "ce=0.6", "--max", "ce=0.5"], 1),  # de over 0.6
    (["--slice-max", "ce=1.5", "--slice-max", "brier=0.8"], 0),
    (["--max-increase", "2%"], 1),  # de rose from 0.48 to 1.18
    (["--max-increase", "2%", "--significant"], 1),  # Welch per slice, Holm across them
    (["--max-increase", "200%", "--significant"], 0),
]


@pytest.mark.parametrize(("rules", "code"), RULES)
def test_a_sliced_state_gates_every_slice_as_its_files(
    tmp_path: Path, baseline: Path, rules: list[str], code: int
) -> None:
    state = _save(NEW, LABELS, tmp_path / "new.state.json")
    extra = ["--baseline", baseline] if "--max-increase" in rules else []
    want = _check([NEW, LABELS, *LOSSES, "--group-by", "lang", *rules, *extra])
    got = _check(["--state", state, *LOSSES, "--group-by", "lang", *rules, *extra])
    assert got == want
    assert got[0] == code
    sliced = [r for r in got[1]["rules"] if "slice" in r]
    assert {r["slice"]["lang"] for r in sliced} == {"de", "en", "fr"}
    assert {r["slice"]["lang"] for r in sliced if not r["passed"]} == ({"de"} if code else set())


def _without_labels_hash(doc: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    doc.pop("inputs")
    for result in doc["results"]:
        parts = result["signature"].split("|")
        result["signature"] = "|".join(p for p in parts if not p.startswith("labels:"))
    return doc


def test_merged_part_states_gate_every_slice_as_the_whole_files(tmp_path: Path) -> None:
    preds, labels = pd.read_csv(NEW), pd.read_csv(LABELS)
    states = []
    for i, (a, b) in enumerate(CUTS):  # the second part holds one row: one slice only
        preds.iloc[a:b].to_csv(tmp_path / f"p{i}.csv", index=False)
        labels.iloc[a:b].to_csv(tmp_path / f"l{i}.csv", index=False)
        states.append(_save(tmp_path / f"p{i}.csv", tmp_path / f"l{i}.csv", tmp_path / f"{i}.s"))
    rules = [*LOSSES, "--group-by", "lang", "--slice-max", "ce=0.6", "--slice-max", "brier=0.5"]
    code, want = _check([NEW, LABELS, *rules])
    got_code, got = _check([*(x for s in states for x in ("--state", s)), *rules])
    assert (got_code, code) == (1, 1)
    assert_close(_without_labels_hash(got), _without_labels_hash(want))


def test_without_group_by_a_sliced_state_is_gated_overall_only(tmp_path: Path) -> None:
    state = _save(NEW, LABELS, tmp_path / "new.state.json")
    code, doc = _check(["--state", state, "-l", "ce", "--max", "ce=0.5"])
    assert code == 0
    assert [r["loss"] for r in doc["rules"]] == ["ce"]


@pytest.mark.parametrize(
    ("group_by", "message"),
    [
        ("intent", "--group-by intent: the saved states hold slices by lang"),
        ("lang", "--group-by lang: the saved states hold no slices"),
    ],
)
def test_group_by_must_name_the_state_s_slices(tmp_path: Path, group_by: str, message: str) -> None:
    state = tmp_path / "s.json"
    grouped = ["--group-by", "lang"] if group_by == "intent" else ["--label-col", "intent"]
    made = invoke(["compute", NEW, LABELS, "-l", "ce", *grouped, "--save-state", state])
    assert made.exit_code == 0, made.output
    out = invoke(["check", "--state", state, "-l", "ce", "--group-by", group_by, "--max", "ce=1"])
    assert out.exit_code == 2
    assert message in out.stderr and out.stdout == ""


def test_the_installed_entry_point_gates_a_state_s_slices(tmp_path: Path) -> None:
    state = _save(NEW, LABELS, tmp_path / "new.state.json")
    exe = Path(sys.executable).parent / "losscli"
    cmd = [exe, "check", "--state", state, "-l", "ce", "--group-by", "lang", "--slice-max"]
    failed = subprocess.run([str(a) for a in [*cmd, "ce=0.6"]], capture_output=True, text=True)
    assert failed.returncode == 1, failed.stderr
    assert "check failed: 1 of 3 rules failed: ce [lang=de] = 1.18222 > max 0.6" in failed.stderr
    held = subprocess.run([str(a) for a in [*cmd, "ce=1.5"]], capture_output=True, text=True)
    assert held.returncode == 0, held.stderr
    assert "PASSED, all 3 rules hold" in held.stdout
