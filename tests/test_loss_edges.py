"""Edges of the regression, deviance, distribution, dense, multi-label and calibration losses
that no test stated until ``make mutation`` showed a surviving mutant there (issue 15).

Expected values come from torch 2.13.0, Keras 3.15.1 and mpmath via
``tests/reference/generate_loss_edges.py`` (``loss_edges.json``, ``make reference``), or are the
loss's own name in its error message. Each test calls the loss function directly: they run
for every mutant of these modules, so they stay in milliseconds.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import mean_pinball_loss, mean_squared_log_error, mean_tweedie_deviance

from losscli.errors import DomainError, UsageError
from losscli.losses import LOSSES
from losscli.losses.deviance import gamma_deviance, poisson_deviance, tweedie
from losscli.losses.explanations import EXPLANATIONS, explanation_for
from losscli.losses.multilabel import multilabel_margin, soft_margin
from losscli.losses.numerics import Convention
from losscli.losses.regression import (
    gaussian_nll,
    pinball,
    squared_error_by_output,
    squared_log_error,
)

EDGES = json.loads((Path(__file__).parent / "reference" / "loss_edges.json").read_text())


@pytest.mark.parametrize("case", EDGES["cases"], ids=lambda c: c["id"])
def test_edge_values_are_the_libraries(case: dict) -> None:
    module, name = case["fn"]
    fn = getattr(importlib.import_module(f"losscli.losses.{module}"), name)
    kwargs = dict(case["kwargs"])
    if "convention" in kwargs:
        kwargs["convention"] = Convention(kwargs["convention"])
    labels = np.array(case["labels"])
    labels = labels if labels.dtype.kind == "f" else labels.astype(np.int64)
    with np.errstate(over="ignore", invalid="ignore"):  # huber at d = inf warns; not tested here
        got = fn(np.array(case["preds"], dtype=np.float64), labels, **kwargs).values
    if case["exact"]:  # a value at a branch boundary: the side taken decides the last bit
        np.testing.assert_array_equal(got, case["per_sample"], err_msg=case["reference"])
    else:
        assert got == pytest.approx(case["per_sample"], rel=1e-12, abs=1e-15), case["reference"]


@pytest.mark.parametrize(
    ("fn", "kwargs", "preds", "labels", "start"),
    [
        (tweedie, {"power": 1.5}, [1.0, 2.0], [1.0, -1.0], "tweedie (Tweedie power 1.5) "),
        (poisson_deviance, {}, [1.0, 0.0], [1.0, 1.0], "poisson_deviance (Tweedie power 1) "),
        (gamma_deviance, {}, [1.0, 1.0], [1.0, 0.0], "gamma_deviance (Tweedie power 2) "),
        (soft_margin, {}, [0.5, 0.5], [1.0, 0.5], "soft_margin reads labels "),
        (multilabel_margin, {}, [[0.5, 0.5]], [[1.0, 2.0]], "multilabel_margin reads labels "),
    ],
)
def test_domain_errors_name_the_loss(fn, kwargs, preds, labels, start: str) -> None:
    """The message starts with the loss the user asked for (and its Tweedie power)."""
    with pytest.raises(DomainError) as info:
        fn(np.array(preds), np.array(labels), **kwargs)
    assert info.value.problem.startswith(start)


@pytest.mark.parametrize("shape", [(4,), (4, 1), (4, 3)])
def test_gaussian_nll_refuses_anything_but_mean_and_variance_columns(shape) -> None:
    with pytest.raises(UsageError, match=r"needs predictions \(n, 2\)"):
        gaussian_nll(np.ones(shape), np.zeros(4))


def test_explanation_for_every_loss_and_none_for_an_unknown_name() -> None:
    for loss in LOSSES:
        assert explanation_for(loss.name) is EXPLANATIONS[loss.name]
    assert explanation_for("no_such_loss") is None


# scikit-learn 1.9's domain of each Tweedie power, as losscli words it in the message.
NEEDS = {
    -1.0: "predictions > 0",
    1.0: "labels >= 0 and predictions > 0",
    1.5: "labels >= 0 and predictions > 0",
    2.0: "labels > 0 and predictions > 0",
    3.0: "labels > 0 and predictions > 0",
}


def _sklearn_refuses(y: float, y_pred: float, power: float) -> bool:
    try:
        mean_tweedie_deviance([y], [y_pred], power=power)
    except ValueError:
        return True
    return False


@pytest.mark.parametrize("power", [-1.0, 0.0, 1.0, 1.5, 2.0, 3.0])
def test_tweedie_refuses_the_rows_scikit_learn_refuses(power: float) -> None:
    """Every pair of a prediction and a label in {-1, 0, 0.5}: the rows refused are exactly
    those on which scikit-learn's mean_tweedie_deviance raises."""
    preds, labels = np.repeat([-1.0, 0.0, 0.5], 3), np.tile([-1.0, 0.0, 0.5], 3)
    refused = [_sklearn_refuses(y, p, power) for p, y in zip(preds, labels, strict=True)]
    if not any(refused):  # power 0: the squared error, defined everywhere
        assert (
            tweedie(preds, labels, power=power).values.tolist()
            == np.square(labels - preds).tolist()
        )
        return
    with pytest.raises(DomainError) as info:
        tweedie(preds, labels, power=power)
    assert info.value.bad.tolist() == refused


@pytest.mark.parametrize("power", sorted(NEEDS))
def test_tweedie_domain_error_names_the_first_bad_prediction(power: float) -> None:
    """Rows 1 and 2 hold predictions <= 0 (refused at every power with a domain), rows 0 and 2
    negative labels: the message names the prediction of row 1, the first refused one."""
    preds, labels = np.array([0.5, -3.0, -1.0, 0.5]), np.array([-2.0, 0.5, -4.0, 0.5])
    with pytest.raises(DomainError) as info:
        tweedie(preds, labels, power=power)
    assert info.value.problem == (
        f"tweedie (Tweedie power {power:g}) needs {NEEDS[power]}, got the prediction -3"
    )


@pytest.mark.parametrize("power", [p for p in sorted(NEEDS) if p >= 1])
def test_tweedie_domain_error_names_the_first_bad_label(power: float) -> None:
    """Predictions all valid, labels -2 (row 1) and -1 (row 2) refused: row 1's is named."""
    preds, labels = np.full(3, 0.5), np.array([0.5, -2.0, -1.0])
    with pytest.raises(DomainError) as info:
        tweedie(preds, labels, power=power)
    assert info.value.problem == (
        f"tweedie (Tweedie power {power:g}) needs {NEEDS[power]}, got the label -2"
    )
    assert info.value.bad.tolist() == [False, True, True]


def test_pinball_of_an_exact_prediction_is_plus_zero() -> None:
    """y == ŷ: scikit-learn's mean_pinball_loss gives +0.0 (its sign(y − ŷ) >= 0 side);
    a loss of -0.0 would print as "-0"."""
    got = pinball(np.array([1.0, 2.0]), np.array([1.0, 2.0]), q=0.3).values
    ref = mean_pinball_loss([1.0, 2.0], [1.0, 2.0], alpha=0.3)
    assert (got.tolist(), np.signbit(got).tolist()) == ([0.0, 0.0], [False, False])
    assert (ref, bool(np.signbit(ref))) == (0.0, False)


def test_msle_refuses_the_rows_scikit_learn_refuses_and_names_the_first_value() -> None:
    """Predictions and labels in {-1.5, -1, -0.5}: the rows refused are those on which
    scikit-learn's mean_squared_log_error raises (log1p needs values > -1); the message names
    the first refused row's prediction if it is refused, else its label."""
    preds, labels = np.repeat([-0.5, -1.0, -1.5], 3), np.tile([-0.5, -1.0, -1.5], 3)
    refused = []
    for p, y in zip(preds, labels, strict=True):
        try:
            mean_squared_log_error([y], [p])
            refused.append(False)
        except ValueError:
            refused.append(True)
    with pytest.raises(DomainError) as info:
        squared_log_error(preds, labels)
    assert info.value.bad.tolist() == refused
    assert info.value.problem.endswith("must be > -1, got -1")  # row 1: label -1
    for p in (-1.0, -1.5):  # a refused prediction beside a valid label: the prediction
        with pytest.raises(DomainError) as info:
            squared_log_error(np.array([0.0, p]), np.array([0.0, -0.5]))
        assert info.value.problem.endswith(f"must be > -1, got {p:g}")
        assert info.value.bad.tolist() == [False, True]


def test_task_names_list_the_accepted_tasks_in_task_order() -> None:
    """mse takes regression, multi-output, binary and distribution inputs (its LossDef); dice
    only dense maps. Listed in the order Task declares them, for help and refusals."""
    by_name = {loss.name: loss for loss in LOSSES}
    assert by_name["mse"].task_names() == ["regression", "multioutput", "binary", "distribution"]
    assert by_name["dice"].task_names() == ["dense"]


def test_rmse_per_output_terms_are_kept_only_for_more_than_one_output_under_sklearn() -> None:
    # The docstring's contract: per-output terms only with k > 1 outputs under scikit-learn's
    # convention (with one output they would add a per-output block to a saved state).
    # Hand derivation: (0.5 − 0)² = 0.25, (1 − 3)² = 4, (2 − 2)² = 0.
    one = squared_error_by_output(
        np.array([[0.5], [1.0]]), np.array([[0.0], [3.0]]), convention=Convention.SKLEARN
    )
    assert one.outputs is None
    np.testing.assert_array_equal(one.values, [0.25, 4.0])
    two = squared_error_by_output(
        np.array([[0.5, 2.0]]), np.array([[0.0, 2.0]]), convention=Convention.SKLEARN
    )
    assert two.outputs is not None
    np.testing.assert_array_equal(two.outputs, [[0.25, 0.0]])
