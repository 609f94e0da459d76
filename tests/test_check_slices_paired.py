"""``check --baseline-preds OLD --group-by COL``: every slice gated by the paired test.

The expected numbers are recomputed here, independently of losscli: per-sample losses with
NumPy from the probabilities (cross-entropy −log p_y, Brier Σ_k (p_k − [k = y])²), their slice
means checked against scikit-learn 1.9.1's ``log_loss`` and ``brier_score_loss`` per slice
(a pandas group-by), the paired test of each (slice, loss) with ``scipy.stats.ttest_rel``
(``ttest_1samp`` of the differences against the allowed increase when it is not 0), Holm's
adjustment across every (slice, loss) by its definition, and each rule's MDE as
(t₀.₉₇₅ + t₀.₈)·SE with SciPy's t quantiles. The data are sample_data/tickets_*: v2 is
better overall but worse on German tickets (lang=de: 145 rows, en 344, fr 111).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE, schema_errors
from scipy import stats
from sklearn.metrics import brier_score_loss, log_loss
from stat_oracles import holm

ENTRY_POINT = Path(sys.executable).parent / "losscli"
OLD = SAMPLE / "tickets_probs_v1.csv"
NEW = SAMPLE / "tickets_probs_v2.csv"
LABELS = SAMPLE / "tickets_labels.csv"
PAIRED = ["check", NEW, LABELS, "--baseline-preds", OLD, "--group-by", "lang"]


def mde(se: float, df: float) -> float:
    """The minimum detectable effect of a two-sided 5% t-test at 80% power (SciPy quantiles)."""
    return float((stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)) * se)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """One row per ticket: its slice and each model's per-sample ce and brier (NumPy)."""
    labels = pd.read_csv(LABELS)
    out = pd.DataFrame({"lang": labels["lang"]})
    for name, path in (("old", OLD), ("new", NEW)):
        probs = pd.read_csv(path)
        onehot = labels["intent"].to_numpy()[:, None] == np.array(probs.columns)[None, :]
        p = probs.to_numpy(float)
        out[f"{name}_ce"] = -np.log(p[onehot])
        out[f"{name}_brier"] = ((p - onehot) ** 2).sum(axis=1)
    return out


def test_per_slice_means_are_scikit_learn_s(frame: pd.DataFrame) -> None:
    """The NumPy per-sample losses the oracle uses average to scikit-learn's per slice."""
    labels, classes = pd.read_csv(LABELS), ["billing", "bug", "other"]
    probs = pd.read_csv(OLD).to_numpy(float)
    with warnings.catch_warnings():  # the files' rows sum to 1 within 6 printed decimals
        warnings.simplefilter("ignore", UserWarning)
        for lang, g in frame.groupby("lang"):
            mask = (labels["lang"] == lang).to_numpy()
            y = labels["intent"][mask]
            assert g["old_ce"].mean() == pytest.approx(
                log_loss(y, probs[mask], labels=classes), rel=1e-12
            )
            assert g["old_brier"].mean() == pytest.approx(
                brier_score_loss(y, probs[mask], labels=classes), rel=1e-12
            )


def _rules(out: Any) -> dict[str, dict[str, Any]]:
    doc = json.loads(out.stdout)
    assert schema_errors("check", doc) == []
    return {r["loss"]: r for r in doc["rules"]}


@pytest.mark.parametrize("allowed", ["0", "2%"])
def test_every_slice_is_gated_by_the_paired_test_with_holm(
    frame: pd.DataFrame, run_cli: Any, allowed: str
) -> None:
    args = [*PAIRED, "-l", "ce", "-l", "brier", "--max-increase", allowed, "--significant"]
    out = run_cli([*args, "-f", "json"])
    assert out.exit_code == 1, out.output
    rules = _rules(out)
    tested, expected_p = [], []
    for lang, loss in [(lang, loss) for lang in ("de", "en", "fr") for loss in ("ce", "brier")]:
        g = frame[frame["lang"] == lang]
        old, new = g[f"old_{loss}"].to_numpy(), g[f"new_{loss}"].to_numpy()
        d, n = new - old, len(g)
        rule = rules[f"{loss} [lang={lang}]"]
        assert rule["rule"] == "max_increase" and rule["slice"] == {"lang": lang}
        assert rule["value"] == pytest.approx(new.mean(), rel=1e-12)
        assert rule["baseline"] == pytest.approx(old.mean(), rel=1e-12)
        bound = old.mean() * 0.02 if allowed == "2%" else 0.0
        assert rule["limit"] == pytest.approx(old.mean() + bound, rel=1e-12)
        test = rule["test"]
        se = d.std(ddof=1) / math.sqrt(n)
        half = stats.t.ppf(0.975, n - 1) * se
        assert test["n"] == n and test["df"] == n - 1
        assert test["increase"] == pytest.approx(d.mean(), rel=1e-9)
        assert test["ci_low"] == pytest.approx(d.mean() - half, rel=1e-9)
        assert test["ci_high"] == pytest.approx(d.mean() + half, rel=1e-9)
        # H0: the increase is the allowed one (ttest_rel when that is 0).
        p = (
            stats.ttest_rel(new, old).pvalue
            if allowed == "0"
            else stats.ttest_1samp(d, bound).pvalue
        )
        assert test["p_value"] == pytest.approx(p, rel=1e-6, abs=1e-300)
        assert rule["mde"] == pytest.approx(mde(se, n - 1), rel=1e-9)
        significant = d.mean() - half > bound
        tested.append((rule, significant))
        expected_p.append(float(p))
    for (rule, significant), p_holm in zip(tested, holm(expected_p), strict=True):
        assert rule["test"]["p_holm"] == pytest.approx(p_holm, rel=1e-6, abs=1e-300)
        assert rule["test"]["significant"] == (significant and p_holm < 0.05)
        assert rule["passed"] == (not rule["test"]["significant"])
    assert not rules["ce [lang=de]"]["passed"] and not rules["brier [lang=de]"]["passed"]
    assert rules["ce [lang=en]"]["passed"] and rules["ce [lang=fr]"]["passed"]
    assert rules["ce"]["passed"] and "slice" not in rules["ce"]  # overall: v2 is better
    assert "ce [lang=de] = 1.18222 vs baseline 0.482826" in out.stderr
    assert "paired t-test on per-sample losses" in out.stderr


def test_without_significant_the_value_gates_and_the_mde_is_the_paired_one(
    frame: pd.DataFrame, run_cli: Any
) -> None:
    out = run_cli([*PAIRED, "-l", "ce", "--max-increase", "0.01", "-f", "json"])
    assert out.exit_code == 1
    rules = _rules(out)
    for lang, g in frame.groupby("lang"):
        rule = rules[f"ce [lang={lang}]"]
        d = (g["new_ce"] - g["old_ce"]).to_numpy()
        assert rule["test"] is None
        assert rule["passed"] == (g["new_ce"].mean() <= g["old_ce"].mean() + 0.01)
        assert rule["mde"] == pytest.approx(
            mde(d.std(ddof=1) / math.sqrt(len(d)), len(d) - 1), rel=1e-9
        )
    assert [k for k, r in rules.items() if not r["passed"]] == ["ce [lang=de]"]


def test_slice_max_rows_get_the_slice_s_own_mde(frame: pd.DataFrame, run_cli: Any) -> None:
    """A ceiling's MDE per slice, as the overall row's: (t₀.₉₇₅ + t₀.₈)(n − 1)·std/√n."""
    args = ["check", NEW, LABELS, "-l", "ce", "--group-by", "lang", "--slice-max", "ce=0.6"]
    out = run_cli([*args, "--max", "ce=0.5", "-f", "json"])
    assert out.exit_code == 1
    rules = _rules(out)
    for lang, g in frame.groupby("lang"):
        x = g["new_ce"].to_numpy()
        rule = rules[f"ce [lang={lang}]"]
        assert rule["rule"] == "slice_max"
        assert rule["mde"] == pytest.approx(mde(x.std(ddof=1) / math.sqrt(len(x)), len(x) - 1))
    x = frame["new_ce"].to_numpy()
    assert rules["ce"]["mde"] == pytest.approx(mde(x.std(ddof=1) / math.sqrt(len(x)), len(x) - 1))


def test_a_baseline_json_s_slices_get_welch_s_mde(
    frame: pd.DataFrame, run_cli: Any, write: Any
) -> None:
    """With a baseline JSON the per-slice MDE is Welch's: SE² = s_A²/n_A + s_B²/n_B on the
    Welch–Satterthwaite df (SciPy's ``ttest_ind(..., equal_var=False).df``)."""
    made = run_cli(["compute", OLD, LABELS, "-l", "ce", "--group-by", "lang", "-f", "json"])
    base = write("base.json", made.stdout)
    args = ["check", NEW, LABELS, "-l", "ce", "--group-by", "lang", "--baseline", base]
    out = run_cli([*args, "--max-increase", "200%", "-f", "json"])
    assert out.exit_code == 0, out.output
    rules = _rules(out)
    for lang, g in frame.groupby("lang"):
        a, b = g["old_ce"].to_numpy(), g["new_ce"].to_numpy()
        se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        df = stats.ttest_ind(b, a, equal_var=False).df
        assert rules[f"ce [lang={lang}]"]["mde"] == pytest.approx(mde(se, df), rel=1e-9)


def test_small_slices_are_reported_not_gated(run_cli: Any) -> None:
    args = [*PAIRED, "-l", "ce", "--max-increase", "2%", "--min-slice-size", "146", "-f", "json"]
    out = run_cli(args)
    assert out.exit_code == 0, out.output  # de (145) and fr (111) are under 146
    doc = json.loads(out.stdout)
    assert [r["loss"] for r in doc["rules"]] == ["ce", "ce [lang=en]"]
    assert any("slice lang=de (145 rows) is under --min-slice-size" in w for w in doc["warnings"])
    assert any("slice lang=fr (111 rows)" in w for w in doc["warnings"])
    assert "slice lang=de (145 rows) is under --min-slice-size" in out.stderr


def test_streamed_in_small_chunks_and_resampled_tests_give_the_same_verdicts(
    run_cli: Any,
) -> None:
    """The per-slice paired statistics merge chunk by chunk: 7-row chunks give the numbers of
    one chunk (the moments to rounding, the resampled sums exactly)."""
    args = [*PAIRED, "-l", "ce", "--max-increase", "2%", "--significant", "-f", "json"]
    whole = _rules(run_cli(args))
    small = _rules(run_cli([*args, "--chunk-rows", "7"]))
    for loss, rule in whole.items():
        assert small[loss]["test"]["p_value"] == pytest.approx(rule["test"]["p_value"], rel=1e-9)
        assert small[loss]["mde"] == pytest.approx(rule["mde"], rel=1e-9)
    for test in ("bootstrap", "permutation"):
        resampled = [*args, "--test", test, "--bootstrap-samples", "200"]
        a, b = _rules(run_cli(resampled)), _rules(run_cli([*resampled, "--chunk-rows", "7"]))
        assert [k for k, r in a.items() if not r["passed"]] == ["ce [lang=de]"]
        assert {k: r["test"]["p_value"] for k, r in a.items()} == {
            k: r["test"]["p_value"] for k, r in b.items()
        }


def test_every_format_names_the_failing_slice(run_cli: Any, tmp_path: Path) -> None:
    args = [*PAIRED, "-l", "ce", "--max-increase", "2%", "--significant"]
    table = run_cli(args)
    assert table.exit_code == 1
    assert "ce [lang=de] │ baseline 0.482826 + 2%" in table.stdout
    assert "Increases tested for significance (paired t-test" in table.stdout
    md = run_cli([*args, "-f", "markdown"])
    assert "| `ce [lang=de]` | baseline 0.482826 + 2% |" in md.stdout
    junit = ET.fromstring(run_cli([*args, "-f", "junit"]).stdout)
    cases = {c.get("name"): c for c in junit.iter("testcase")}
    assert set(cases) == {"ce", "ce [lang=de]", "ce [lang=en]", "ce [lang=fr]"}
    assert cases["ce [lang=de]"].find("failure") is not None
    assert cases["ce [lang=en]"].find("failure") is None


# --------------------------------------------------------------------------- escaping

NASTY = ["a|b", "<i>x</i>", "@team", "`t`:%"]


@pytest.fixture
def nasty(write: Any) -> dict[str, Path]:
    """Slices named with Markdown, HTML and mention syntax; the last one regresses."""
    langs = [v for v in NASTY for _ in range(6)]
    labels = write("labels.csv", {"y": [0.0] * 24, "lang": langs})
    old = write("old.csv", {"p": [0.5, -0.5] * 12})
    new = write("new.csv", {"p": [0.1, -0.1] * 9 + [0.9, -0.9] * 3})
    return {"labels": labels, "old": old, "new": new}


def _nasty_args(f: dict[str, Path]) -> list[Any]:
    pair = ["--baseline-preds", f["old"], "-l", "mse", "--group-by", "lang"]
    return ["check", f["new"], f["labels"], *pair, "--max-increase", "0.01"]


def test_slice_values_are_escaped_in_every_format(nasty: dict[str, Path], run_cli: Any) -> None:
    args = _nasty_args(nasty)
    md = run_cli([*args, "-f", "markdown"]).stdout
    rows = [line for line in md.splitlines() if line.startswith("| `") and "mse [" in line]
    assert len(rows) == 4
    for row in rows:  # 7 cells each: no | from a slice value splits a row
        assert len(row.replace("\\|", "").split("|")[1:-1]) == 7, row
    assert "<i>" not in md.replace("`mse [lang=<i>x</i>]`", "")  # only inside code spans
    assert "| ``mse [lang=`t`:%]`` |" in md and "| `mse [lang=a\\|b]` |" in md
    assert "- ❌ mse \\[lang=\\`t\\`:%\\] = 0.81" in md  # the failure line: escaped text
    junit = run_cli([*args, "-f", "junit"]).stdout
    names = {c.get("name") for c in ET.fromstring(junit).iter("testcase")}
    assert names == {"mse", *(f"mse [lang={v}]" for v in NASTY)}
    html = run_cli([*args, "-f", "html"]).stdout
    assert "<i>x</i>" not in html and "&lt;i&gt;x&lt;/i&gt;" in html
    annotated = run_cli(args, env={"GITHUB_ACTIONS": "true"})
    assert annotated.exit_code == 1
    (line,) = [x for x in annotated.stderr.splitlines() if x.startswith("::error title=")]
    assert line.startswith("::error title=losscli check%3A max_increase mse [lang=`t`%3A%25]::")
    assert "::mse [lang=`t`:%25] = 0.81 vs baseline 0.25" in line


def test_json_keeps_the_slice_values_as_they_are(nasty: dict[str, Path], run_cli: Any) -> None:
    rules = _rules(run_cli([*_nasty_args(nasty), "-f", "json"]))
    shown = [r["slice"]["lang"] for r in rules.values() if "slice" in r]
    assert shown[0] == "`t`:%" and sorted(shown) == sorted(NASTY)  # worst slice first


# --------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize(
    ("extra", "code", "needle"),
    [
        (["--max-increase", "200%"], 0, "PASSED"),
        (["--max-increase", "2%"], 1, "ce [lang=de]"),
        (["--max-increase", "2%", "--baseline", LABELS], 2, "not both"),
        (["--max-increase", "2%", "--engine", "dask"], 2, "--engine local"),
        (["--max-increase", "2%", "--group-by", "nosuch"], 2, "no column 'nosuch'"),
        (["--max-increase", "2%", "--meta", SAMPLE / "nope.csv"], 3, "nope.csv"),
    ],
)
def test_exit_codes(run_cli: Any, extra: list[Any], code: int, needle: str) -> None:
    out = run_cli([*PAIRED, "-l", "ce", *extra])
    assert out.exit_code == code, out.output
    assert needle in (out.stdout if code == 0 else out.stderr)
    if code >= 2:
        assert out.stdout == ""


def test_a_one_row_slice_cannot_be_tested(write: Any, run_cli: Any) -> None:
    labels = write("labels.csv", {"y": [0.0] * 5, "g": ["a"] * 4 + ["b"]})
    old = write("old.csv", {"p": [0.5, -0.5, 0.4, -0.4, 0.3]})
    new = write("new.csv", {"p": [0.1, -0.1, 0.2, -0.2, 0.3]})
    args = ["check", new, labels, "--baseline-preds", old, "-l", "mse", "--group-by", "g"]
    out = run_cli([*args, "--significant"])
    assert out.exit_code == 3
    assert "mse [g=b]: the slice has fewer than 2 rows" in out.stderr
    assert out.stdout == ""


def test_the_installed_entry_point_fails_on_the_regressed_slice(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    cmd = [ENTRY_POINT, *PAIRED, "-l", "ce", "--max-increase", "2%", "--significant"]
    proc = subprocess.run(
        [str(a) for a in [*cmd, "-o", report]], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1, proc.stderr
    assert "✗ ce [lang=de]" in proc.stdout
    assert "check failed: 1 of 4 rules failed: ce [lang=de]" in proc.stderr
    assert {c.get("name") for c in ET.parse(report).iter("testcase")} == {
        "ce",
        "ce [lang=de]",
        "ce [lang=en]",
        "ce [lang=fr]",
    }
    hidden = [*cmd, "--min-slice-size", "146"]
    ok = subprocess.run([str(a) for a in hidden], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "slice lang=de (145 rows) is under --min-slice-size: not checked" in ok.stderr
    bad = [str(a) for a in [*cmd, "--baseline", LABELS]]
    usage = subprocess.run(bad, capture_output=True, text=True, check=False)
    assert usage.returncode == 2 and usage.stdout == ""


def test_the_same_gate_from_the_config_file(run_cli: Any, write: Any) -> None:
    """``baseline_preds``, ``group_by``, ``min_slice_size`` and ``max_increase`` in
    losscli.toml give the command line's verdict (paths relative to the file)."""
    config = write(
        "losscli.toml",
        f'preds = "{NEW}"\nlabels = "{LABELS}"\nbaseline_preds = "{OLD}"\nloss = ["ce"]\n'
        'group_by = ["lang"]\nmin_slice_size = 120\nmax_increase = "2%"\nsignificant = true\n',
    )
    out = run_cli(["check", "--config", config, "-f", "json"])
    assert out.exit_code == 1, out.output
    rules = _rules(out)
    assert list(rules) == ["ce", "ce [lang=de]", "ce [lang=en]"]  # fr (111) is under 120
    assert [k for k, r in rules.items() if not r["passed"]] == ["ce [lang=de]"]


def test_models_whose_files_disagree_on_a_sample_s_slice_exit_3(write: Any, run_cli: Any) -> None:
    """A group column read from each predictions file must name the same slice for both
    models (row 12 is fr in the old file, it in the new one); LABELS or --meta cannot differ."""
    labels = write("labels.csv", {"y": [0.0] * 18})
    old = write("old.csv", {"p": [0.5, -0.5] * 9, "lang": ["en"] * 6 + ["de"] * 6 + ["fr"] * 6})
    new = write("new.csv", {"p": [0.1, -0.1] * 9, "lang": ["en"] * 6 + ["de"] * 6 + ["it"] * 6})
    args = ["check", new, labels, "--baseline-preds", old, "-l", "mse", "--group-by", "lang"]
    out = run_cli(args)
    assert out.exit_code == 3, out.output
    assert "sample 12 is in slice lang=fr by the first model's file but in lang=it" in out.stderr
    assert out.stdout == ""
    compared = run_cli(["compare", old, new, "--labels", labels, "-l", "mse", "--group-by", "lang"])
    assert compared.exit_code == 3 and "lang=it" in compared.stderr
