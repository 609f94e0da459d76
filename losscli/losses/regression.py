"""Regression losses: predictions and labels are real values of the same shape.

Every function returns one value per sample; a sample with k outputs gets the mean over them,
so the engine's mean over samples equals torch's mean over all elements.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from losscli.errors import DomainError, UsageError
from losscli.losses.base import (
    NON_NEGATIVE,
    OPEN_UNIT_INTERVAL,
    POSITIVE,
    FloatArray,
    LossDef,
    Param,
    PerSample,
    Reduce,
    Target,
    Task,
)
from losscli.losses.numerics import Convention, over_outputs

# scikit-learn's mean_absolute_percentage_error divides by max(|y|, float64 eps).
F64_EPS = float(np.finfo(np.float64).eps)
LOG_2 = math.log(2.0)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def squared_error(preds: FloatArray, labels: FloatArray) -> PerSample:
    """(ŷ − y)² per sample; mean gives MSE, root of the mean gives RMSE.

    >>> squared_error(np.array([0.9, 0.2]), np.array([1.0, 0.0])).values
    array([0.01, 0.04])
    """
    return over_outputs(np.square(preds - labels))


def squared_error_by_output(
    preds: FloatArray, labels: FloatArray, *, convention: Convention = Convention.LOSSCLI
) -> PerSample:
    """(ŷ − y)² per sample for RMSE; under scikit-learn's convention with k > 1 outputs the
    per-output terms are kept too, so the engine reduces RMSE as the mean of each output's
    RMSE (``root_mean_squared_error(multioutput='uniform_average')``) instead of the root of
    the mean over every element.

    >>> squared_error_by_output(np.array([0.9, 0.2]), np.array([1.0, 0.0])).values
    array([0.01, 0.04])
    """
    terms = squared_error(preds, labels)
    if convention is Convention.SKLEARN and preds.ndim == 2 and preds.shape[1] > 1:
        return replace(terms, outputs=np.square(preds - labels))
    return terms


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


def log_cosh(preds: FloatArray, labels: FloatArray) -> PerSample:
    """log(cosh(ŷ − y)) per sample (mean over outputs): ≈ d²/2 near 0, ≈ |d| − log 2 far out.

    Formula: log cosh d = |d| + log1p(exp(−2|d|)) − log 2, with d = ŷ − y.
    ``preds``, ``labels``: float (n,) or (n, k), any real values. Matches
    ``torch.log(torch.cosh(d))`` where cosh is finite and mpmath where it overflows;
    ``keras.losses.log_cosh`` to float32 precision (Keras computes in float32).

    >>> log_cosh(np.array([0.0, 1.0, 800.0]), np.zeros(3)).values.round(6).tolist()
    [0.0, 0.433781, 799.306853]
    """
    d = np.abs(preds - labels)
    # |d| + log1p(e^{-2|d|}) - log 2 never overflows, but below |d| = 1 it loses digits to
    # cancellation; there log1p(2 sinh²(d/2)) (cosh d = 1 + 2 sinh²(d/2)) is exact to rounding.
    near = np.log1p(2.0 * np.square(np.sinh(np.minimum(d, 1.0) / 2.0)))
    far = d + np.log1p(np.exp(-2.0 * d)) - LOG_2
    return over_outputs(np.where(d < 1.0, near, far))


def pinball(preds: FloatArray, labels: FloatArray, *, q: float = 0.5) -> PerSample:
    """Pinball (quantile) loss per sample (mean over outputs); its minimiser is the q-quantile.

    Formula: q·(y − ŷ) if y ≥ ŷ else (1 − q)·(ŷ − y); q = 0.5 gives half the absolute error.
    ``preds``, ``labels``: float (n,) or (n, k); ``q`` in (0, 1).
    Matches ``sklearn.metrics.mean_pinball_loss(y, ŷ, alpha=q)``.

    >>> pinball(np.array([0.0, 2.0]), np.array([1.0, 1.0]), q=0.9).values
    array([0.9, 0.1])
    """
    diff = labels - preds
    return over_outputs(np.where(diff >= 0, q * diff, (q - 1.0) * diff))


def squared_log_error(preds: FloatArray, labels: FloatArray) -> PerSample:
    """(log1p(ŷ) − log1p(y))² per sample (mean over outputs); its mean is MSLE, its root RMSLE.

    ``preds``, ``labels``: float (n,) or (n, k), every value > −1 (a ``DomainError`` names the
    rows otherwise, as scikit-learn raises). Matches
    ``sklearn.metrics.mean_squared_log_error(y, ŷ)`` (the root of the mean:
    ``root_mean_squared_log_error``).

    >>> squared_log_error(np.array([np.e - 1.0]), np.array([0.0])).values
    array([1.])
    """
    bad = (preds <= -1.0) | (labels <= -1.0)
    if bad.any():
        value = np.where(preds <= -1.0, preds, labels)[bad][0]
        raise DomainError(
            f"msle takes log1p of predictions and labels (so does rmsle), so both must be > -1, "
            f"got {value:g}",
            "use mse or mae for targets that can reach -1 (scikit-learn refuses them too)",
            bad,
        )
    return over_outputs(np.square(np.log1p(preds) - np.log1p(labels)))


def absolute_percentage_error(preds: FloatArray, labels: FloatArray) -> PerSample:
    """|y − ŷ| / max(|y|, eps) per sample (mean over outputs), eps the float64 epsilon.

    A fraction, not a percentage (0.1 means 10 %). A label of 0 divides by eps (2.2e-16), so
    the value is huge rather than infinite, as in scikit-learn. ``preds``, ``labels``: float
    (n,) or (n, k). Matches ``sklearn.metrics.mean_absolute_percentage_error(y, ŷ)``.

    >>> absolute_percentage_error(np.array([1.5, 3.0]), np.array([1.0, 4.0])).values
    array([0.5 , 0.25])
    """
    return over_outputs(np.abs(labels - preds) / np.maximum(np.abs(labels), F64_EPS))


def poisson_nll(
    preds: FloatArray,
    labels: FloatArray,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
) -> PerSample:
    """Poisson negative log-likelihood of counts y under a predicted rate, per sample.

    Formula: exp(x) − y·x for a log-rate x (``log_input``), else λ − y·log(λ + eps) for a rate
    λ ≥ 0; ``full`` adds Stirling's term y log y − y + ½ log(2πy) where y > 1 (torch adds it
    only there). Constants dropped, so values can be negative. ``preds``, ``labels``: float (n,)
    or (n, k); ``labels`` counts ≥ 0. Matches ``torch.nn.functional.poisson_nll_loss``.

    >>> poisson_nll(np.array([0.0]), np.array([2.0])).values
    array([1.])
    """
    if (labels < 0).any():
        raise DomainError(
            f"poisson_nll needs counts >= 0 as labels, got {labels[labels < 0][0]:g}",
            "use mse or gaussian_nll for targets that can be negative",
            labels < 0,
        )
    if log_input:
        out = np.exp(preds) - labels * preds
    else:
        if (preds < 0).any():
            raise DomainError(
                f"poisson_nll:log_input=false reads predictions as rates >= 0, got "
                f"{preds[preds < 0][0]:g}",
                "pass log-rates with log_input=true (the default)",
                preds < 0,
            )
        out = preds - labels * np.log(preds + eps)
    if full:
        # Stirling's approximation of log(y!); torch masks it to 0 where y <= 1.
        y = np.where(labels > 1.0, labels, 1.0)
        out = out + np.where(labels > 1.0, y * np.log(y) - y + 0.5 * np.log(2.0 * math.pi * y), 0.0)
    return over_outputs(out)


def gaussian_nll(
    preds: FloatArray, labels: FloatArray, *, full: bool = False, eps: float = 1e-6
) -> PerSample:
    """Gaussian negative log-likelihood of y under a predicted mean μ and variance σ².

    Formula: ½(log max(σ², eps) + (μ − y)² / max(σ², eps)), plus ½ log 2π with ``full``; can be
    negative. ``preds`` float (n, 2): columns μ and σ² ≥ 0 (a ``DomainError`` names rows with
    a negative variance, as torch raises); ``labels`` float (n,). Matches
    ``torch.nn.functional.gaussian_nll_loss(preds[:, 0], y, preds[:, 1])``.

    >>> gaussian_nll(np.array([[0.0, 1.0]]), np.array([2.0])).values
    array([2.])
    """
    if preds.ndim != 2 or preds.shape[1] != 2:
        raise UsageError(
            f"gaussian_nll needs predictions (n, 2), mean and variance; got {preds.shape}"
        )
    mean, var = preds[:, 0], preds[:, 1]
    if (var < 0).any():
        raise DomainError(
            f"gaussian_nll needs variances >= 0 (second prediction column), got "
            f"{var[var < 0][0]:g}",
            "give the variance, not a log-variance or a signed score",
            var < 0,
        )
    # torch clamps the variance at eps (not its gradient) so log and division stay finite.
    v = np.maximum(var, eps)
    out = 0.5 * (np.log(v) + np.square(mean - labels) / v)
    return PerSample(out + HALF_LOG_2PI if full else out)


LOSSES: tuple[LossDef, ...] = (
    LossDef(
        name="mse",
        fn=squared_error,
        target=Target.VALUES,
        summary="Mean squared error.",
        formula="mean_i (ŷ_i − y_i)²",
        reference="torch.nn.functional.mse_loss; sklearn.metrics.mean_squared_error",
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT, Task.BINARY, Task.DISTRIBUTION}),
    ),
    LossDef(
        name="rmse",
        fn=squared_error_by_output,
        target=Target.VALUES,
        summary="Root mean squared error: the square root of MSE, in the label's units.",
        formula="sqrt(mean_i (ŷ_i − y_i)²)",
        reference="sqrt of torch.nn.functional.mse_loss; "
        "sklearn.metrics.root_mean_squared_error (one output)",
        reduce=Reduce.SQRT_MEAN,
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT, Task.BINARY, Task.DISTRIBUTION}),
        conventions={
            "sklearn": "several outputs: the mean of each output's RMSE "
            "(root_mean_squared_error, multioutput='uniform_average'), not the root of the "
            "mean over every value; one output: the same number",
        },
    ),
    LossDef(
        name="mae",
        aliases=("l1",),
        fn=absolute_error,
        target=Target.VALUES,
        summary="Mean absolute error.",
        formula="mean_i |ŷ_i − y_i|",
        reference="torch.nn.functional.l1_loss; sklearn.metrics.mean_absolute_error",
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT, Task.BINARY, Task.DISTRIBUTION}),
    ),
    LossDef(
        name="huber",
        fn=huber,
        target=Target.VALUES,
        summary="Huber loss: squared near zero, linear for errors beyond delta.",
        formula="mean_i [½d² if |d| < δ else δ(|d| − ½δ)], d = ŷ_i − y_i",
        reference="torch.nn.functional.huber_loss",
        params=(Param("delta", float, 1.0, "where the loss turns linear", POSITIVE),),
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT, Task.BINARY}),
    ),
    LossDef(
        name="smooth_l1",
        fn=smooth_l1,
        target=Target.VALUES,
        summary="Smooth L1 loss: huber(δ) / δ with β = δ; L1 when beta is 0.",
        formula="mean_i [½d²/β if |d| < β else |d| − ½β], d = ŷ_i − y_i",
        reference="torch.nn.functional.smooth_l1_loss",
        params=(
            Param("beta", float, 1.0, "where the loss turns linear (0: plain L1)", NON_NEGATIVE),
        ),
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT, Task.BINARY}),
    ),
    LossDef(
        name="log_cosh",
        aliases=("logcosh",),
        fn=log_cosh,
        target=Target.VALUES,
        summary="Log-cosh: squared-like for small errors, absolute-like for large ones.",
        formula="mean_i log cosh(ŷ_i − y_i) = |d| + log1p(exp(−2|d|)) − log 2",
        reference="torch.log(torch.cosh(ŷ − y)).mean(); keras.losses.log_cosh (float32)",
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT, Task.BINARY}),
    ),
    LossDef(
        name="quantile",
        aliases=("pinball",),
        fn=pinball,
        target=Target.VALUES,
        summary="Pinball loss of a q-quantile prediction.",
        formula="mean_i [q·d if d >= 0 else (q − 1)·d], d = y_i − ŷ_i",
        reference="sklearn.metrics.mean_pinball_loss(y, ŷ, alpha=q)",
        params=(Param("q", float, 0.5, "the quantile predicted", OPEN_UNIT_INTERVAL),),
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT, Task.BINARY}),
    ),
    LossDef(
        name="msle",
        fn=squared_log_error,
        target=Target.VALUES,
        summary="Mean squared logarithmic error: squared error of log1p values (> −1).",
        formula="mean_i (log1p(ŷ_i) − log1p(y_i))²",
        reference="sklearn.metrics.mean_squared_log_error",
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT, Task.BINARY}),
    ),
    LossDef(
        name="rmsle",
        fn=squared_log_error,
        target=Target.VALUES,
        summary="Root mean squared logarithmic error: the square root of msle (values > −1).",
        formula="sqrt(mean_i (log1p(ŷ_i) − log1p(y_i))²)",
        reference="sklearn.metrics.root_mean_squared_log_error (one output)",
        reduce=Reduce.SQRT_MEAN,
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT, Task.BINARY}),
    ),
    LossDef(
        name="mape",
        fn=absolute_percentage_error,
        target=Target.VALUES,
        summary="Mean absolute percentage error, as a fraction (0.1 = 10 %).",
        formula="mean_i |y_i − ŷ_i| / max(|y_i|, eps), eps = float64 machine epsilon",
        reference="sklearn.metrics.mean_absolute_percentage_error",
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT, Task.BINARY}),
    ),
    LossDef(
        name="poisson_nll",
        fn=poisson_nll,
        target=Target.VALUES,
        summary="Poisson negative log-likelihood of counts under a predicted (log-)rate.",
        formula="mean_i [exp(x_i) − y_i x_i] (log_input) or [λ_i − y_i log(λ_i + eps)]; "
        "full adds y log y − y + ½ log(2πy) where y > 1",
        reference="torch.nn.functional.poisson_nll_loss",
        params=(
            Param("log_input", bool, True, "predictions are log-rates (else rates >= 0)"),
            Param("full", bool, False, "add Stirling's term of log(y!) where y > 1"),
            Param(
                "eps", float, 1e-8, "added to the rate inside the log (log_input=false)", POSITIVE
            ),
        ),
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT, Task.BINARY}),
        nonnegative=False,
    ),
    LossDef(
        name="gaussian_nll",
        fn=gaussian_nll,
        target=Target.MEAN_VAR,
        summary="Gaussian negative log-likelihood; predictions are a mean and a variance.",
        formula="mean_i ½[log max(σ²_i, eps) + (μ_i − y_i)² / max(σ²_i, eps)] (+ ½ log 2π if full)",
        reference="torch.nn.functional.gaussian_nll_loss(preds[:, 0], y, preds[:, 1])",
        params=(
            Param("full", bool, False, "add the constant ½ log 2π"),
            Param("eps", float, 1e-6, "variances are clamped to at least eps", POSITIVE),
        ),
        tasks=frozenset({Task.REGRESSION}),
        nonnegative=False,
    ),
)
