"""Losses between distributions: the labels are a distribution per row."""

from __future__ import annotations

import numpy as np

from losscli.losses.base import FloatArray, LossDef, PerSample, Target
from losscli.losses.numerics import log_softmax, rel_entr


def kl_divergence(preds: FloatArray, labels: FloatArray, *, logits: bool) -> PerSample:
    """KL(p ‖ q) = Σ_c p_c log(p_c / q_c) per sample; its mean is torch's ``batchmean``.

    ``labels`` p (n, C) a distribution per row; ``preds`` q (n, C) probabilities (as
    ``scipy.special.rel_entr``: 0 where p = 0, +inf where q = 0 < p) or logits (q = softmax).

    >>> p = np.array([[0.36, 0.48, 0.16]]); q = np.full((1, 3), 1 / 3)
    >>> round(float(kl_divergence(q, p, logits=False).values[0]), 10)
    0.0852996291
    """
    if not logits:
        return PerSample(np.sum(rel_entr(labels, preds), axis=1))
    log_q = log_softmax(preds, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(labels > 0, labels * (np.log(labels) - log_q), 0.0)
    return PerSample(np.sum(terms, axis=1))


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
    ),
)
