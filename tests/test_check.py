"""``losscli check``: every rule and exit code, the reports, significance against SciPy, and
the CI scenario from the README.

Reference numbers: per-sample log losses and squared errors are recomputed here with NumPy
from the same probabilities (tests/ci_data.py); the significance tests are compared with
``scipy.stats.ttest_rel``, ``ttest_ind`` and ``ttest_ind_from_stats`` on those values.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ci_data import cli, json_of, log_loss, squared_error, write_baseline, write_models
from conftest import ROOT
from scipy import stats


@dataclass
class Models:
    y: np.ndarray
    p: dict[str, np.ndarray]
    path: dict[str, Path]
    baseline: Path  # compute --format json of "base" (ce and mse)
    folder: Path

    def ce(self, name: str) -> np.ndarray:
        return log_loss(self.p[name], self.y)

    def mse(self, name: str) -> np.ndarray:
        return squared_error(self.p[name], self.y)


@pytest.fixture
def m(tmp_path: Path) -> Models:
    y, p, paths = write_models(tmp_path)
    baseline = write_baseline(paths["base"], paths["labels"], tmp_path / "baseline.json")
    return Models(y, p, paths, baseline, tmp_path)


def check(m: Models, model: str, *args: Any, env: dict[str, str | None] | None = None) -> Any:
    return cli(["check", m.path[model], m.path["labels"], *args], env=env)


def check_json(m: Models, model: str, *args: Any) -> tuple[int, dict[str, Any]]:
    result = check(m, model, *args, "--format", "json")
    return result.exit_code, json_of(result)


def rules(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["rule"], r["loss"]): r for r in doc["rules"]}


# --------------------------------------------------------------------------- data sanity


def test_the_models_are_what_the_tests_assume(m: Models) -> None:
    base, tiny = m.ce("base").mean(), m.ce("tiny").mean()
    assert m.ce("better").mean() < base < m.ce("worse").mean()
    assert 0 < tiny - base < 0.005
    assert stats.ttest_rel(m.ce("tiny"), m.ce("base")).pvalue > 0.2
    assert stats.ttest_rel(m.ce("worse"), m.ce("base")).pvalue < 1e-6


# --------------------------------------------------------------------------- ceilings


def test_max_passes_with_exit_0(m: Models) -> None:
    result = check(m, "better", "--loss", "ce", "--max", "ce=0.35")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert re.search(r"ce\s+│ max 0\.35\s+│.*│ PASS", result.stdout)
    assert "PASSED" in result.stdout


def test_max_fails_with_exit_1_and_says_why(m: Models) -> None:
    result = check(m, "worse", "--loss", "ce", "--max", "ce=0.35")
    assert result.exit_code == 1
    value = m.ce("worse").mean()
    assert f"ce = {value:.6g} > max 0.35" in result.stderr
    assert "check failed: 1 of 1 rule failed" in result.stderr
    assert "FAIL" in result.stdout


def test_ceiling_compares_unrounded_values(m: Models) -> None:
    """A ceiling equal to the value holds; one a single float step below fails, and the message
    prints enough digits to tell the two apart."""
    doc = json.loads(m.baseline.read_text())
    value = doc["results"][0]["value"]
    assert check(m, "base", "--loss", "ce", "--max", f"ce={value!r}").exit_code == 0
    below = float(np.nextafter(value, 0))
    code, report = check_json(m, "base", "--loss", "ce", "--max", f"ce={below!r}")
    assert code == 1
    rule = report["rules"][0]
    assert rule["value"] == value and rule["limit"] == below
    assert rule["margin"] == below - value < 0
    shown = re.fullmatch(r"ce = (\S+) > max (\S+)", rule["message"])
    assert shown is not None and shown.group(1) != shown.group(2)
    assert float(shown.group(1)) == value


def test_max_key_is_the_spec_as_written(m: Models) -> None:
    """The key is split at the last '=': a spec with parameters works as a key."""
    code, doc = check_json(m, "base", "--loss", "bce:pos_weight=2", "--max", "bce:pos_weight=2=0.9")
    assert code == 0
    assert doc["rules"][0]["loss"] == "bce:pos_weight=2"
    assert doc["rules"][0]["limit"] == 0.9


def test_losses_default_to_the_ones_the_rules_name(m: Models) -> None:
    code, doc = check_json(m, "base", "--max", "mse=0.5", "--max", "ce=0.5")
    assert code == 0
    assert [r["loss"] for r in doc["results"]] == ["mse", "ce"]
    assert doc["results"][0]["value"] == pytest.approx(m.mse("base").mean(), rel=1e-12)


# --------------------------------------------------------------------------- increases


@pytest.mark.parametrize(
    ("tolerance", "allowed_of", "passes"),
    [
        ("1%", lambda base: 0.01 * base, True),
        ("0.1%", lambda base: 0.001 * base, False),
        ("0.01", lambda base: 0.01, True),
        ("0.001", lambda base: 0.001, False),
    ],
)
def test_max_increase_relative_and_absolute(
    m: Models, tolerance: str, allowed_of: Any, passes: bool
) -> None:
    """tiny raises the log loss by about 0.00197 over base (0.41988)."""
    code, doc = check_json(
        m, "tiny", "--loss", "ce", "--baseline", m.baseline, "--max-increase", tolerance
    )
    rule = rules(doc)[("max_increase", "ce")]
    base, value = m.ce("base").mean(), m.ce("tiny").mean()
    assert rule["baseline"] == pytest.approx(base, rel=1e-12)
    assert rule["limit"] == pytest.approx(base + allowed_of(base), rel=1e-12)
    assert rule["increase"] == pytest.approx(value - base, rel=1e-9)
    assert rule["tolerance"] == tolerance
    assert rule["passed"] is passes
    assert code == (0 if passes else 1)


def test_a_loss_own_tolerance_beats_the_one_for_every_loss(m: Models) -> None:
    code, doc = check_json(
        m,
        "tiny",
        "--loss",
        "ce",
        "--loss",
        "mse",
        "--baseline",
        m.baseline,
        "--max-increase",
        "0.01%",
        "--max-increase",
        "ce=1%",
    )
    by = rules(doc)
    assert by[("max_increase", "ce")]["tolerance"] == "1%"
    assert by[("max_increase", "ce")]["passed"] is True
    assert by[("max_increase", "mse")]["tolerance"] == "0.01%"
    mse_rise = m.mse("tiny").mean() - m.mse("base").mean()
    expected = bool(mse_rise <= 0.0001 * m.mse("base").mean())
    assert by[("max_increase", "mse")]["passed"] is expected
    assert code == (0 if expected else 1)


def test_a_baseline_alone_allows_no_increase(m: Models) -> None:
    code, doc = check_json(m, "tiny", "--loss", "ce", "--baseline", m.baseline)
    assert code == 1
    assert doc["rules"][0]["tolerance"] == "0"
    code, doc = check_json(m, "better", "--loss", "ce", "--baseline", m.baseline)
    assert code == 0


def test_the_baseline_model_itself_passes_exactly(m: Models) -> None:
    """Same predictions, same code path: the increase is exactly zero, even with --significant."""
    for extra in ([], ["--significant"]):
        code, doc = check_json(
            m, "base", "--loss", "ce", "--loss", "mse", "--baseline", m.baseline, *extra
        )
        assert code == 0
        assert [r["increase"] for r in doc["rules"]] == [0.0, 0.0]
    code, doc = check_json(
        m, "base", "--loss", "ce", "--baseline-preds", m.path["base"], "--significant"
    )
    assert code == 0
    assert doc["rules"][0]["increase"] == 0.0


def test_baseline_preds_match_the_baseline_json(m: Models) -> None:
    _, from_json = check_json(m, "tiny", "--loss", "ce", "--loss", "mse", "--baseline", m.baseline)
    _, from_preds = check_json(
        m, "tiny", "--loss", "ce", "--loss", "mse", "--baseline-preds", m.path["base"]
    )
    assert [r["baseline"] for r in from_json["rules"]] == [
        r["baseline"] for r in from_preds["rules"]
    ]
    assert from_preds["inputs"]["baseline"] == str(m.path["base"])


def test_exit_zero_reports_without_failing(m: Models) -> None:
    result = check(m, "worse", "--loss", "ce", "--max", "ce=0.35", "--exit-zero")
    assert result.exit_code == 0
    assert "FAIL" in result.stdout
    assert "--exit-zero" in result.stderr


# --------------------------------------------------------------------------- significance


@pytest.mark.parametrize("baseline", ["json", "preds"])
def test_a_regression_within_the_noise_passes_only_with_significant(
    m: Models, baseline: str
) -> None:
    source = (
        ["--baseline", m.baseline] if baseline == "json" else ["--baseline-preds", m.path["base"]]
    )
    assert check(m, "tiny", "--loss", "ce", *source).exit_code == 1
    result = check(m, "tiny", "--loss", "ce", *source, "--significant")
    assert result.exit_code == 0, result.stderr
    assert re.search(r"ce\s+│.*│\s+no\s*$", result.stdout, re.MULTILINE)


@pytest.mark.parametrize("baseline", ["json", "preds"])
def test_a_real_regression_fails_with_and_without_significant(m: Models, baseline: str) -> None:
    source = (
        ["--baseline", m.baseline] if baseline == "json" else ["--baseline-preds", m.path["base"]]
    )
    assert check(m, "worse", "--loss", "ce", *source).exit_code == 1
    result = check(m, "worse", "--loss", "ce", *source, "--significant", "--max-increase", "5%")
    assert result.exit_code == 1
    assert "significant (95% CI of the increase" in result.stderr


def test_paired_test_is_scipy_ttest_rel(m: Models) -> None:
    _, doc = check_json(
        m, "tiny", "--loss", "ce", "--baseline-preds", m.path["base"], "--significant"
    )
    test = doc["rules"][0]["test"]
    new, old = m.ce("tiny"), m.ce("base")
    ref = stats.ttest_rel(new, old)
    ci = ref.confidence_interval(0.95)
    assert test["method"] == "paired t-test on per-sample losses"
    assert test["n"] == len(new) and test["df"] == len(new) - 1
    assert test["increase"] == pytest.approx(new.mean() - old.mean(), rel=1e-9)
    assert test["t"] == pytest.approx(ref.statistic, rel=1e-9)
    assert test["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert (test["ci_low"], test["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-8)
    assert test["significant"] is False


def test_paired_test_against_a_tolerance(m: Models) -> None:
    """H0: increase == allowed, i.e. ttest_rel on the differences shifted by the tolerance."""
    allowed = 0.001
    _, doc = check_json(
        m,
        "tiny",
        "--loss",
        "ce",
        "--baseline-preds",
        m.path["base"],
        "--significant",
        "--max-increase",
        str(allowed),
    )
    test = doc["rules"][0]["test"]
    ref = stats.ttest_rel(m.ce("tiny") - allowed, m.ce("base"))
    assert test["allowed"] == allowed
    assert test["t"] == pytest.approx(ref.statistic, rel=1e-9)
    assert test["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)


def test_two_sample_test_is_welch_from_the_stored_n_and_std(m: Models) -> None:
    _, doc = check_json(
        m, "worse", "--loss", "ce", "--loss", "mse", "--baseline", m.baseline, "--significant"
    )
    base = {r["loss"]: r for r in json.loads(m.baseline.read_text())["results"]}
    now = {r["loss"]: r for r in doc["results"]}
    for rule in doc["rules"]:
        test, b, c = rule["test"], base[rule["loss"]], now[rule["loss"]]
        ref = stats.ttest_ind_from_stats(
            c["value"], c["std"], c["n"], b["value"], b["std"], b["n"], equal_var=False
        )
        assert test["method"] == "Welch two-sample t-test from n and std"
        assert test["t"] == pytest.approx(ref.statistic, rel=1e-9)
        assert test["p_value"] == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
        assert test["significant"] is True
    # ... which is Welch's test on the per-sample losses themselves.
    ref = stats.ttest_ind(m.ce("worse"), m.ce("base"), equal_var=False)
    assert rules(doc)[("max_increase", "ce")]["test"]["t"] == pytest.approx(ref.statistic, rel=1e-9)


def test_relative_tolerance_under_significance(m: Models) -> None:
    """The tolerance is rel × baseline; the rule fails when the CI's low end exceeds it."""
    _, doc = check_json(
        m,
        "worse",
        "--loss",
        "ce",
        "--baseline-preds",
        m.path["base"],
        "--significant",
        "--max-increase",
        "50%",
    )
    rule = doc["rules"][0]
    allowed = 0.5 * m.ce("base").mean()
    assert rule["test"]["allowed"] == pytest.approx(allowed, rel=1e-12)
    assert rule["passed"] is not (rule["test"]["ci_low"] > allowed)
    ref = stats.ttest_rel(m.ce("worse") - allowed, m.ce("base"))
    assert rule["test"]["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)


def test_weighted_loss_paired_test_uses_the_linearised_ratio(tmp_path: Path) -> None:
    """CE with class weights is Σ w·ce / Σ w; its paired standard error, computed here from
    the per-sample terms: u_i = ((v_i - R w_i) - (v'_i - R' w_i)) / mean(w)."""
    rng = np.random.default_rng(7)
    n, classes = 300, 3
    y = rng.integers(0, classes, n)
    old = rng.normal(0, 1, (n, classes)) + 1.5 * np.eye(classes)[y]
    new = old + rng.normal(0, 0.5, (n, classes))
    weight = np.array([1.0, 2.0, 0.5])
    header = ",".join(f"c{i}" for i in range(classes))
    for name, z in (("old", old), ("new", new)):
        rows = "\n".join(",".join(repr(float(v)) for v in row) for row in z)
        (tmp_path / f"{name}.csv").write_text(f"{header}\n{rows}\n")
    (tmp_path / "labels.csv").write_text("y\n" + "\n".join(map(str, y)) + "\n")
    spec = "ce:weight=[1,2,0.5]"
    result = cli(
        [
            "check",
            tmp_path / "new.csv",
            tmp_path / "labels.csv",
            "--loss",
            spec,
            "--logits",
            "--baseline-preds",
            tmp_path / "old.csv",
            "--significant",
            "--max-increase",
            "100%",
            "--format",
            "json",
        ]
    )
    test = json_of(result)["rules"][0]["test"]

    def terms(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logp = z - z.max(axis=1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
        w = weight[y]
        return -w * logp[np.arange(n), y], w

    (v0, w), (v1, _) = terms(old), terms(new)
    r0, r1 = v0.sum() / w.sum(), v1.sum() / w.sum()
    u = ((v1 - r1 * w) - (v0 - r0 * w)) / w.mean()
    assert test["increase"] == pytest.approx(r1 - r0, rel=1e-9)
    assert test["se"] == pytest.approx(u.std(ddof=1) / math.sqrt(n), rel=1e-9)
    half = stats.t.ppf(0.975, n - 1) * test["se"]
    assert test["ci_low"] == pytest.approx(r1 - r0 - half, rel=1e-9)


# --------------------------------------------------------------------------- reports


def test_reports_are_written_before_the_failing_exit(m: Models) -> None:
    out = m.folder / "out"
    out.mkdir()
    result = check(
        m,
        "worse",
        "--loss",
        "ce",
        "--loss",
        "mse",
        "--max",
        "ce=0.35",
        "--baseline",
        m.baseline,
        "--max-increase",
        "1%",
        "-o",
        out / "r.json",
        "-o",
        out / "r.md",
        "-o",
        out / "r.xml",
        "-o",
        out / "r.txt",
    )
    assert result.exit_code == 1
    doc = json.loads((out / "r.json").read_text())
    assert doc["passed"] is False and len(doc["rules"]) == 3
    assert "| --- | --- | ---: | ---: | ---: | ---: | --- |" in (out / "r.md").read_text()
    suite = ET.parse(out / "r.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "3"
    text = (out / "r.txt").read_text()
    assert "FAIL" in text and "\x1b[" not in text


def test_json_report_lists_every_rule(m: Models) -> None:
    code, doc = check_json(
        m,
        "tiny",
        "--loss",
        "ce",
        "--loss",
        "mse",
        "--max",
        "ce=0.5",
        "--max",
        "mse=0.1",
        "--baseline",
        m.baseline,
        "--max-increase",
        "1%",
    )
    assert doc["schema_version"] == 1
    assert [(r["rule"], r["loss"]) for r in doc["rules"]] == [
        ("max", "ce"),
        ("max_increase", "ce"),
        ("max", "mse"),
        ("max_increase", "mse"),
    ]
    for r in doc["rules"]:
        assert set(r) >= {"value", "limit", "margin", "passed", "status", "message"}
        assert r["margin"] == pytest.approx(r["limit"] - r["value"], abs=1e-15)
        assert r["status"] == ("PASS" if r["passed"] else "FAIL")
    assert doc["passed"] is all(r["passed"] for r in doc["rules"])
    assert code == (0 if doc["passed"] else 1)


def test_junit_xml_has_a_case_per_rule_and_a_failure_per_failed_rule(m: Models) -> None:
    result = check(
        m,
        "worse",
        "--loss",
        "ce",
        "--loss",
        "mse",
        "--max",
        "ce=0.35",
        "--max",
        "mse=0.5",
        "--format",
        "junit",
    )
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("losscli.check.max", "ce"),
        ("losscli.check.max", "mse"),
    ]
    failure = cases[0].find("failure")
    assert failure is not None and "> max 0.35" in (failure.get("message") or "")
    assert cases[1].find("failure") is None


def test_markdown_report_is_a_table_with_right_aligned_numbers(m: Models) -> None:
    result = check(
        m,
        "tiny",
        "--loss",
        "ce",
        "--baseline-preds",
        m.path["base"],
        "--significant",
        "--format",
        "markdown",
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("### ✅ losscli check: PASSED")
    i = lines.index("| loss | rule | value | limit | margin | MDE (80%) | result |")
    assert lines[i + 1] == "| --- | --- | ---: | ---: | ---: | ---: | --- |"
    assert lines[i + 2].startswith("| `ce` | baseline ")
    assert (
        "| loss | baseline | increase | 95% CI of the increase | p | p (Holm) | significant |"
        in lines
    )


def test_github_step_summary_is_appended(m: Models) -> None:
    summary = m.folder / "summary.md"
    summary.write_text("earlier step\n")
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    assert check(m, "better", "--loss", "ce", "--max", "ce=0.35", env=env).exit_code == 0
    assert check(m, "worse", "--loss", "ce", "--max", "ce=0.35", env=env).exit_code == 1
    text = summary.read_text()
    assert text.startswith("earlier step\n")
    assert text.count("losscli check:") == 2
    assert "### ✅ losscli check: PASSED" in text and "### ❌ losscli check: FAILED" in text


def test_no_colour_when_not_a_terminal(m: Models) -> None:
    env = {"TERM": "xterm-256color", "NO_COLOR": None, "COLORTERM": "truecolor"}
    result = check(m, "worse", "--loss", "ce", "--max", "ce=0.35", env=env)
    assert result.exit_code == 1
    assert "\x1b[" not in result.stdout and "\x1b[" not in result.stderr


@pytest.mark.parametrize("which", ["preds", "labels"])
def test_standard_input(m: Models, which: str) -> None:
    preds, labels = m.path["worse"], m.path["labels"]
    data = (preds if which == "preds" else labels).read_bytes()
    args = [
        "check",
        "-" if which == "preds" else preds,
        "-" if which == "labels" else labels,
        f"--{which}-format",
        "csv",
        "--loss",
        "ce",
        "--max",
        "ce=1",
        "--format",
        "json",
    ]
    result = cli(args, input=data)
    assert result.exit_code == 0, result.stderr
    doc = json_of(result)
    assert doc["inputs"]["predictions" if which == "preds" else "labels"] == "<stdin>"
    assert doc["results"][0]["value"] == pytest.approx(m.ce("worse").mean(), rel=1e-12)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--loss", "ce"], r"nothing to check"),
        (["--loss", "ce", "--max", "mse=1"], r"--max names 'mse', which is not among the losses"),
        (["--loss", "ce", "--max", "ce"], r"expected SPEC=VALUE"),
        (["--loss", "ce", "--max", "ce=high"], r"expected a number, got 'high'"),
        (["--loss", "ce", "--max-increase", "2%"], r"--max-increase needs --baseline"),
        (["--loss", "ce", "--max", "ce=1", "--significant"], r"--significant judges an increase"),
        (["--loss", "ce", "--max", "ce=1", "-o", "report.pdf"], r"cannot tell the format"),
        (["--loss", "cee", "--max", "cee=1"], r"unknown loss 'cee'"),
        (["--loss", "ce", "--max", "ce=1", "--logits", "--probs"], r"contradict"),
    ],
)
def test_usage_errors_exit_2(m: Models, args: list[str], message: str) -> None:
    result = check(m, "base", *args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert re.search(message, result.stderr)


def test_usage_errors_about_baselines_and_stdin(m: Models) -> None:
    both = check(
        m, "base", "--loss", "ce", "--baseline", m.baseline, "--baseline-preds", m.path["base"]
    )
    assert both.exit_code == 2 and "not both" in both.stderr
    bad = check(m, "base", "--loss", "ce", "--baseline", m.baseline, "--max-increase", "x%")
    assert bad.exit_code == 2 and "expected a number" in bad.stderr
    twice = cli(["check", "-", "-", "--loss", "ce", "--max", "ce=1", "--preds-format", "csv"])
    assert twice.exit_code == 2 and "only one input" in twice.stderr
    unnamed = cli(["check", "-", m.path["labels"], "--loss", "ce", "--max", "ce=1"], input="")
    assert unnamed.exit_code == 2 and "needs --preds-format" in unnamed.stderr


def test_input_errors_exit_3(m: Models) -> None:
    missing = cli(
        ["check", m.folder / "nope.csv", m.path["labels"], "--loss", "ce", "--max", "ce=1"]
    )
    assert missing.exit_code == 3 and "no such file" in missing.stderr
    gone = check(m, "base", "--loss", "ce", "--baseline", m.folder / "gone.json")
    assert gone.exit_code == 3 and "no such file" in gone.stderr
    (m.folder / "text.json").write_text("not json")
    text = check(m, "base", "--loss", "ce", "--baseline", m.folder / "text.json")
    assert text.exit_code == 3 and "not a JSON file" in text.stderr
    (m.folder / "other.json").write_text('{"rows": []}')
    other = check(m, "base", "--loss", "ce", "--baseline", m.folder / "other.json")
    assert other.exit_code == 3 and "not a losscli JSON report" in other.stderr
    lacking = check(m, "base", "--loss", "mae", "--baseline", m.baseline)
    assert lacking.exit_code == 3
    assert "has no result for 'mae' (it has: ce, mse)" in lacking.stderr


# --------------------------------------------------------------------------- the README


def _readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## CI: `check` and `compare`")
    return text[start : text.index("\n## ", start + 1)]


def _readme_commands() -> tuple[list[str], list[str]]:
    """The README's baseline command (console block) and the workflow's check command."""
    section = _readme_section()
    console = re.findall(r"```console\n(.*?)```", section, re.DOTALL)
    baseline = next(
        line[2:]
        for block in console
        for line in block.splitlines()
        if line.startswith("$ losscli compute")
    )
    workflow = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert workflow is not None
    script = workflow.group(1).replace("\\\n", " ")
    check_line = next(
        line.strip() for line in script.splitlines() if line.strip().startswith("losscli check")
    )
    return shlex.split(baseline), shlex.split(check_line)


def test_ci_scenario_from_the_readme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Baseline by compute as the README says; a better model passes; a worse one fails with
    exit 1 and a JUnit report; a regression within the noise passes (--significant)."""
    baseline_cmd, check_cmd = _readme_commands()
    assert baseline_cmd[0] == check_cmd[0] == "losscli"
    redirect = baseline_cmd.index(">")
    out = tmp_path / baseline_cmd[redirect + 1]
    write_models(tmp_path / "models")
    monkeypatch.chdir(tmp_path)
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    (eval_dir / "labels.csv").write_bytes((tmp_path / "models" / "labels.csv").read_bytes())

    def use(model: str) -> None:
        (eval_dir / "preds.csv").write_bytes((tmp_path / "models" / f"{model}.csv").read_bytes())

    use("base")
    made = cli(baseline_cmd[1:redirect])
    assert made.exit_code == 0, made.stderr
    out.write_text(made.stdout)
    report = tmp_path / check_cmd[check_cmd.index("-o") + 1]
    for model, code in (("better", 0), ("tiny", 0), ("worse", 1)):
        use(model)
        report.unlink(missing_ok=True)
        result = cli(check_cmd[1:])
        assert result.exit_code == code, (model, result.stdout, result.stderr)
        suite = ET.parse(report).getroot().find("testsuite")
        assert suite is not None
        assert (suite.get("failures") != "0") is (code == 1)
