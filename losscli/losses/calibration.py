"""Scores of probabilistic classifiers that reward calibrated probabilities: the Brier score
(per sample) and the binned calibration errors ECE and MCE (finalised from confidence bins)."""

from __future__ import annotations

import numpy as np

from losscli.errors import UsageError
from losscli.losses.base import (
    POSITIVE,
    Confidences,
    FloatArray,
    LossDef,
    Param,
    PerSample,
    Reduce,
    Target,
    Task,
)
from losscli.losses.numerics import log_sigmoid, log_softmax_classes, one_hot


def _probabilities(preds: FloatArray, *, logits: bool) -> FloatArray:
    """Probabilities from logits (sigmoid for one column, softmax over classes) or as given."""
    if not logits:
        return preds
    return np.exp(log_sigmoid(preds) if preds.ndim == 1 else log_softmax_classes(preds))


def brier(
    preds: FloatArray, labels: np.ndarray, *, logits: bool, scale_by_half: bool | None = None
) -> PerSample:
    """Brier score Σ_c (p_c − 1[y = c])² per sample, halved for two classes (by default).

    Binary: ``preds`` (n,) the positive class's probability, ``labels`` {0, 1} (1 is the
    positive class: losscli's binary rule, scikit-learn's default ``pos_label``); the value is
    (p − y)², or 2(p − y)² with ``scale_by_half=false``. Multiclass: ``preds`` (n, C), ``labels``
    int (n,); Σ_c (p_c − 1[y = c])², halved only with ``scale_by_half=true`` when C >= 3
    (scikit-learn's ``"auto"``: halve when C < 3). Logits become probabilities first (sigmoid,
    softmax). Matches ``sklearn.metrics.brier_score_loss(y, p, scale_by_half=...)``.

    >>> b = brier(np.array([0.1, 0.9, 0.8, 0.3]), np.array([0.0, 1.0, 1.0, 0.0]), logits=False)
    >>> round(float(b.values.mean()), 12)  # scikit-learn's docstring example: 0.0375
    0.0375
    """
    if labels.ndim != 1:
        raise UsageError(
            "brier needs hard labels (one class per row), as scikit-learn's brier_score_loss; "
            "for soft labels use ce or kl"
        )
    p = _probabilities(preds, logits=logits)
    if p.ndim == 1:
        # Two columns (1 − p, p): each carries the same squared error, so the sum is 2(p − y)².
        values = 2.0 * np.square(p - labels)
        n_classes = 2
    else:
        n_classes = p.shape[1]
        values = np.sum(np.square(p - one_hot(labels, n_classes)), axis=1)
    half = n_classes < 3 if scale_by_half is None else scale_by_half
    return PerSample(0.5 * values if half else values)


def top_label_confidence(
    preds: FloatArray, labels: np.ndarray, *, logits: bool, bins: int = 15
) -> PerSample:
    """Each sample's confidence and whether it was right, for a binned calibration error.

    Binary (``preds`` (n,), ``labels`` {0, 1}): the confidence is the positive class's
    probability and "right" is the label itself, as TorchMetrics ``binary_calibration_error``.
    Multiclass (``preds`` (n, C), ``labels`` int (n,)): the top-label confidence max_c p_c and
    whether argmax_c p_c is the label (``multiclass_calibration_error``). Logits become
    probabilities first (sigmoid, softmax). ``values`` is each sample's own gap
    |confidence − right|; the loss itself is finalised from ``bins`` equal-width bins.

    >>> t = top_label_confidence(np.array([[0.7, 0.3], [0.4, 0.6]]), np.array([0, 0]),
    ...                          logits=False)
    >>> t.calibration.confidence, t.calibration.correct
    (array([0.7, 0.6]), array([1., 0.]))
    """
    if labels.ndim != 1:
        raise UsageError("ece and mce need hard labels (one class per row), not distributions")
    p = _probabilities(preds, logits=logits)
    if p.ndim == 1:
        confidence, correct = p, labels.astype(np.float64)  # pragma: no mutate
    else:
        confidence = p.max(axis=1)
        correct = (p.argmax(axis=1) == labels).astype(np.float64)
    return PerSample(
        np.abs(confidence - correct), calibration=Confidences(confidence, correct, bins)
    )


BINS = Param("bins", int, 15, "equal-width confidence bins on [0, 1]", POSITIVE)
CALIBRATION_REFERENCE = (
    "torchmetrics.functional.classification.binary_calibration_error / "
    "multiclass_calibration_error(n_bins=bins, norm={norm})"
)

LOSSES: tuple[LossDef, ...] = (
    LossDef(
        name="brier",
        aliases=("brier_score",),
        fn=brier,
        target=Target.CLASSES,
        summary="Brier score: squared error of the predicted class probabilities.",
        formula="mean_i Σ_c (p_ic − 1[y_i = c])², halved for two classes (binary: (p_i − y_i)²)",
        reference="sklearn.metrics.brier_score_loss",
        params=(
            Param(
                "scale_by_half",
                bool,
                None,
                "halve the sum over classes (default auto: only for two classes)",
            ),
        ),
        needs_kind=True,
        tasks=frozenset({Task.BINARY, Task.MULTICLASS}),
    ),
    LossDef(
        name="ece",
        aliases=("expected_calibration_error",),
        fn=top_label_confidence,
        target=Target.CLASSES,
        summary="Expected calibration error: bin-weighted gap between confidence and accuracy.",
        formula="Σ_b (n_b / n)·|acc_b − conf_b| over equal-width bins of the (top-label) "
        "confidence",
        reference=CALIBRATION_REFERENCE.format(norm="'l1'"),
        params=(BINS,),
        reduce=Reduce.CALIBRATION_L1,
        needs_kind=True,
        tasks=frozenset({Task.BINARY, Task.MULTICLASS}),
    ),
    LossDef(
        name="mce",
        aliases=("maximum_calibration_error",),
        fn=top_label_confidence,
        target=Target.CLASSES,
        summary="Maximum calibration error: the largest gap between confidence and accuracy.",
        formula="max_b |acc_b − conf_b| over equal-width bins of the (top-label) confidence",
        reference=CALIBRATION_REFERENCE.format(norm="'max'"),
        params=(BINS,),
        reduce=Reduce.CALIBRATION_MAX,
        needs_kind=True,
        tasks=frozenset({Task.BINARY, Task.MULTICLASS}),
    ),
)
