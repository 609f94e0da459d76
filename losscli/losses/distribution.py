"""Losses between distributions: the labels are a distribution per row."""

from __future__ import annotations

import math

import numpy as np

from losscli.losses.base import LOG_BASE, FloatArray, LossDef, Param, PerSample, Target, Task
from losscli.losses.kernels import log_softmax_blocks
from losscli.losses.numerics import (
    KERAS_EPS,
    Convention,
    log_softmax_classes,
    rel_entr,
    xlogy,
)


def _kl_log_target(preds: FloatArray, log_p: FloatArray, *, logits: bool) -> FloatArray:
    """Σ_c p_c (log p_c − log q_c) from log p itself (torch ``log_target=True``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = log_softmax_classes(preds) if logits else np.log(preds)
        p = np.exp(log_p)
        # 0 where p = 0 (log p = −inf), +inf where q = 0 < p, as rel_entr.
        return np.sum(np.where(p > 0, p * (log_p - log_q), 0.0), axis=1)


def _kl_logits(preds: FloatArray, labels: FloatArray) -> FloatArray:
    """Σ_c p_c (log p_c − log q_c), q = softmax(logits), one row block at a time."""
    out = np.empty(len(preds))

    def block(rows: slice, log_q: np.ndarray, q: np.ndarray) -> None:
        p = labels[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            # Elementwise, as torch's kl_div: p ≈ q cancels term by term, not in two sums.
            terms = np.where(p > 0, p * (np.log(p) - log_q[:, :, 0]), 0.0)
        out[rows] = terms.sum(axis=1)

    log_softmax_blocks(preds, block)
    return out


def _js_terms(p: FloatArray, q: FloatArray) -> FloatArray:
    """½ Σ_c [rel_entr(p, m) + rel_entr(q, m)] per row, m = ½(p + q)."""
    m = 0.5 * (p + q)
    # rel_entr is 0 where p = 0, and m > 0 wherever p > 0 or q > 0: every term is finite.
    return 0.5 * (np.sum(rel_entr(p, m), axis=1) + np.sum(rel_entr(q, m), axis=1))


def _js_logits(preds: FloatArray, labels: FloatArray) -> FloatArray:
    """``_js_terms`` with q = softmax(logits), one row block at a time."""
    out = np.empty(len(preds))

    def block(rows: slice, log_q: np.ndarray, q: np.ndarray) -> None:
        out[rows] = _js_terms(labels[rows], q[:, :, 0])

    log_softmax_blocks(preds, block)
    return out


def kl_divergence(
    preds: FloatArray,
    labels: FloatArray,
    *,
    logits: bool,
    log_target: bool = False,
    convention: Convention = Convention.LOSSCLI,
) -> PerSample:
    """KL(p ‖ q) = Σ_c p_c log(p_c / q_c) per sample; its mean is torch's ``batchmean``.

    ``labels`` p (n, C) a distribution per row, or log p with ``log_target`` (torch's
    ``log_target=True``: log-probabilities keep tiny p exact); ``preds`` q (n, C)
    probabilities (as ``scipy.special.rel_entr``: 0 where p = 0, +inf where q = 0 < p) or
    logits (q = softmax). Conventions: torch's default ``KLDivLoss()`` mean divides by n·C
    (each sample weighs C); Keras clips p and q to [1e-7, 1] first.

    >>> p = np.array([[0.36, 0.48, 0.16]]); q = np.full((1, 3), 1 / 3)
    >>> round(float(kl_divergence(q, p, logits=False).values[0]), 10)
    0.0852996013
    >>> round(float(kl_divergence(q, np.log(p), logits=False, log_target=True).values[0]), 10)
    0.0852996013
    """
    if log_target and convention is not Convention.KERAS:
        values = _kl_log_target(preds, labels, logits=logits)
    else:
        if log_target:  # Keras has no log target: clip the probabilities it stands for
            labels = np.exp(labels)
        if convention is Convention.KERAS and not logits:
            labels = np.clip(labels, KERAS_EPS, 1.0)
            preds = np.clip(preds, KERAS_EPS, 1.0)
        if not logits:
            values = np.sum(rel_entr(labels, preds), axis=1)
        else:
            values = _kl_logits(preds, labels)
    if convention is Convention.TORCH:
        return PerSample(values, np.full(len(values), float(labels.shape[1])))
    return PerSample(values)


def jensen_shannon(
    preds: FloatArray, labels: FloatArray, *, logits: bool, base: float | None = None
) -> PerSample:
    """Jensen–Shannon divergence ½ KL(p ‖ m) + ½ KL(q ‖ m), m = ½(p + q), per sample.

    Symmetric, finite (at most log 2, i.e. 1 bit with ``base`` 2) even where q = 0 < p, unlike
    KL. ``labels`` p (n, C) a distribution per row; ``preds`` q (n, C) probabilities or logits
    (q = softmax); ``base`` of the logarithm, None for the natural log. Equals
    ``scipy.spatial.distance.jensenshannon(p, q, base) ** 2`` (scipy returns the distance, the
    square root).

    >>> p = np.array([[1.0, 0.0]]); q = np.array([[0.0, 1.0]])
    >>> jensen_shannon(q, p, logits=False, base=2).values
    array([1.])
    """
    js = _js_logits(preds, labels) if logits else _js_terms(labels, preds)
    if base is not None:
        js = js / math.log(base)
    # JS >= 0; the two sums can round to a difference of -1e-17 when p == q.
    return PerSample(np.maximum(js, 0.0))


def entropy(preds: FloatArray, labels: np.ndarray, *, logits: bool) -> PerSample:
    """Shannon entropy −Σ_c q_c log q_c of each predicted distribution; the labels are unused.

    ``preds`` q (n, C) probabilities (0 · log 0 = 0) or logits (q = softmax, computed from
    log-softmax so it stays finite); ``labels`` are only checked, like any labels, and ignored.
    Natural log (nats); 0 for a one-hot row, log C for the uniform one. Matches
    ``scipy.stats.entropy(q, axis=1)``.

    >>> entropy(np.array([[0.5, 0.5], [1.0, 0.0]]), np.array([0, 0]), logits=False).values
    array([0.69314718, 0.        ])
    """
    if logits:
        log_q = log_softmax_classes(preds)
        return PerSample(0.0 - np.sum(np.exp(log_q) * log_q, axis=1))
    # 0.0 - x rather than -x: a one-hot row has entropy 0.0, not -0.0.
    return PerSample(0.0 - np.sum(xlogy(preds, preds), axis=1))


LOSSES: tuple[LossDef, ...] = (
    LossDef(
        name="kl",
        aliases=("kl_div", "kl_divergence"),
        fn=kl_divergence,
        target=Target.DISTRIBUTIONS,
        summary="Kullback–Leibler divergence of the predicted from the target distribution.",
        formula="mean_i Σ_c p_ic log(p_ic / q_ic); p = labels, q = predictions",
        reference="torch.nn.functional.kl_div(log q, p, reduction='batchmean'); "
        "scipy.special.rel_entr",
        params=(
            Param(
                "log_target",
                bool,
                False,
                "the labels are log-probabilities log p (torch's log_target)",
            ),
        ),
        log_labels="log_target",
        needs_kind=True,
        # Negative for q rows that do not sum to 1 (Keras takes them as they are) and by a
        # little within the 1e-4 row-sum tolerance, so its interval is not cut at 0.
        nonnegative=False,
        tasks=frozenset({Task.MULTICLASS, Task.DISTRIBUTION}),
        conventions={
            "torch": "KLDivLoss() default reduction 'mean' divides by n·C, not n "
            "('batchmean' is the true KL, losscli's default)",
            "sklearn": "scikit-learn has no KL; scipy.special.rel_entr, losscli's default",
            "keras": "p and q clipped to [1e-7, 1] before Σ p log(p / q) (KLDivergence)",
        },
    ),
    LossDef(
        name="js",
        aliases=("jensen_shannon",),
        fn=jensen_shannon,
        target=Target.DISTRIBUTIONS,
        summary="Jensen–Shannon divergence: symmetric, bounded KL to the mixture.",
        formula="mean_i ½ Σ_c [p_ic log(p_ic / m_ic) + q_ic log(q_ic / m_ic)], m = ½(p + q)",
        reference="scipy.spatial.distance.jensenshannon(p, q, base) ** 2",
        params=(Param("base", float, None, "logarithm base (default e: nats; 2: bits)", LOG_BASE),),
        needs_kind=True,
        tasks=frozenset({Task.MULTICLASS, Task.DISTRIBUTION}),
    ),
    LossDef(
        name="entropy",
        fn=entropy,
        target=Target.DISTRIBUTIONS,
        summary="Shannon entropy of each predicted distribution (labels unused): uncertainty.",
        formula="mean_i −Σ_c q_ic log q_ic; q = softmax(logits) or the given probabilities",
        reference="scipy.stats.entropy(q, axis=1)",
        needs_kind=True,
        tasks=frozenset({Task.MULTICLASS, Task.DISTRIBUTION}),
    ),
)
