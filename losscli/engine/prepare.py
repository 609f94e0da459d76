"""From a batch to a loss's per-sample terms: each ``Target`` has its prepare function, which
puts (preds, labels) in the shapes the loss expects and checks them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from losscli.errors import DomainError, InputError, UsageError
from losscli.interpret.plan import PROB_SUM_TOL, Batch, Kind, LabelMode, Note, Plan
from losscli.losses import PerSample, Reduce, Target, Task
from losscli.losses.kernels import FLOAT32_LOGITS
from losscli.losses.numerics import Convention, one_hot
from losscli.spec import LossSpec

Prepared = tuple[np.ndarray, np.ndarray]

# A reshape's size that NumPy infers from the others ("the rest"): every negative size means
# that to NumPy, so this is a constant rather than a literal -1 that ``make mutation`` would
# turn into an equivalent -2 (tests/mutation/evaluate-run-prepare-signature.md).
_REST = -1


def _bad(batch: Batch, mask: np.ndarray) -> np.ndarray:
    """A row mask from a mask over rows, elements, or a dense map's flattened positions."""
    if mask.shape == (len(batch),):
        return mask
    return np.asarray(mask.reshape(len(batch), _REST).any(axis=1))


def _off_one(sums: np.ndarray) -> np.ndarray:
    """Where a row sum is further from 1 than ``PROB_SUM_TOL``. (``np.greater`` rather than
    ``>``: no row sum is ever exactly 1 ± 1e-4, so ``>=`` would be the same test, an
    equivalent mutant; tests/mutation/evaluate-run-prepare-signature.md.)"""
    return np.greater(np.abs(sums - 1.0), PROB_SUM_TOL)


# Conventions whose library accepts probability rows that do not sum to 1, and what it does.
_TOLERATED_SUMS = {
    Convention.SKLEARN: "scikit-learn uses them as given (with a warning); so does this result",
    Convention.KERAS: "Keras renormalises each row to sum 1; so does this result",
}


def _check_probs(spec: LossSpec, batch: Batch, plan: Plan, per_row_sum: bool) -> None:
    """Probabilities must lie in [0, 1] (and rows of a distribution sum to 1)."""
    preds = batch.preds
    error = UsageError if plan.kind_auto else InputError
    fix = (
        "pass --logits if these are scores"
        if plan.kind_auto
        else "pass --logits if these are logits, or fix the probabilities"
    )
    # Keras divides each row by its sum, so any non-negative scores are valid there.
    keras_rows = per_row_sum and preds.ndim >= 2 and spec.convention is Convention.KERAS
    outside = (preds < 0) if keras_rows else (preds < 0) | (preds > 1)
    if outside.any():
        value = preds[outside][0]
        raise error(
            f"predictions read as probabilities, but {batch.where(_bad(batch, outside))}"
            f" holds {value:.6g}, outside [0, 1]; {fix}"
        )
    if per_row_sum and preds.ndim >= 2:
        sums = preds.sum(axis=1)
        off = _off_one(sums)
        if not off.any():
            return
        where = f"{batch.where(_bad(batch, off))} (e.g. {sums[off][0]:.6g})"
        tolerated = _TOLERATED_SUMS.get(spec.convention)
        if tolerated is None:
            raise error(
                f"predictions read as probabilities, but rows do not sum to 1 at {where}; {fix}"
            )
        what = f"{spec.label}: probability rows do not sum to 1"
        if not any(n.what.startswith(what) for n in plan.notes):  # said once, at first rows
            plan.notes.append(Note(f"{what} at {where}", tolerated))


def _index_labels(spec: LossSpec, batch: Batch, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Check class indices are in 0..C-1 (or equal ignore_index when the loss has one)."""
    ignore = spec.value_of("ignore_index")  # None for a loss without ignore_index
    bad = ((labels < 0) | (labels >= n_classes)) & (labels != ignore)
    if bad.any():
        value = int(labels[bad][0])
        extra = f" or ignore_index={ignore}" if ignore is not None else ""
        raise InputError(
            f"label {value} at {batch.where(_bad(batch, bad))} is out of range for "
            f"{n_classes} classes (expected 0..{n_classes - 1}{extra})"
        )
    return labels


def _log_labels(spec: LossSpec) -> bool:
    """Whether this spec reads labels as log-probabilities (``LossDef.log_labels``)."""
    return spec.loss.log_labels is not None and bool(spec.value_of(spec.loss.log_labels))


def _soft_log_labels(spec: LossSpec, batch: Batch) -> np.ndarray:
    """Rows of log-probabilities: exp of each row must sum to 1."""
    labels = batch.labels
    with np.errstate(over="ignore"):
        sums = np.exp(labels).sum(axis=1)
    off = _off_one(sums)
    if off.any():
        raise InputError(
            f"{spec.text}: label rows are read as log-probabilities, so exp of each row must "
            f"sum to 1; {batch.where(off)} sums to {sums[off][0]:.6g}; give log p, or drop "
            f"{spec.loss.log_labels}=true for probabilities"
        )
    return labels


def _soft_labels(spec: LossSpec, batch: Batch) -> np.ndarray:
    if _log_labels(spec):
        return _soft_log_labels(spec, batch)
    labels = batch.labels
    if "ignore_index" in spec.params:
        raise UsageError(
            f"{spec.text}: ignore_index applies to class-index labels, but these labels are "
            "probabilities, one column per class (torch refuses it too); drop ignore_index"
        )
    # Only the cross-entropy family reads a label row as a distribution; a row of zeros is a
    # valid multi-label target (bce, multilabel_margin: no class present).
    empty = labels.sum(axis=1) == 0
    if empty.any() and not (spec.loss.independent_columns or spec.loss.multi_hot):
        raise InputError(
            f"{spec.text}: label rows must hold a distribution over the classes; "
            f"{batch.where(empty)} sums to 0"
        )
    negative = (labels < 0).any(axis=1)
    if negative.any():
        raise InputError(f"soft labels must be >= 0; {batch.where(negative)} has a negative value")
    if spec.loss.target is Target.DISTRIBUTIONS:
        off = _off_one(labels.sum(axis=1))
        if off.any():
            raise InputError(
                f"{spec.text}: label rows must be distributions summing to 1; "
                f"{batch.where(off)} sums to {labels.sum(axis=1)[off][0]:.6g}"
            )
    return labels


def _mean_var(spec: LossSpec, batch: Batch, plan: Plan) -> Prepared:
    """Target.MEAN_VAR: two prediction columns (mean, variance) against one numeric label."""
    preds, raw = batch.preds, batch.raw
    if preds.ndim != 2 or preds.shape[1] != 2:
        got = (
            "dense maps"
            if preds.ndim > 2
            else (f"{1 if preds.ndim == 1 else preds.shape[1]} prediction column(s)")
        )
        raise UsageError(
            f"{spec.text} needs exactly two prediction columns, the mean and the "
            f"variance, but got {got}; put them in that order"
        )
    if raw is None or raw.ndim != 1:
        raise UsageError(
            f"{spec.text} compares a predicted mean and variance with one numeric "
            "label per sample; give one label column of numbers"
        )
    return preds, raw


def _values(spec: LossSpec, batch: Batch, plan: Plan) -> Prepared:
    """Target.VALUES: each prediction column against the label column in its place."""
    if batch.raw is None:  # text labels (maps never reach a value loss: check_tasks)
        raise UsageError(
            f"{spec.text} compares numbers with numbers, but the labels are "
            "class names or maps; use a classification loss such as ce"
        )
    if batch.preds.shape != batch.raw.shape:
        # Only gaussian_nll's reading gets here: its two prediction columns (mean, variance)
        # against one numeric label column. Every other task a value loss takes has one
        # prediction column per label column (plan._decide_task refuses other shapes).
        raise UsageError(
            f"{spec.text} compares each prediction column with a label column, but the two "
            "prediction columns are read as the mean and the variance of gaussian_nll, against "
            f"one label column; compute {spec.text} in a run of its own, on the mean column "
            "alone (--pred-cols for a table)"
        )
    return batch.preds, batch.raw


def _distributions(spec: LossSpec, batch: Batch, plan: Plan) -> Prepared:
    """Target.DISTRIBUTIONS: score rows against label distributions (hard labels one-hot).
    Its tasks (multiclass, distribution) have (n, C) scores with C >= 2: ``check_tasks``
    refused one score column and maps before."""
    _check_kind(spec, batch, plan)
    n_classes = plan.n_scores
    if plan.label_mode is LabelMode.SOFT:
        return batch.preds, _soft_labels(spec, batch)
    hot = one_hot(_index_labels(spec, batch, batch.labels, n_classes), n_classes)
    if _log_labels(spec):
        with np.errstate(divide="ignore"):
            return batch.preds, np.log(hot)
    return batch.preds, hot


def _binary(spec: LossSpec, batch: Batch, plan: Plan) -> Prepared:
    other = np.isnan(batch.labels)
    if other.any():
        raise InputError(
            f"{spec.text} reads a binary task with labels "
            f"{' and '.join(plan.classes)}, but {batch.where(other)} holds "
            "another value; a binary task needs exactly two label values"
        )
    return batch.preds, batch.labels


def _numeric_targets(spec: LossSpec, batch: Batch, plan: Plan) -> Prepared:
    """Numeric labels for a classification loss: targets in [0, 1] for a loss reading scores
    (bce with soft targets), an error otherwise."""
    raw = batch.raw
    if spec.loss.needs_kind and raw is not None and ((raw >= 0) & (raw <= 1)).all():
        return batch.preds, raw
    why = next((n.why for n in plan.notes if n.what == "regression task"), "numeric labels")
    raise UsageError(
        f"{spec.text} needs class labels, but these labels read as numbers of a regression "
        f"target ({why}); for numeric targets use mse, mae or huber"
    )


def _class_indices(spec: LossSpec, batch: Batch, plan: Plan) -> Prepared:
    return batch.preds, _index_labels(spec, batch, batch.labels, plan.n_scores)


def _soft(spec: LossSpec, batch: Batch, plan: Plan) -> Prepared:
    return batch.preds, _soft_labels(spec, batch)


Prepare = Callable[[LossSpec, Batch, Plan], Prepared]

# Target.CLASSES: how each task's labels reach a classification loss.
_CLASSES_BY_TASK: dict[Task, Prepare] = {
    Task.BINARY: _binary,
    Task.REGRESSION: _numeric_targets,
    Task.DISTRIBUTION: _soft,
    Task.DENSE: _class_indices,
    Task.MULTICLASS: _class_indices,
}


def _check_kind(spec: LossSpec, batch: Batch, plan: Plan) -> None:
    if spec.loss.needs_kind and plan.kind is Kind.PROBS:
        _check_probs(spec, batch, plan, per_row_sum=not spec.loss.independent_columns)


def _classes(spec: LossSpec, batch: Batch, plan: Plan) -> Prepared:
    """Target.CLASSES: scores against class indices, binary labels or soft labels."""
    _check_kind(spec, batch, plan)
    return _CLASSES_BY_TASK[plan.task](spec, batch, plan)


PREPARE: dict[Target, Prepare] = {
    Target.VALUES: _values,
    Target.CLASSES: _classes,
    Target.DISTRIBUTIONS: _distributions,
    Target.MEAN_VAR: _mean_var,
}


def check_tasks(specs: list[LossSpec], plan: Plan) -> None:
    """Stop (exit 2) before any row is evaluated when a loss does not take the planned task:
    what the loss needs, then the tasks it takes and how the inputs were read."""
    for spec in specs:
        if plan.task in spec.loss.tasks:
            continue
        why = _task_reason(plan)
        raise UsageError(
            f"{_refusal(spec, plan)} ({spec.loss.name} takes {', '.join(spec.loss.task_names())}"
            f" tasks; these inputs read as a {plan.task} task: {why})"
        )


def _task_reason(plan: Plan) -> str:
    """The planner's note on the task, for the error message."""
    task = plan.task.value
    return next((n.why for n in plan.notes if task in n.what), "from the shapes of the inputs")


def _refusal(spec: LossSpec, plan: Plan) -> str:
    """What ``spec`` needs that these inputs are not, with the fix."""
    loss, task, text = spec.loss, plan.task, spec.text
    if loss.target is Target.MEAN_VAR:
        if plan.n_scores != 2 or task is Task.DENSE:
            got = "dense maps" if task is Task.DENSE else f"{plan.n_scores} prediction column(s)"
            return (
                f"{text} needs exactly two prediction columns, the mean and the variance, "
                f"but got {got}; put them in that order"
            )
        return (
            f"{text} compares a predicted mean and variance with one numeric label per "
            "sample; give one label column of numbers"
        )
    if loss.target is Target.VALUES:
        if task is Task.MULTIOUTPUT:
            return (
                f"{text} takes one prediction and one label per sample, not "
                f"{plan.n_scores} outputs; give one column of each"
            )
        if task is Task.DISTRIBUTION:
            return f"{text} does not compare soft labels; for distributions use ce or kl"
        if task is Task.MULTICLASS and plan.label_mode is LabelMode.INDEX:
            return (
                f"{text} compares each prediction column with a label column, but there are "
                f"{plan.n_scores} prediction and 1 label columns; for class labels use ce, "
                "hinge or kl"
            )
        return (
            f"{text} compares numbers with numbers, but the labels are class names or maps; "
            "use a classification loss such as ce"
        )
    if loss.per_image:
        return (
            f"{text} compares whole maps: it needs dense predictions (N, C, d1, ...) and label "
            "maps (N, d1, ...); for one label per row use ce or focal"
        )
    return _CLASS_REFUSALS[task].format(text=text)


# Why a classification loss refuses a task, by task (the loss's own tasks follow in the error).
_CLASS_REFUSALS: dict[Task, str] = {
    Task.REGRESSION: "{text} needs class labels, but the labels read as numbers of a "
    "regression target; for numeric targets use mse, mae or huber",
    Task.MULTIOUTPUT: "{text} needs class labels, but the labels are numbers in several "
    "columns; for numeric targets use mse, mae or huber",
    Task.BINARY: "{text} needs one score column per class (at least two); for one binary "
    "score column use bce or hinge",
    Task.MULTICLASS: "{text} reads each column as a class of its own, with 0/1 labels in one "
    "column per class, not class indices; for class indices use ce",
    Task.DISTRIBUTION: "{text} needs hard labels (one class index per row), not "
    "distributions; for soft labels use ce or kl",
    Task.DENSE: "{text} takes one label per row, not label maps; for maps use ce or dice",
}


def on_kernels(spec: LossSpec, plan: Plan) -> bool:
    """Whether ``spec`` runs on the cross-entropy family's row-block kernels
    (``losses.kernels.FLOAT32_LOGITS``): it takes float32 logits as they are and dense maps
    (n, C, d1, ...) in their own layout; every other loss gets float64 scores and positions."""
    return (
        plan.kind is Kind.LOGITS
        and plan.task in (Task.MULTICLASS, Task.DISTRIBUTION, Task.DENSE)
        and spec.loss.name in FLOAT32_LOGITS
        and not _log_labels(spec)
    )


def as_float64(batch: Batch) -> Batch:
    """The batch with float64 scores (itself when they are float64 already)."""
    if batch.preds.dtype == np.float64:
        return batch
    return replace(batch, preds=np.asarray(batch.preds, dtype=np.float64))


def prepare(spec: LossSpec, batch: Batch, plan: Plan) -> Prepared:
    """(preds, labels) in the shapes the loss's target expects, checked."""
    return PREPARE[spec.loss.target](spec, batch, plan)


def unpooled(spec: LossSpec, batch: Batch, plan: Plan) -> tuple[PerSample, bool]:
    """The loss's terms per sample, or per position for dense maps (flag True)."""
    preds, labels = prepare(spec, batch, plan)
    kwargs: dict[str, Any] = dict(spec.params)
    if spec.loss.needs_kind:
        kwargs["logits"] = plan.kind is Kind.LOGITS
    if spec.loss.conventions:
        kwargs["convention"] = spec.convention
        if spec.convention is Convention.SKLEARN and plan.preds_dtype == "float32":
            preds = preds.astype(np.float32)  # scikit-learn computes in the input's dtype
    # Dense maps become positions, pooled per sample later, unless the loss scores whole maps.
    dense = (
        plan.task is Task.DENSE
        and spec.loss.target is not Target.VALUES
        and not spec.loss.per_image
    )
    if dense and not on_kernels(spec, plan):  # the kernels read the maps in place
        c = preds.shape[1]
        preds = np.moveaxis(preds, 1, -1).reshape(labels.size, c)  # a row per label position
        labels = labels.ravel()
    try:
        return spec.loss.fn(preds, labels, **kwargs), dense
    except DomainError as exc:
        raise InputError(
            f"{exc.problem} ({batch.where(_bad(batch, np.asarray(exc.bad)))}); {exc.fix}"
        ) from None


def pool(terms: PerSample, n: int) -> PerSample:
    """Per-position terms of n samples pooled per sample: sums of values and of weights."""
    weights = np.ones(len(terms.values)) if terms.weights is None else terms.weights
    return PerSample(
        terms.values.reshape(n, _REST).sum(axis=1), weights.reshape(n, _REST).sum(axis=1)
    )


def own_values(spec: LossSpec, terms: PerSample) -> np.ndarray:
    """A sample's own loss: value / weight (NaN where the weight is 0); root for RMSE."""
    if terms.weights is None:
        own = terms.values
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            own = np.where(terms.weights > 0, terms.values / terms.weights, np.nan)
    return np.sqrt(own) if spec.loss.reduce is Reduce.SQRT_MEAN else own
