"""Small stable building blocks shared by the loss functions."""

from __future__ import annotations

import functools
from enum import StrEnum

import numpy as np

from losscli.losses.base import FloatArray, PerSample

# scikit-learn clips probabilities to [eps, 1 - eps] with eps the float64 machine epsilon.
PROB_EPS = float(np.finfo(np.float64).eps)
# Keras clips probabilities to [1e-7, 1 - 1e-7] (keras.config.epsilon()).
KERAS_EPS = 1e-7
# torch's binary_cross_entropy clamps each log term at -100.
TORCH_LOG_FLOOR = -100.0


class Convention(StrEnum):
    """Whose defaults to follow where libraries disagree (probabilities at 0 or 1, KL's mean).

    ``losscli`` is scikit-learn's clipping with the true KL (torch's ``batchmean``).
    """

    LOSSCLI = "losscli"
    TORCH = "torch"
    SKLEARN = "sklearn"
    KERAS = "keras"


def prob_log(p: FloatArray, convention: Convention = Convention.LOSSCLI) -> FloatArray:
    """log(p) of probabilities, guarded against log(0) the way ``convention`` does it.

    scikit-learn clips at the machine epsilon of the predictions' own dtype: float32 input
    (the engine passes it as float32 under this convention) is clipped at 2**-23.
    """
    if convention is Convention.SKLEARN and p.dtype == np.float32:
        eps = np.finfo(np.float32).eps
        return np.log(np.clip(p, eps, np.float32(1.0) - eps))
    if convention is Convention.TORCH:
        with np.errstate(divide="ignore"):
            return np.maximum(np.log(p), TORCH_LOG_FLOOR)
    if convention is Convention.KERAS:
        return np.log(np.clip(p, KERAS_EPS, 1.0 - KERAS_EPS))
    return clipped_log(p)


def log_softmax(z: FloatArray, axis: int = -1) -> FloatArray:
    """log(softmax(z)) as z - logsumexp(z), shifted by the row max so exp never overflows."""
    m = np.max(z, axis=axis, keepdims=True)
    shifted = z - m
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


# log-softmax over the classes (axis 1) of (n, C) scores; a module constant, so its fixed axis
# is not mutated (dropped, it was the default −1: the same axis of (n, C) scores).
log_softmax_classes = functools.partial(log_softmax, axis=1)


def log_sigmoid(x: FloatArray) -> FloatArray:
    """log(sigmoid(x)) = -log1p(exp(-x)), written as min(x, 0) - log1p(exp(-|x|)) to stay finite."""
    return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


def clipped_log(p: FloatArray) -> FloatArray:
    """log(clip(p, eps, 1 - eps)): scikit-learn's guard against log(0) for probabilities."""
    return np.log(np.clip(p, PROB_EPS, 1.0 - PROB_EPS))


def log_probs(
    scores: FloatArray, *, logits: bool, convention: Convention = Convention.LOSSCLI
) -> FloatArray:
    """Row-wise log-probabilities from logits (log-softmax) or probabilities (guarded log).

    Keras renormalises probability rows before its clip; the others take rows as given.
    """
    if logits:
        return log_softmax_classes(scores)
    if convention is Convention.KERAS:
        scores = scores / scores.sum(axis=1, keepdims=True)
    return prob_log(scores, convention)


def one_hot(labels: np.ndarray, n_classes: int) -> FloatArray:
    """Float64 one-hot rows for int class indices; out-of-range indices must be checked first."""
    out = np.zeros((labels.shape[0], n_classes))  # float64, NumPy's default
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def over_outputs(x: FloatArray) -> PerSample:
    """Elementwise losses (n,) or (n, k) as per-sample terms: with k outputs a sample
    contributes their sum with weight k, so the mean is torch's mean over all elements and
    the sum torch's sum over all elements (the sample's own loss is the mean of its k)."""
    if x.ndim == 1:
        return PerSample(x)
    return PerSample(x.sum(axis=1), np.full(x.shape[0], float(x.shape[1])))


def xlogy(x: FloatArray, y: FloatArray) -> FloatArray:
    """x * log(y) with 0 where x == 0 (so 0 · log 0 = 0), as scipy.special.xlogy."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(y))


def rel_entr(p: FloatArray, q: FloatArray) -> FloatArray:
    """p · log(p / q) elementwise (scipy.special.rel_entr): 0 where p = 0, inf where q = 0 < p."""
    with np.errstate(divide="ignore", invalid="ignore"):  # p / 0 = inf: log is inf
        return np.where(p > 0, p * np.log(p / q), 0.0)
