"""Decisions made from a file's head are checked on every later chunk.

losscli decides how to read the inputs from their first rows (readers.PEEK_ROWS of an array,
a 1 MiB block of a CSV) and streams the rest; a later row that contradicts a decision stops
the run with the same exit code and advice as if it had been in the head.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import Result

from losscli.io.readers import PEEK_ROWS

RunCli = Callable[..., Result]
N = PEEK_ROWS + 5_000  # rows beyond the head


def _binary(tmp_path: Path, late_pred: float | None, late_label: float | None) -> list[Path]:
    rng = np.random.default_rng(0)
    preds, labels = rng.uniform(0.05, 0.95, N), rng.integers(0, 2, N).astype(float)
    if late_pred is not None:
        preds[N - 10] = late_pred
    if late_label is not None:
        labels[N - 7] = late_label
    np.save(tmp_path / "p.npy", preds)
    np.save(tmp_path / "l.npy", labels)
    return [tmp_path / "p.npy", tmp_path / "l.npy"]


def test_a_late_logit_stops_the_automatic_probabilities(run_cli: RunCli, tmp_path: Path) -> None:
    files = _binary(tmp_path, late_pred=3.5, late_label=None)
    result = run_cli(["compute", *files, "--loss", "ce", "--chunk-rows", "10000"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"row {N - 10} holds 3.5, outside [0, 1]" in result.stderr
    assert "--logits" in result.stderr
    # Saying what they are settles it: the whole file read as logits.
    ok = run_cli(["compute", *files, "--loss", "ce", "--logits", "--format", "json"])
    assert ok.exit_code == 0, ok.stderr


def test_the_same_value_under_probs_is_a_data_error(run_cli: RunCli, tmp_path: Path) -> None:
    files = _binary(tmp_path, late_pred=3.5, late_label=None)
    result = run_cli(["compute", *files, "--loss", "ce", "--probs"])
    assert result.exit_code == 3
    assert f"row {N - 10} holds 3.5" in result.stderr


def test_a_late_third_label_value(run_cli: RunCli, tmp_path: Path) -> None:
    files = _binary(tmp_path, late_pred=None, late_label=2.0)
    result = run_cli(["compute", *files, "--loss", "ce"])
    assert result.exit_code == 3
    assert f"row {N - 7} holds another value" in result.stderr
    # Value losses read the labels as numbers and do not care.
    ok = run_cli(["compute", *files, "--loss", "mse", "--format", "json"])
    assert ok.exit_code == 0, ok.stderr
    preds, labels = np.load(files[0]), np.load(files[1])
    value = json.loads(ok.stdout)["results"][0]["value"]
    assert value == pytest.approx(np.mean((preds - labels) ** 2), rel=1e-12)
