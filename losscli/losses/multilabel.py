"""Margin losses on scores against binary or multi-label targets (torch's soft and multi-label
margin losses).

Files hold a multi-label target as a multi-hot matrix: one 0/1 label column per prediction
column (1: the class is a target of the row). Binary labels are any two values (the larger
positive). torch's ±1 targets (``soft_margin_loss``) and padded index lists
(``multilabel_margin_loss``) are both read from that one form, as each function says.
"""

from __future__ import annotations

import numpy as np

from losscli.errors import DomainError
from losscli.losses.base import FloatArray, LossDef, PerSample, Target, Task
from losscli.losses.numerics import log_sigmoid, over_outputs


def _multi_hot(name: str, labels: FloatArray) -> FloatArray:
    """Labels that must be exactly 0 or 1 (a ``DomainError`` names the rows otherwise)."""
    bad = (labels != 0.0) & (labels != 1.0)
    if bad.any():
        raise DomainError(
            f"{name} reads labels as a multi-hot matrix of 0 and 1, got {labels[bad][0]:g}",
            "give one 0/1 column per prediction column (1: the class is a target)",
            bad,
        )
    return labels


def soft_margin(preds: FloatArray, labels: FloatArray) -> PerSample:
    """Logistic loss log(1 + exp(−y·x)) on scores x with y = ±1, per sample (mean over outputs).

    ``preds`` x (n,) or (n, k) scores (any real); ``labels`` binary (n,) (the positive class is
    +1, the other −1) or a multi-hot (n, k) 0/1 matrix (1 → +1, 0 → −1), the file form of
    torch's ±1 target tensor. Computed as −log_sigmoid(y·x), finite for any score. Matches
    ``torch.nn.functional.soft_margin_loss(x, 2·labels − 1)``.

    >>> soft_margin(np.array([0.0]), np.array([1.0])).values.round(6)  # log 2
    array([0.693147])
    """
    signs = 2.0 * _multi_hot("soft_margin", labels) - 1.0
    # log(1 + exp(−z)) = −log_sigmoid(z), which never overflows.
    return over_outputs(-log_sigmoid(signs * preds))


def multilabel_margin(preds: FloatArray, labels: FloatArray) -> PerSample:
    """torch's multi-label margin loss: Σ_{j target} Σ_{i not target} max(0, 1 − (x_j − x_i)) / C.

    ``preds`` x (n, C) scores; ``labels`` a multi-hot (n, C) 0/1 matrix. torch takes the same
    target as class indices padded with −1 (row [0, 3, −1, −1] means classes 0 and 3): losscli
    reads the indices from the 1s, so any torch target row has exactly one multi-hot row (order
    and what follows the first −1 do not matter to torch). A row with no target, or with every
    class a target, has loss 0. Matches ``torch.nn.functional.multilabel_margin_loss``.

    >>> multilabel_margin(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([[1.0, 0, 0, 1]])).values
    array([0.85])
    """
    targets = _multi_hot("multilabel_margin", labels) == 1.0
    if preds.ndim == 1:
        preds, targets = preds[:, None], targets[:, None]
    n, n_classes = preds.shape
    others = ~targets
    total = np.zeros(n)
    # One target column at a time: memory n·C, not n·C² (C can be large).
    for j in range(n_classes):
        hinge = np.maximum(0.0, 1.0 - preds[:, j : j + 1] + preds)
        total += np.where(targets[:, j], np.sum(np.where(others, hinge, 0.0), axis=1), 0.0)
    return PerSample(total / n_classes)


LOSSES: tuple[LossDef, ...] = (
    LossDef(
        name="soft_margin",
        aliases=("soft_margin_loss",),
        fn=soft_margin,
        target=Target.CLASSES,
        summary="Logistic (soft margin) loss of ±1 targets on raw scores, binary or multi-label.",
        formula="mean over elements log(1 + exp(−y x)), y = ±1 (multi-hot 1 → +1, 0 → −1)",
        reference="torch.nn.functional.soft_margin_loss(x, 2·y − 1)",
        independent_columns=True,
        tasks=frozenset({Task.BINARY, Task.DISTRIBUTION}),
    ),
    LossDef(
        name="multilabel_margin",
        aliases=("multilabel_margin_loss",),
        fn=multilabel_margin,
        target=Target.CLASSES,
        summary="torch's multi-label hinge: every target class must beat every other by 1.",
        formula="mean_i Σ_{j∈Y_i} Σ_{k∉Y_i} max(0, 1 − (x_ij − x_ik)) / C; Y_i the row's 1s",
        reference="torch.nn.functional.multilabel_margin_loss (target indices padded with −1)",
        multi_hot=True,
        tasks=frozenset({Task.DISTRIBUTION}),
    ),
)
