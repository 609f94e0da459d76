"""CLI conventions for CI: --quiet and --verbose on every command, GitHub annotations with
escaped user text, and exit 1 only for a failed rule.

Escaping follows the GitHub Actions toolkit (@actions/core, src/command.ts: escapeData and
escapeProperty).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ci_data import cli, json_of, write_baseline, write_models
from conftest import ROOT, SAMPLE

from losscli.ci.checks import Rules, evaluate_rules
from losscli.engine.results import LossResult
from losscli.errors import InputError
from losscli.report.annotations import annotation, escape_data, escape_property

SEED = [SAMPLE / "seed_preds.csv", SAMPLE / "seed_labels.csv"]
GHA = {"GITHUB_ACTIONS": "true"}
# Every command with arguments that succeed.
COMMANDS: dict[str, list[Any]] = {
    "compute": ["compute", *SEED, "--loss", "ce"],
    "losses": ["losses"],
    "explain": ["explain", "ce"],
    "check": ["check", *SEED, "--loss", "ce", "--max", "ce=1"],
    "compare": ["compare", SEED[0], SAMPLE / "seed_scores.csv", "--labels", SEED[1], "-l", "mse"],
    "schema": ["schema", "compute"],
}


def test_escape_data_and_properties() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("max ce:label_smoothing=0.1, 5%") == (
        "max ce%3Alabel_smoothing=0.1%2C 5%25"
    )
    assert annotation("error", "a\nb", "t:1,2") == "::error title=t%3A1%2C2::a%0Ab"
    assert annotation("warning", "plain") == "::warning::plain"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_quiet_prints_nothing_on_success(name: str) -> None:
    loud = cli(COMMANDS[name])
    assert loud.exit_code == 0, loud.stderr
    assert loud.stdout
    quiet = cli([*COMMANDS[name], "--quiet"])
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stdout == "" and quiet.stderr == ""


@pytest.mark.parametrize("name", list(COMMANDS))
def test_verbose_explains_on_stderr_and_keeps_stdout(name: str) -> None:
    loud = cli(COMMANDS[name])
    verbose = cli([*COMMANDS[name], "--verbose"])
    assert verbose.exit_code == 0, verbose.stderr
    assert verbose.stdout == loud.stdout
    assert verbose.stderr.rstrip().endswith("done, exit 0")
    assert all(line.startswith("losscli [") for line in verbose.stderr.splitlines())


def test_verbose_names_decisions_chunks_and_hashes() -> None:
    result = cli([*COMMANDS["compute"], "--verbose", "--chunk-rows", "2"])
    err = result.stderr
    assert "decided: predictions read as probabilities (every value is in [0, 1])" in err
    assert "streaming in chunks of up to 2 rows" in err
    # 3 rows in chunks of 2: two chunks.
    assert "chunk 1: 2 rows (2 so far)" in err and "chunk 2: 1 rows (3 so far)" in err
    assert "sha256 of " in err and "evaluated 3 samples in" in err


def test_verbose_check_says_why_each_rule_passed_or_failed(tmp_path: Path) -> None:
    _, _, paths = write_models(tmp_path)
    baseline = write_baseline(paths["base"], paths["labels"], tmp_path / "b.json")
    result = cli(
        ["check", paths["worse"], paths["labels"], "--baseline", baseline, "-l", "ce", "-v"]
    )
    assert result.exit_code == 1
    assert "ce: comparable with the baseline" in result.stderr
    assert "rule max_increase ce: FAIL: ce = " in result.stderr


def test_quiet_and_verbose_together_are_a_usage_error() -> None:
    result = cli([*COMMANDS["compute"], "-q", "-v"])
    assert result.exit_code == 2
    assert "--quiet and --verbose contradict each other" in result.stderr


def test_quiet_keeps_errors_and_exit_codes(tmp_path: Path) -> None:
    failed = cli(["check", *SEED, "--max", "ce=0.35", "--loss", "ce", "--quiet"])
    assert failed.exit_code == 1
    assert failed.stdout == ""
    assert failed.stderr.startswith("error: check failed: 1 of 1 rule failed")
    missing = cli(["compute", tmp_path / "none.csv", SEED[1], "-l", "mse", "-q"])
    assert missing.exit_code == 3 and "no such file" in missing.stderr


def test_quiet_still_writes_reports(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    summary = tmp_path / "summary.md"
    result = cli(
        [*COMMANDS["check"], "-o", out, "--quiet"], env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["passed"] is True
    assert "losscli check: PASSED" in summary.read_text(encoding="utf-8")


def test_failed_rules_are_annotated_under_github_actions() -> None:
    args = ["check", *SEED, "-l", "ce:label_smoothing=0", "-l", "mse"]
    rules = ["--max", "ce:label_smoothing=0=0.35", "--max", "mse=0.2"]
    result = cli([*args, *rules], env=GHA)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    # REFERENCES.md: log loss of the article's example 0.4149315996 > 0.35; mse 0.1367 passes.
    assert (
        "::error title=losscli check%3A max ce%3Alabel_smoothing=0::"
        "ce:label_smoothing=0 = 0.414932 > max 0.35"
    ) in lines
    assert not any("mse" in line and line.startswith("::") for line in lines)
    # The final error line is not annotated twice.
    assert sum(line.startswith("::error") for line in lines) == 1
    plain = cli([*args, *rules], env={"GITHUB_ACTIONS": None})
    assert "::" not in plain.stderr.replace("ce:label", "")


def test_exit_zero_annotates_failures_as_warnings() -> None:
    result = cli(["check", *SEED, "-l", "ce", "--max", "ce=0.35", "--exit-zero"], env=GHA)
    assert result.exit_code == 0
    assert "::warning title=losscli check%3A max ce::ce = 0.414932 > max 0.35" in result.stderr
    assert "::error" not in result.stderr


def test_errors_are_annotated_with_escaped_user_text(tmp_path: Path) -> None:
    odd = tmp_path / "50%\nbad.csv"
    result = cli(["compute", odd, SEED[1], "-l", "mse"], env=GHA)
    assert result.exit_code == 3
    annotated = [x for x in result.stderr.splitlines() if x.startswith("::error")]
    assert len(annotated) == 1
    assert annotated[0].startswith("::error title=losscli::")
    assert "50%25%0Abad.csv: no such file" in annotated[0]


def test_unsigned_baseline_warning_is_annotated(tmp_path: Path) -> None:
    _, _, paths = write_models(tmp_path)
    baseline = write_baseline(paths["base"], paths["labels"], tmp_path / "b.json")
    doc = json.loads(baseline.read_text(encoding="utf-8"))
    for item in doc["results"]:
        del item["signature"]
    baseline.write_text(json.dumps(doc), encoding="utf-8")
    args = ["check", paths["better"], paths["labels"], "--baseline", baseline]
    result = cli(args, env=GHA)
    assert result.exit_code == 0
    assert any(x.startswith("::warning title=losscli check::") for x in result.stderr.splitlines())
    assert cli([*args, "--quiet"], env=GHA).stderr == ""


def test_a_rule_on_nan_cannot_be_judged() -> None:
    nan = LossResult("ce", "ce", math.nan, 3, math.nan, math.nan, math.nan, "mean", "", {})
    with pytest.raises(InputError, match="ce is nan over 3 samples, so no rule on it can be"):
        evaluate_rules([nan], Rules(max={"ce": 1.0}))
    # A loss without a rule may be nan: nothing is judged on it.
    assert evaluate_rules([nan], Rules(max={})) == []


def test_annotations_through_the_installed_entry_point() -> None:
    exe = Path(sys.executable).parent / "losscli"
    args = [str(exe), "check", *map(str, SEED), "-l", "ce", "--max", "ce=0.35", "-q"]
    env = {"PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "NO_COLOR": "1"}
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "::error title=losscli check%3A max ce::ce = 0.414932 > max 0.35" in proc.stderr


# --------------------------------------------------------------------------- step summary


def test_step_summary_fits_under_the_limit() -> None:
    from losscli.report.render import fit_step_summary

    text = "".join(f"| row {i} | é |\n" for i in range(100))  # 'é' is two bytes in UTF-8
    assert fit_step_summary(text, used=0) == text
    cut = fit_step_summary(text, used=0, limit=600)
    assert len(cut.encode("utf-8")) < 600
    assert cut.endswith("the -o reports hold everything._\n")
    kept = cut.split("\n_…cut")[0]
    assert text.startswith(kept) and kept.endswith("|\n")  # whole lines only
    # What is already in the file counts: a full file gets nothing.
    assert fit_step_summary(text, used=550, limit=600) == ""


def test_step_summary_of_a_huge_report_stays_under_1_mib(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_bytes(b"x" * ((1 << 20) - 300) + b"\n")  # another step's output first
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    result = cli([*COMMANDS["check"], "--max", "ce=0.35"], env=env)
    assert result.exit_code == 1
    assert summary.stat().st_size < 1 << 20
    assert summary.read_text(encoding="utf-8").endswith("hold everything._\n")
    full = cli(COMMANDS["check"], env=env)  # nothing fits any more: a warning, same exit
    assert full.exit_code == 0
    assert "is full (1 MiB); the report is not added" in full.stderr
    assert summary.stat().st_size < 1 << 20


# --------------------------------------------------------------------------- completion


def test_shell_completion_is_installed_and_completes() -> None:
    exe = str(Path(sys.executable).parent / "losscli")
    env = {"PATH": "/usr/bin:/bin", "SHELL": "/bin/bash", "HOME": "/nonexistent"}
    show = subprocess.run(
        [exe, "--show-completion", "bash"], capture_output=True, text=True, env=env, check=False
    )
    assert show.returncode == 0, show.stderr
    assert "_losscli_completion" in show.stdout
    complete = subprocess.run(
        [exe],
        capture_output=True,
        text=True,
        check=False,
        env={
            **env,
            "_LOSSCLI_COMPLETE": "complete_bash",
            "COMP_WORDS": "losscli check --allow",
            "COMP_CWORD": "2",
        },
    )
    assert complete.stdout.split() == ["--allow-different-data"]
    assert "--install-completion" in cli(["--help"]).stdout


# --------------------------------------------------------------------------- --significant


def test_identical_models_report_no_difference(tmp_path: Path) -> None:
    _, _, paths = write_models(tmp_path)
    args = ["check", paths["base"], paths["labels"], "--baseline-preds", paths["base"], "-l", "ce"]
    args += ["--significant", "--max-increase", "1%"]
    table = cli(args)
    assert table.exit_code == 0, table.stderr
    tested = table.stdout.split("Increases tested for significance")[1].splitlines()
    row = next(x for x in tested if x.startswith("ce "))
    # No p of 0 and no "significant: no" for a model compared with itself.
    assert [c.strip() for c in row.split("│")[2:]] == ["0", "—", "—", "—", "no difference"]
    doc = json_of(cli([*args, "-f", "json"]))
    rule = doc["rules"][0]
    assert rule["test"]["identical"] is True
    assert (
        rule["message"].startswith("ce = ")
        and "no difference (every one of the 400" in rule["message"]
    )


def test_no_negative_margin_beside_pass(tmp_path: Path) -> None:
    _, _, paths = write_models(tmp_path)
    baseline = write_baseline(paths["base"], paths["labels"], tmp_path / "b.json")
    # tiny is base plus noise: its log loss is higher by ~0.002, well within the noise
    # (tests/ci_data.py), so it passes although its value is above the limit.
    args = ["check", paths["tiny"], paths["labels"], "--baseline", baseline, "--significant"]
    doc = json_of(cli([*args, "-f", "json"]))
    for rule in doc["rules"]:
        assert rule["passed"] is True
        test = rule["test"]
        assert test["margin"] == pytest.approx(test["allowed"] - test["ci_low"], abs=1e-15)
        assert test["margin"] > 0
    assert any(rule["margin"] < 0 for rule in doc["rules"])  # limit - value is negative
    table = cli(args)
    for line in table.stdout.splitlines():
        if line.endswith("PASS"):
            assert "│ -" not in line, line
