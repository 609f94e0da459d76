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
