"""``check`` per slice: ``--slice-max``, ``--max-increase`` per slice against a baseline JSON
that holds the same slices, one-sided slices as warnings, ``--significant`` with Holm across
every (slice, loss) test, and the same keys in ``[tool.losscli]``.

The data are written here: squared errors chosen by hand so that the overall MSE improves
from the baseline to the new model while the slice ``lang=de`` gets worse.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ENTRY_POINT = Path(sys.executable).parent / "losscli"
LANGS = ["en"] * 6 + ["de"] * 6 + ["fr"] * 6
# Errors per row (labels are 0): the baseline is 0.5 everywhere; the new model is 0.1 on
# en and fr and 0.7 on de. MSE by hand: baseline 0.25; new (12·0.01 + 6·0.49)/18 = 0.17;
# de: 0.25 -> 0.49 (an increase of 0.24), en and fr: 0.25 -> 0.01.
OLD = [0.5, -0.5] * 9
NEW = [0.1, -0.1] * 3 + [0.7, -0.7] * 3 + [0.1, -0.1] * 3


@pytest.fixture
def files(write: Any, run_cli: Any) -> dict[str, Path]:
    labels = write("labels.csv", {"y": [0.0] * 18})
    old = write("old.csv", {"p": OLD, "lang": LANGS})
    new = write("new.csv", {"p": NEW, "lang": LANGS})
    out = run_cli(["compute", old, labels, "-l", "mse", "--group-by", "lang", "-f", "json"])
    assert out.exit_code == 0, out.output
    base = write("base.json", out.stdout)
    return {"labels": labels, "old": old, "new": new, "base": base}


def test_a_regressing_slice_fails_although_the_overall_loss_improves(
    files: dict[str, Path], run_cli: Any
) -> None:
    args = ["check", files["new"], files["labels"], "-l", "mse", "--group-by", "lang"]
    out = run_cli([*args, "--baseline", files["base"], "-f", "json"])
    assert out.exit_code == 1
    doc = json.loads(out.stdout)
    by_loss = {r["loss"]: r for r in doc["rules"]}
    assert by_loss["mse"]["passed"] and by_loss["mse"]["value"] == pytest.approx(0.17)
    assert not by_loss["mse [lang=de]"]["passed"]
    assert by_loss["mse [lang=de]"]["increase"] == pytest.approx(0.24)
    assert by_loss["mse [lang=en]"]["passed"] and by_loss["mse [lang=fr]"]["passed"]
    assert "mse [lang=de] = 0.49 vs baseline 0.25" in out.stderr


def test_slice_max_is_a_ceiling_for_every_slice(files: dict[str, Path], run_cli: Any) -> None:
    args = ["check", files["new"], files["labels"], "-l", "mse", "--group-by", "lang"]
    out = run_cli([*args, "--slice-max", "mse=0.3"])
    assert out.exit_code == 1
    assert "slice max 0.3" in out.stdout
    assert "mse [lang=de] = 0.49 > max 0.3" in out.stderr
    ok = run_cli([*args, "--slice-max", "mse=0.5"])
    assert ok.exit_code == 0, ok.output


def test_a_slice_on_one_side_only_is_a_warning(
    files: dict[str, Path], write: Any, run_cli: Any
) -> None:
    langs = ["en"] * 6 + ["de"] * 6 + ["it"] * 6  # fr became it
    new = write("new_it.csv", {"p": NEW, "lang": langs})
    args = ["check", new, files["labels"], "-l", "mse", "--group-by", "lang", "-f", "json"]
    out = run_cli([*args, "--baseline", files["base"], "--max-increase", "0.3"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert {r["loss"] for r in doc["rules"]} == {"mse", "mse [lang=en]", "mse [lang=de]"}
    assert "slice lang=it is not in" in " ".join(doc["warnings"])
    assert "slice lang=fr is only in" in " ".join(doc["warnings"])


def test_significant_per_slice_reports_holm_adjusted_p_values(
    files: dict[str, Path], run_cli: Any
) -> None:
    args = ["check", files["new"], files["labels"], "-l", "mse", "--group-by", "lang"]
    out = run_cli([*args, "--baseline", files["base"], "--significant", "-f", "json"])
    doc = json.loads(out.stdout)
    tests = {r["loss"]: r["test"] for r in doc["rules"] if r["loss"].startswith("mse [")}
    assert set(tests) == {"mse [lang=en]", "mse [lang=de]", "mse [lang=fr]"}
    raw = sorted(t["p_value"] for t in tests.values())
    # Holm over three tests: the smallest p times 3, then times 2, then times 1, monotone.
    adjusted = sorted(t["p_holm"] for t in tests.values())
    expected = [min(1.0, 3 * raw[0]), min(1.0, max(3 * raw[0], 2 * raw[1]))]
    assert adjusted[:2] == pytest.approx(expected)
    # de's errors are constant in both runs (std 0): its rise of 0.24 is significant.
    assert tests["mse [lang=de]"]["significant"]
    assert out.exit_code == 1


def test_slice_settings_from_the_config_file(
    files: dict[str, Path], write: Any, run_cli: Any
) -> None:
    config = write(
        "losscli.toml",
        'loss = ["mse"]\ngroup_by = ["lang"]\nmin_slice_size = 2\n[slice_max]\nmse = 0.3\n',
    )
    out = run_cli(["check", files["new"], files["labels"], "--config", config])
    assert out.exit_code == 1
    assert "mse [lang=de]" in out.stderr


def test_slice_max_without_group_by_is_a_usage_error(files: dict[str, Path], run_cli: Any) -> None:
    out = run_cli(["check", files["new"], files["labels"], "-l", "mse", "--slice-max", "mse=1"])
    assert out.exit_code == 2
    assert "--slice-max needs --group-by" in out.stderr


def test_check_per_slice_through_the_installed_entry_point(files: dict[str, Path]) -> None:
    cmd = [ENTRY_POINT, "check", files["new"], files["labels"], "-l", "mse"]
    cmd += ["--group-by", "lang", "--baseline", files["base"]]
    proc = subprocess.run([str(a) for a in cmd], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "mse [lang=de]" in proc.stderr
    assert "check failed" in proc.stderr
