"""Losses between distributions: the labels are a distribution per row."""

from __future__ import annotations

import numpy as np

from losscli.losses.base import FloatArray, LossDef, PerSample, Target
from losscli.losses.numerics import KERAS_EPS, Convention, log_softmax, rel_entr


def kl_divergence(preds: FloatArray, labels: FloatArray, *, logits: bool,
                  convention: Convention = Convention.LOSSCLI) -> PerSample:
    """KL(p ‖ q) = Σ_c p_c log(p_c / q_c) per sample; its mean is torch's ``batchmean``.

    ``labels`` p (n, C) a distribution per row; ``preds`` q (n, C) probabilities (as
    ``scipy.special.rel_entr``: 0 where p = 0, +inf where q = 0 < p) or logits (q = softmax).
    Conventions: torch's default ``KLDivLoss()`` mean divides by n·C (each sample weighs C);
    Keras clips p and q to [1e-7, 1] first.

    >>> p = np.array([[0.36, 0.48, 0.16]]); q = np.full((1, 3), 1 / 3)
    >>> round(float(kl_divergence(q, p, logits=False).values[0]), 10)
    0.0852996291
    """
    if convention is Convention.KERAS and not logits:
        labels = np.clip(labels, KERAS_EPS, 1.0)
        preds = np.clip(preds, KERAS_EPS, 1.0)
    if not logits:
        values = np.sum(rel_entr(labels, preds), axis=1)
    else:
        log_q = log_softmax(preds, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.sum(np.where(labels > 0, labels * (np.log(labels) - log_q), 0.0), axis=1)
    if convention is Convention.TORCH:
        return PerSample(values, np.full(len(values), float(labels.shape[1])))
    return PerSample(values)


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
        needs_kind=True,
        tasks=("multiclass", "distribution"),
        conventions={
            "torch": "KLDivLoss() default reduction 'mean' divides by n·C, not n "
            "('batchmean' is the true KL, losscli's default)",
            "sklearn": "scikit-learn has no KL; scipy.special.rel_entr, losscli's default",
            "keras": "p and q clipped to [1e-7, 1] before Σ p log(p / q) (KLDivergence)",
        },
    ),
)
