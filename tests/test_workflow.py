"""The README's GitHub Actions workflow, run as GitHub would run its shell steps.

The ``run:`` steps of the workflow under ``<!-- ci-workflow -->`` are taken from README.md
and run with bash (``-e``, as GitHub's default shell) in a scratch folder holding
sample_data, with the installed losscli first on PATH, ``GITHUB_ACTIONS=true`` and
``GITHUB_STEP_SUMMARY`` set. ``pip install losscli`` is left out: the package under test is
already installed. Expected outcomes (sample_data/README.md): images_logits_v2.csv has
ce 0.5563 and hinge 0.5026, images_logits.csv ce 0.6350 and hinge 0.5713.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE, schema_errors

MARKER = "<!-- ci-workflow -->"


def workflow_steps(readme: str) -> list[str]:
    """The shell of every ``run:`` step of the workflow after MARKER, in order."""
    block = readme.split(MARKER, 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    steps: list[str] = []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(?:- )?run: (.*)$", lines[i])
        i += 1
        if not m:
            continue
        indent, value = len(m.group(1)), m.group(2)
        if value.strip() != "|":
            steps.append(value.strip())
            continue
        body = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
            body.append(lines[i])
            i += 1
        depth = min(_indent(x) for x in body if x.strip())
        steps.append("\n".join(x[depth:] for x in body).strip() + "\n")
    return steps


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


@dataclass
class Step:
    script: str
    returncode: int
    stdout: str
    stderr: str


def run_workflow(folder: Path, steps: list[str]) -> tuple[list[Step], Path]:
    """Run the steps one by one as GitHub would (stop at the first failing one)."""
    (folder / "sample_data").symlink_to(SAMPLE, target_is_directory=True)
    summary = folder / "step_summary.md"
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(folder),
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "NO_COLOR": "1",
        "TERM": "dumb",
    }
    done = []
    for script in steps:
        if script.startswith("pip install losscli"):
            continue  # the losscli under test is installed already
        proc = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        done.append(Step(script, proc.returncode, proc.stdout, proc.stderr))
        if proc.returncode != 0:
            break
    return done, summary


@pytest.fixture(scope="module")
def steps() -> list[str]:
    return workflow_steps((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_workflow_has_the_documented_steps(steps: list[str]) -> None:
    assert steps[0] == "pip install losscli"
    assert steps[1].startswith("losscli compute ") and "> baseline.json" in steps[1]
    assert steps[2].startswith("losscli check ") and "--baseline baseline.json" in steps[2]
    assert len(steps) == 3


def test_the_workflow_passes_on_the_better_model(tmp_path: Path, steps: list[str]) -> None:
    done, summary = run_workflow(tmp_path, steps)
    assert [s.returncode for s in done] == [0, 0], done[-1].stderr
    check = done[-1]
    assert "::error" not in check.stderr and "::warning" not in check.stderr
    assert "losscli check: PASSED, all 3 rules hold" in check.stdout
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("### ✅ losscli check: PASSED, all 3 rules hold")
    junit = ET.parse(tmp_path / "losscli-report.xml").getroot()
    assert (junit.get("tests"), junit.get("failures")) == ("3", "0")
    doc = json.loads((tmp_path / "losscli-report.json").read_text(encoding="utf-8"))
    assert doc["passed"] is True and doc["same_data"] is True
    assert schema_errors("check", doc) == []


def test_the_workflow_fails_a_worse_model_with_annotations(
    tmp_path: Path, steps: list[str]
) -> None:
    # The pull request brings the old model back: the baseline is now the better one.
    swapped = [
        s.replace("images_logits.csv", "@OLD@")
        .replace("images_logits_v2.csv", "images_logits.csv")
        .replace("@OLD@", "images_logits_v2.csv")
        for s in steps
    ]
    done, summary = run_workflow(tmp_path, swapped)
    check = done[-1]
    assert check.returncode == 1
    errors = [x for x in check.stderr.splitlines() if x.startswith("::error")]
    # ce 0.635026 > 0.6; ce and hinge rose by more than 2% (by 14.2% and 13.7%).
    assert errors == [
        "::error title=losscli check%3A max ce::ce = 0.635026 > max 0.6",
        "::error title=losscli check%3A max_increase ce::"
        # a "%" in a message is written %25, as GitHub requires
        "ce = 0.635026 vs baseline 0.556285: increase 0.07874 (+14.155%25), "
        "allowed 2%25 of the baseline = 0.01113",
        "::error title=losscli check%3A max_increase hinge::"
        "hinge = 0.571304 vs baseline 0.502609: increase 0.06869 (+13.668%25), "
        "allowed 2%25 of the baseline = 0.01005",
    ]
    assert check.stderr.splitlines()[-1].startswith("error: check failed: 3 of 3 rules failed")
    assert summary.read_text(encoding="utf-8").startswith(
        "### ❌ losscli check: FAILED, 3 of 3 rules failed"
    )
    junit = ET.parse(tmp_path / "losscli-report.xml").getroot()
    assert junit.get("failures") == "3"


def test_the_workflow_stops_on_a_baseline_from_other_data(tmp_path: Path, steps: list[str]) -> None:
    # A baseline made on other labels (the article's 3 samples) cannot gate this model.
    other = [
        s.replace(
            "sample_data/images_logits.csv sample_data/images_labels.csv",
            "sample_data/seed_preds.csv sample_data/seed_labels.csv",
        ).replace(
            "--id-col image_id --loss ce --loss hinge --format json",
            "--loss ce --loss hinge --format json",
        )
        for s in steps
    ]
    done, summary = run_workflow(tmp_path, other)
    check = done[-1]
    assert check.returncode == 3
    assert check.stdout == ""
    errors = [x for x in check.stderr.splitlines() if x.startswith("::error")]
    assert len(errors) == 1
    assert errors[0].startswith("::error title=losscli::baseline.json was computed on other data")
    assert "labels differ: baseline sha256 " in errors[0]
    assert not summary.exists()  # nothing was judged, nothing is reported as judged


def test_readme_shows_the_incomparable_baseline_as_it_is(tmp_path: Path) -> None:
    """The README's console block with `check` on a baseline from other data is real output."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("name each difference:\n\n```console\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    compute, check = (x[2:] for x in lines if x.startswith("$ losscli"))
    shown_error = lines[lines.index(f"$ {check}") + 1]
    assert lines[-2:] == ["$ echo $?", "3"]
    done, _ = run_workflow(tmp_path, [compute, check])
    assert [s.returncode for s in done] == [0, 3]
    # run_workflow runs as GitHub Actions: the same message comes as an annotation too.
    plain = [x for x in done[1].stderr.splitlines() if not x.startswith("::error")]
    assert plain == [shown_error]
