"""Unit deviances of the Tweedie family (scikit-learn's ``mean_tweedie_deviance`` and kin).

``preds`` ŷ and ``labels`` y are real values of the same shape, ``(n,)`` or ``(n, k)``; each
function returns one deviance per sample (the mean over its k outputs). Every power has a
domain (scikit-learn refuses values outside it; so does losscli, naming the rows).
"""

from __future__ import annotations

import numpy as np

from losscli.errors import DomainError
from losscli.losses.base import FloatArray, LossDef, Param, PerSample, Rule, Target, Task
from losscli.losses.numerics import over_outputs, xlogy

# scikit-learn: "power" must be <= 0 or >= 1 (there is no Tweedie distribution in between).
TWEEDIE_POWER = Rule(
    "<= 0 or >= 1 (no Tweedie distribution lies in between)", lambda v: v <= 0 or v >= 1
)


def _domain(name: str, power: float, preds: FloatArray, labels: FloatArray) -> None:
    """scikit-learn's domain of each power: raise a ``DomainError`` naming the bad rows."""
    bad_pred = preds <= 0 if power < 0 or power >= 1 else np.zeros(preds.shape, dtype=bool)
    if power >= 2:
        bad_label, need = labels <= 0, "labels > 0 and predictions > 0"
    elif power >= 1:
        bad_label, need = labels < 0, "labels >= 0 and predictions > 0"
    else:
        bad_label, need = np.zeros(labels.shape, dtype=bool), "predictions > 0"
    bad = bad_pred | bad_label
    if bad.any():
        what = "prediction" if bad_pred.any() else "label"
        value = (preds if bad_pred.any() else labels)[bad_pred if bad_pred.any() else bad_label][0]
        raise DomainError(
            f"{name} (Tweedie power {power:g}) needs {need}, got the {what} {value:g}",
            "predict a positive mean (e.g. exp of a linear model), or use mse for such targets",
            bad,
        )


def _tweedie_terms(preds: FloatArray, labels: FloatArray, power: float) -> FloatArray:
    """The unit deviance d(y, ŷ) of ``sklearn.metrics._regression._mean_tweedie_deviance``."""
    p = power
    if p == 0:
        return np.square(labels - preds)
    if p == 1:
        # xlogy: y log(y / ŷ) is 0 at y = 0.
        return 2.0 * (xlogy(labels, labels / preds) - labels + preds)
    if p == 2:
        return 2.0 * (np.log(preds / labels) + labels / preds - 1.0)
    # For p < 0, y may be negative: its term uses max(y, 0) as scikit-learn does.
    y_pos = np.where(labels > 0, labels, 0.0) if p < 0 else labels
    return 2.0 * (
        np.power(y_pos, 2.0 - p) / ((1.0 - p) * (2.0 - p))
        - labels * np.power(preds, 1.0 - p) / (1.0 - p)
        + np.power(preds, 2.0 - p) / (2.0 - p)
    )


def tweedie(preds: FloatArray, labels: FloatArray, *, power: float = 0.0) -> PerSample:
    """Tweedie unit deviance of y under a predicted mean ŷ, per sample (mean over outputs).

    Formula (p = ``power``): 2·[max(y, 0)^(2−p)/((1−p)(2−p)) − y·ŷ^(1−p)/(1−p) + ŷ^(2−p)/(2−p)];
    p = 0 is (y − ŷ)², p = 1 the Poisson deviance 2[y log(y/ŷ) − y + ŷ], p = 2 the Gamma
    deviance 2[log(ŷ/y) + y/ŷ − 1]. Domains: p < 0 needs ŷ > 0; 1 <= p < 2 needs y >= 0 and
    ŷ > 0; p >= 2 needs y > 0 and ŷ > 0; p in (0, 1) is refused. Matches
    ``sklearn.metrics.mean_tweedie_deviance(y, ŷ, power=p)``.

    >>> d = tweedie(np.array([0.5, 0.5, 2.0, 2.0]), np.array([2.0, 0.0, 1.0, 4.0]), power=1)
    >>> round(float(d.values.mean()), 4)  # scikit-learn's docstring example: 1.4260...
    1.426
    """
    _domain("tweedie", power, preds, labels)
    return over_outputs(_tweedie_terms(preds, labels, power))


def poisson_deviance(preds: FloatArray, labels: FloatArray) -> PerSample:
    """Poisson deviance 2[y log(y/ŷ) − y + ŷ] per sample: counts y >= 0, rates ŷ > 0.

    ``tweedie`` with power 1. Matches ``sklearn.metrics.mean_poisson_deviance(y, ŷ)``.

    >>> poisson_deviance(np.array([1.0]), np.array([0.0])).values
    array([2.])
    """
    _domain("poisson_deviance", 1.0, preds, labels)
    return over_outputs(_tweedie_terms(preds, labels, 1.0))


def gamma_deviance(preds: FloatArray, labels: FloatArray) -> PerSample:
    """Gamma deviance 2[log(ŷ/y) + y/ŷ − 1] per sample: y > 0, ŷ > 0; scale-free.

    ``tweedie`` with power 2. Matches ``sklearn.metrics.mean_gamma_deviance(y, ŷ)``.

    >>> gamma_deviance(np.array([2.0]), np.array([2.0])).values
    array([0.])
    """
    _domain("gamma_deviance", 2.0, preds, labels)
    return over_outputs(_tweedie_terms(preds, labels, 2.0))


LOSSES: tuple[LossDef, ...] = (
    LossDef(
        name="tweedie",
        aliases=("tweedie_deviance",),
        fn=tweedie,
        target=Target.VALUES,
        summary="Tweedie deviance of a predicted mean (power 0 MSE, 1 Poisson, 2 Gamma).",
        formula="mean_i 2[max(y,0)^(2−p)/((1−p)(2−p)) − y ŷ^(1−p)/(1−p) + ŷ^(2−p)/(2−p)]",
        reference="sklearn.metrics.mean_tweedie_deviance(y, ŷ, power=p)",
        params=(Param("power", float, 0.0, "the Tweedie power p", TWEEDIE_POWER),),
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT, Task.BINARY}),
    ),
    LossDef(
        name="poisson_deviance",
        fn=poisson_deviance,
        target=Target.VALUES,
        summary="Poisson deviance of predicted rates for counts (Tweedie power 1).",
        formula="mean_i 2[y_i log(y_i / ŷ_i) − y_i + ŷ_i]; y >= 0, ŷ > 0",
        reference="sklearn.metrics.mean_poisson_deviance",
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT}),
    ),
    LossDef(
        name="gamma_deviance",
        fn=gamma_deviance,
        target=Target.VALUES,
        summary="Gamma deviance of predicted positive means (Tweedie power 2): relative errors.",
        formula="mean_i 2[log(ŷ_i / y_i) + y_i / ŷ_i − 1]; y > 0, ŷ > 0",
        reference="sklearn.metrics.mean_gamma_deviance",
        tasks=frozenset({Task.REGRESSION, Task.MULTIOUTPUT}),
    ),
)
