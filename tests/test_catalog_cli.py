"""The losses of issue 14 from the command line: CliRunner and the installed entry point.

Expected numbers and where they come from:
- Brier on the article's example (sample_data/seed_*.csv): REFERENCES.md, "Facts for the
  calibration losses": scikit-learn 1.9.1 ``brier_score_loss`` gives the MSE, 0.1366666667;
  with ``scale_by_half=False`` twice that.
- multilabel_margin on torch's documentation example: x = [[0.1, 0.2, 0.4, 0.8]], target
  [[3, 0, -1, 1]] gives 0.85 (torch 2.13.0 ``multilabel_margin_loss``; also worked by hand:
  targets {0, 3}, others {1, 2}: (1.1 + 1.3 + 0.4 + 0.6) / 4 = 0.85).
- kl:log_target=true: REFERENCES.md's KL example, torch ``kl_div(log q, p, 'batchmean')``
  0.1356988476, here with the labels given as log p.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CLI_ENV, ROOT, SAMPLE
from typer.testing import Result

RunCli = Callable[..., Result]
Write = Callable[..., Path]

SEED = [SAMPLE / "seed_preds.csv", SAMPLE / "seed_labels.csv"]
SEED_BRIER = 0.1366666667  # REFERENCES.md: sklearn brier_score_loss on the article's example
ENTRY_POINT = Path(sys.executable).parent / "losscli"


def process(*args: Any) -> subprocess.CompletedProcess[str]:
    import os

    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    return subprocess.run(
        [str(ENTRY_POINT), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


def json_values(stdout: str) -> dict[str, float]:
    return {r["loss"]: r["value"] for r in json.loads(stdout)["results"]}


def test_brier_on_the_article_example(run_cli: RunCli) -> None:
    args = ["compute", *SEED, "--loss", "brier", "--loss", "brier:scale_by_half=false"]
    result = run_cli([*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    got = json_values(result.stdout)
    assert got["brier"] == pytest.approx(SEED_BRIER, abs=5e-11)
    assert got["brier:scale_by_half=false"] == pytest.approx(2 * SEED_BRIER, abs=1e-10)


def test_brier_through_the_entry_point() -> None:
    proc = process("compute", *SEED, "--loss", "brier", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert json_values(proc.stdout)["brier"] == pytest.approx(SEED_BRIER, abs=5e-11)


def deviance_files(write: Write) -> list[Path]:
    # The second row's prediction (row 1, counted from 0) is 0: outside every Poisson and
    # Gamma domain (scikit-learn requires ŷ > 0).
    return [
        write("preds.csv", {"y_hat": [1.5, 0.0, 2.0, 3.0]}),
        write("labels.csv", {"y": [1.0, 2.0, 0.5, 4.0]}),
    ]


@pytest.mark.parametrize("spec", ["poisson_deviance", "gamma_deviance", "tweedie:power=1.5"])
def test_deviance_domain_error_exits_3_naming_the_row(
    run_cli: RunCli, write: Write, spec: str
) -> None:
    result = run_cli(["compute", *deviance_files(write), "--loss", spec])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "predictions > 0, got the prediction 0" in result.stderr
    assert "(row 1)" in result.stderr
    assert "Traceback" not in result.stderr


def test_deviance_domain_error_through_the_entry_point(write: Write) -> None:
    proc = process("compute", *deviance_files(write), "--loss", "gamma_deviance")
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert "(row 1)" in proc.stderr and "Traceback" not in proc.stderr


def test_tweedie_power_between_0_and_1_is_a_usage_error(run_cli: RunCli, write: Write) -> None:
    result = run_cli(["compute", *deviance_files(write), "--loss", "tweedie:power=0.5"])
    assert result.exit_code == 2
    assert "power must be <= 0 or >= 1" in result.stderr


def test_tweedie_power_0_is_mse(run_cli: RunCli) -> None:
    # sklearn: mean_tweedie_deviance(power=0) is the squared error; REFERENCES.md MSE.
    result = run_cli(["compute", *SEED, "--loss", "tweedie:power=0", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert json_values(result.stdout)["tweedie:power=0"] == pytest.approx(SEED_BRIER, abs=5e-11)


def test_multilabel_margin_reads_a_multi_hot_label_file(run_cli: RunCli, write: Write) -> None:
    preds = write("scores.csv", {"a": [0.1], "b": [0.2], "c": [0.4], "d": [0.8]})
    labels = write("targets.csv", {"a": [1], "b": [0], "c": [0], "d": [1]})
    result = run_cli(["compute", preds, labels, "--loss", "multilabel_margin", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert json_values(result.stdout)["multilabel_margin"] == pytest.approx(0.85, rel=1e-12)


def test_multilabel_margin_refuses_labels_other_than_0_and_1(run_cli: RunCli, write: Write) -> None:
    preds = write("scores.csv", {"a": [0.1, 0.3], "b": [0.2, 0.1]})
    labels = write("targets.csv", {"a": [1, 0], "b": [0, 2]})
    result = run_cli(["compute", preds, labels, "--loss", "multilabel_margin"])
    assert result.exit_code == 3
    assert "multi-hot matrix of 0 and 1, got 2" in result.stderr
    assert "(row 1)" in result.stderr


def test_bce_pos_weight_list_needs_one_value_per_column(run_cli: RunCli, write: Write) -> None:
    preds = write("p.csv", {"a": [0.5, -1.0], "b": [1.0, 0.2], "c": [0.0, 2.0]})
    labels = write("y.csv", {"a": [1, 0], "b": [0, 1], "c": [1, 1]})
    ok = run_cli(["compute", preds, labels, "--logits", "--loss", "bce:pos_weight=[1,2,3]"])
    assert ok.exit_code == 0, ok.stderr
    bad = run_cli(["compute", preds, labels, "--logits", "--loss", "bce:pos_weight=[1,2]"])
    assert bad.exit_code == 2
    assert "pos_weight has 2 values but the predictions have 3 column(s)" in bad.stderr


def test_kl_log_target_reads_log_probability_labels(run_cli: RunCli, write: Write) -> None:
    p = [[0.36, 0.48, 0.16], [0.2, 0.3, 0.5]]
    q = [[1 / 3, 1 / 3, 1 / 3], [0.1, 0.6, 0.3]]
    cols = ["a", "b", "c"]
    preds = write("q.csv", {c: [row[i] for row in q] for i, c in enumerate(cols)})
    log_p = {c: [repr(math.log(row[i])) for row in p] for i, c in enumerate(cols)}
    labels = write("log_p.csv", log_p)
    args = ["compute", preds, labels, "--probs", "--loss", "kl:log_target=true", "-f", "json"]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    assert json_values(result.stdout)["kl:log_target=true"] == pytest.approx(
        0.1356988476, abs=5e-11
    )
    # The same labels without log_target are not distributions: exit 3, not a wrong number.
    plain = run_cli(["compute", preds, labels, "--probs", "--loss", "kl"])
    assert plain.exit_code == 3
    assert "soft labels must be >= 0" in plain.stderr


# --------------------------------------------------------------------------- ece / mce
# TorchMetrics' docstring example (binary_calibration_error, n_bins=2: l1 0.2900, max 0.3167),
# worked by hand: bin [0, 0.5) holds 0.25, 0.25 (labels 0, 0): confidence 0.25, accuracy 0,
# gap 0.25; bin [0.5, 1) holds 0.55, 0.75, 0.75 (labels 1): confidence 2.05/3, accuracy 1,
# gap 0.95/3. ECE = 2/5·0.25 + 3/5·0.95/3 = 0.29; MCE = 0.95/3. With 15 bins the three
# groups fall in three bins with gaps 0.25, 0.45, 0.25: ECE = (0.5 + 0.45 + 0.5)/5 = 0.29.
CAL_P = [0.25, 0.25, 0.55, 0.75, 0.75]
CAL_Y = [0, 0, 1, 1, 1]


def calibration_files(write: Write) -> list[Path]:
    return [write("p.csv", {"p": CAL_P}), write("y.csv", {"y": CAL_Y})]


def test_ece_and_mce_json_carry_the_bins(run_cli: RunCli, write: Write) -> None:
    args = ["compute", *calibration_files(write), "-l", "ece:bins=2", "-l", "mce:bins=2"]
    result = run_cli([*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    ece, mce = json.loads(result.stdout)["results"]
    assert ece["value"] == pytest.approx(0.29, rel=1e-12)
    assert mce["value"] == pytest.approx(0.95 / 3, rel=1e-12)
    assert [b["count"] for b in ece["bins"]] == [2, 3]
    assert [b["low"] for b in ece["bins"]] == [0.0, 0.5]
    assert ece["bins"][1]["accuracy"] == 1.0
    assert ece["bins"][1]["confidence"] == pytest.approx(2.05 / 3, rel=1e-12)
    assert ece["ci_low"] is None  # not a mean of samples: no interval


def test_calibration_prints_the_reliability_table(run_cli: RunCli, write: Write) -> None:
    result = run_cli(["compute", *calibration_files(write), "-l", "ece", "--calibration"])
    assert result.exit_code == 0, result.stderr
    assert "reliability: ece" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("│ [")]
    assert len(rows) == 15
    used = [r.split("│")[1:6] for r in rows if r.split("│")[2].strip() != "0"]
    assert [u[1].strip() for u in used] == ["2", "1", "2"]
    assert [u[4].strip() for u in used] == ["0.25", "0.45", "0.25"]


def test_calibration_through_the_entry_point(write: Write) -> None:
    proc = process("compute", *calibration_files(write), "-l", "ece:bins=2", "--calibration")
    assert proc.returncode == 0, proc.stderr
    assert "reliability: ece:bins=2" in proc.stdout
    assert "[0.5, 1)" in proc.stdout


def test_calibration_needs_a_calibration_loss(run_cli: RunCli, write: Write) -> None:
    result = run_cli(["compute", *calibration_files(write), "-l", "brier", "--calibration"])
    assert result.exit_code == 2
    assert "add --loss ece" in result.stderr


def test_ece_has_no_sum(run_cli: RunCli, write: Write) -> None:
    result = run_cli(["compute", *calibration_files(write), "-l", "ece", "--reduction", "sum"])
    assert result.exit_code == 2
    assert "computed from confidence bins and has no sum reduction" in result.stderr


def test_check_gates_on_ece(run_cli: RunCli, write: Write) -> None:
    files = calibration_files(write)
    failed = run_cli(["check", *files, "--loss", "ece", "--max", "ece=0.05"])
    assert failed.exit_code == 1, failed.stderr
    passed = run_cli(["check", *files, "--loss", "ece", "--max", "ece=0.3"])
    assert passed.exit_code == 0, passed.stderr
    proc = process("check", *files, "--loss", "ece", "--max", "ece=0.05")
    assert proc.returncode == 1
