"""Typed tasks: which loss takes which task is registry data (``LossDef.tasks``) that the
engine enforces before evaluating any row, the listing prints, and JSON names."""

from __future__ import annotations

import inspect
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_cli import ENTRY_POINT, run_process
from test_cli_errors import assert_cli_error

import losscli
from losscli.api import compute_files
from losscli.errors import UsageError
from losscli.interpret.plan import Options
from losscli.losses import LOSSES, REGISTRY, Target, Task, registry

# --------------------------------------------------------------------------- registry data


def test_every_loss_declares_tasks_of_the_task_enum() -> None:
    for loss in LOSSES:
        assert loss.tasks, f"{loss.name} declares no task"
        assert all(isinstance(t, Task) for t in loss.tasks), loss.name
        assert loss.task_names() == [t.value for t in Task if t in loss.tasks]


def test_no_alias_collides_with_another_name() -> None:
    keys = Counter(key for loss in LOSSES for key in (loss.name, *loss.aliases))
    assert not [k for k, n in keys.items() if n > 1], "a name or alias is used twice"
    assert len(REGISTRY) == sum(keys.values())


def test_the_registry_refuses_a_planted_collision() -> None:
    mse, mae = REGISTRY["mse"], REGISTRY["mae"]
    planted = (mse, replace(mae, aliases=(*mae.aliases, "mse")))
    with pytest.raises(ValueError, match="'mse' is used by mse and mae"):
        registry(planted)
    assert set(registry((mse, mae))) == {"mse", "mae", *mae.aliases}


# Keywords a loss function takes that are not user parameters: set by the engine.
ENGINE_KEYWORDS = {"logits", "convention"}


@pytest.mark.parametrize("loss", LOSSES, ids=lambda lo: lo.name)
def test_signature_matches_the_declared_params(loss: Any) -> None:
    """fn(preds, labels, *, option=default): every declared Param is a keyword-only argument
    with the same default; ``logits`` exactly when the loss needs the kind, ``convention``
    exactly when it has conventions."""
    sig = inspect.signature(loss.fn)
    positional = [p.name for p in sig.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == ["preds", "labels"], f"{loss.name}: {positional}"
    keywords = {p.name: p for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY}
    declared = {p.name: p for p in loss.params}
    assert set(keywords) - ENGINE_KEYWORDS == set(declared), loss.name
    for name, param in declared.items():
        assert keywords[name].default == param.default, f"{loss.name}.{name}"
    assert ("logits" in keywords) == loss.needs_kind, loss.name
    assert ("convention" in keywords) == bool(loss.conventions), loss.name


# --------------------------------------------------------------------------- enforcement


def test_a_loss_refuses_a_task_before_any_row_is_evaluated(tmp_path: Path) -> None:
    """bce reads one column per class of 0/1 labels; class indices are not its task. Before
    tasks were typed this was a ValueError inside the loss (exit 4)."""
    z = np.random.default_rng(3).normal(size=(50, 3))
    np.save(tmp_path / "p.npy", z)
    np.save(tmp_path / "y.npy", np.arange(50) % 3)
    seen: list[int] = []
    with pytest.raises(UsageError, match=r"bce takes regression, binary, distribution tasks"):
        compute_files(
            tmp_path / "p.npy",
            tmp_path / "y.npy",
            ["bce"],
            Options(),
            sink=lambda chunk: seen.append(len(chunk.batch)),
            chunk_rows=7,
        )
    assert seen == []


def test_task_refusal_through_the_cli(run_cli: Any, tmp_path: Path) -> None:
    np.save(tmp_path / "p.npy", np.random.default_rng(3).normal(size=(6, 3)))
    np.save(tmp_path / "y.npy", np.array([0, 1, 2, 0, 1, 2]))
    out = tmp_path / "rows.csv"
    args = ["compute", tmp_path / "p.npy", tmp_path / "y.npy", "--loss", "bce"]
    result = run_cli([*args, "--per-sample", out, "--logits"])
    assert_cli_error(result, 2, r"multiclass task.*class indices")
    assert not out.exists()
    proc = run_process(ENTRY_POINT, *args, "--logits")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "bce takes regression, binary, distribution tasks" in proc.stderr


def test_every_refusal_names_the_supported_tasks() -> None:
    """Each loss on inputs of each task it does not take: exit 2 (UsageError), naming them."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(12, 3))
    inputs = {
        Task.REGRESSION: (rng.normal(size=12) * 3, rng.normal(size=12) * 3),
        Task.MULTIOUTPUT: (rng.normal(size=(12, 3)), rng.normal(size=(12, 3))),
        Task.BINARY: (rng.uniform(0.1, 0.9, size=12), np.arange(12) % 2),
        Task.MULTICLASS: (z, np.arange(12) % 3),
        Task.DISTRIBUTION: (z, np.full((12, 3), 1 / 3)),
        Task.DENSE: (rng.normal(size=(12, 3, 2, 2)), rng.integers(0, 3, size=(12, 2, 2))),
    }
    refused = 0
    for loss in LOSSES:
        is_values = loss.target is Target.VALUES
        for task, (preds, labels) in inputs.items():
            # Several label columns read as multioutput exactly when every loss compares values.
            several = task in (Task.MULTIOUTPUT, Task.DISTRIBUTION)
            if task in loss.tasks or (several and (task is Task.MULTIOUTPUT) != is_values):
                continue
            with pytest.raises(UsageError) as err:
                losscli.compute(loss.name, preds, labels, logits=True if loss.needs_kind else None)
            assert f"takes {', '.join(loss.task_names())} tasks" in str(err.value), loss.name
            assert f"these inputs read as a {task} task" in str(err.value), loss.name
            refused += 1
    assert refused > 40


# --------------------------------------------------------------------------- multioutput


def test_a_one_output_loss_refuses_several_outputs(run_cli: Any, write: Any) -> None:
    preds = write("p.csv", {"a": [0.5, -1.5, 2.0], "b": [3.0, 1.0, -1.0]})
    labels = write("y.csv", {"a": [1, -1, 1], "b": [-1, 1, 1]})
    result = run_cli(["compute", preds, labels, "--loss", "hinge_embedding"])
    assert_cli_error(result, 2, r"one prediction and one label per sample, not 2 outputs")
    assert "hinge_embedding takes regression, binary tasks" in result.stderr


def test_two_numeric_label_columns_of_regression_are_a_multioutput_task(
    run_cli: Any, write: Any
) -> None:
    preds = write("p.csv", {"a": [0.5, 1.5, 2.0], "b": [3.0, 1.0, 0.0]})
    labels = write("y.csv", {"a": [1.0, 1.0, 2.5], "b": [2.0, 1.0, 0.5]})
    result = run_cli(["compute", preds, labels, "--loss", "mse", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["task"] == "multioutput"
    # mean over the 6 elements of (p - y)²: (0.25 + 0.25 + 0.25 + 1 + 0 + 0.25) / 6, by hand.
    assert doc["results"][0]["value"] == pytest.approx(2.0 / 6, rel=1e-12)


def test_soft_labels_stay_a_distribution_task(run_cli: Any, write: Any) -> None:
    preds = write("p.csv", {"a": [0.5, 0.2], "b": [0.5, 0.8]})
    labels = write("y.csv", {"a": [0.7, 0.1], "b": [0.3, 0.9]})
    args = ["compute", preds, labels, "--loss", "ce", "--loss", "mse", "--format", "json"]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["task"] == "distribution"


def test_losses_listing_reads_the_tasks_from_the_registry(run_cli: Any) -> None:
    result = run_cli(["losses", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    listed = {entry["name"]: entry["tasks"] for entry in json.loads(result.stdout)}
    assert listed == {loss.name: loss.task_names() for loss in LOSSES}


def test_a_value_loss_beside_gaussian_nll_is_told_the_columns_are_a_mean_and_a_variance(
    run_cli: Any, write: Any
) -> None:
    """With gaussian_nll, two prediction columns against one numeric label column are its
    (mean, variance): mse beside it cannot compare two columns with one label (exit 2, naming
    what the columns are read as). The fix it gives, mse on the mean column alone, runs:
    mean of (m − y)² = (0.25 + 0.25 + 0.25) / 3, by hand."""
    preds = write("p.csv", {"mean": [0.5, 1.5, 2.0], "var": [1.0, 0.5, 2.0]})
    labels = write("y.csv", {"y": [1.0, 2.0, 2.5]})
    args = ["compute", preds, labels, "--loss", "gaussian_nll", "--loss", "mse"]
    pattern = (
        r"mse compares each prediction column with a label column, but the two prediction "
        r"columns are read as the mean and the variance of gaussian_nll, against one label "
        r"column; compute mse in a run of its own, on the mean column alone \(--pred-cols"
    )
    assert_cli_error(run_cli(args), 2, pattern)
    proc = run_process(ENTRY_POINT, *args)
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert "on the mean column alone (--pred-cols for a table)" in proc.stderr
    fixed = run_cli(["compute", preds, labels, "-l", "mse", "--pred-cols", "mean", "-f", "json"])
    assert fixed.exit_code == 0, fixed.stderr
    assert json.loads(fixed.stdout)["results"][0]["value"] == pytest.approx(0.25, rel=1e-12)
