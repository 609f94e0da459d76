"""Regression losses: predictions and labels are real values of the same shape.

Every function returns one value per sample; a sample with k outputs gets the mean over them,
so the engine's mean over samples equals torch's mean over all elements.
"""

from __future__ import annotations

import numpy as np

from losscli.losses.base import (
    NON_NEGATIVE,
    POSITIVE,
    FloatArray,
    LossDef,
    Param,
    PerSample,
    Reduce,
    Target,
)
from losscli.losses.numerics import over_outputs


def squared_error(preds: FloatArray, labels: FloatArray) -> PerSample:
    """(ŷ − y)² per sample; mean gives MSE, root of the mean gives RMSE.

    >>> squared_error(np.array([0.9, 0.2]), np.array([1.0, 0.0])).values
    array([0.01, 0.04])
    """
    return over_outputs(np.square(preds - labels))


def absolute_error(preds: FloatArray, labels: FloatArray) -> PerSample:
    """|ŷ − y| per sample; mean gives MAE (torch ``l1_loss``)."""
    return over_outputs(np.abs(preds - labels))


def huber(preds: FloatArray, labels: FloatArray, *, delta: float = 1.0) -> PerSample:
    """Huber: ½d² for |d| < δ, else δ(|d| − ½δ), with d = ŷ − y (torch ``huber_loss``)."""
    d = np.abs(preds - labels)
    # Quadratic near zero, linear beyond delta: the two pieces meet with equal slope at |d| = δ.
    out = np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return over_outputs(out)


def smooth_l1(preds: FloatArray, labels: FloatArray, *, beta: float = 1.0) -> PerSample:
    """Smooth L1: ½d²/β for |d| < β, else |d| − ½β (torch ``smooth_l1_loss``); β = 0 is L1."""
    d = np.abs(preds - labels)
    if beta == 0.0:
        return over_outputs(d)
    out = np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return over_outputs(out)


LOSSES: tuple[LossDef, ...] = (
    LossDef(
        name="mse",
        fn=squared_error,
        target=Target.VALUES,
        summary="Mean squared error.",
        formula="mean_i (ŷ_i − y_i)²",
        reference="torch.nn.functional.mse_loss; sklearn.metrics.mean_squared_error",
        tasks=("regression", "binary"),
    ),
    LossDef(
        name="rmse",
        fn=squared_error,
        target=Target.VALUES,
        summary="Root mean squared error: the square root of MSE, in the label's units.",
        formula="sqrt(mean_i (ŷ_i − y_i)²)",
        reference="sqrt of torch.nn.functional.mse_loss; "
        "sklearn.metrics.root_mean_squared_error (one output)",
        reduce=Reduce.SQRT_MEAN,
        tasks=("regression", "binary"),
    ),
    LossDef(
        name="mae",
        aliases=("l1",),
        fn=absolute_error,
        target=Target.VALUES,
        summary="Mean absolute error.",
        formula="mean_i |ŷ_i − y_i|",
        reference="torch.nn.functional.l1_loss; sklearn.metrics.mean_absolute_error",
        tasks=("regression", "binary"),
    ),
    LossDef(
        name="huber",
        fn=huber,
        target=Target.VALUES,
        summary="Huber loss: squared near zero, linear for errors beyond delta.",
        formula="mean_i [½d² if |d| < δ else δ(|d| − ½δ)], d = ŷ_i − y_i",
        reference="torch.nn.functional.huber_loss",
        params=(Param("delta", float, 1.0, "where the loss turns linear", POSITIVE),),
        tasks=("regression",),
    ),
    LossDef(
        name="smooth_l1",
        fn=smooth_l1,
        target=Target.VALUES,
        summary="Smooth L1 loss: huber(δ) / δ with β = δ; L1 when beta is 0.",
        formula="mean_i [½d²/β if |d| < β else |d| − ½β], d = ŷ_i − y_i",
        reference="torch.nn.functional.smooth_l1_loss",
        params=(Param("beta", float, 1.0, "where the loss turns linear (0: plain L1)", NON_NEGATIVE),),
        tasks=("regression",),
    ),
)
