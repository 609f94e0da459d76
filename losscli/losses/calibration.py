"""Scores of probabilistic classifiers that reward calibrated probabilities: the Brier score."""

from __future__ import annotations

import numpy as np

from losscli.errors import UsageError
from losscli.losses.base import FloatArray, LossDef, Param, PerSample, Target, Task
from losscli.losses.numerics import log_sigmoid, log_softmax, one_hot


def _probabilities(preds: FloatArray, *, logits: bool) -> FloatArray:
    """Probabilities from logits (sigmoid for one column, softmax over classes) or as given."""
    if not logits:
        return preds
    return np.exp(log_sigmoid(preds) if preds.ndim == 1 else log_softmax(preds, axis=1))


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
)
