"""Classification losses: scores (logits or probabilities) against classes.

Shapes: multiclass ``preds`` (n, C) with int ``labels`` (n,) or a soft target (n, C);
binary ``preds`` (n,) with ``labels`` in {0, 1} (soft targets in [0, 1] where allowed).
"""

from __future__ import annotations

import numpy as np

from losscli.errors import DomainError, UsageError
from losscli.losses.base import (
    NON_NEGATIVE_LIST,
    POSITIVE,
    UNIT_INTERVAL,
    FloatArray,
    LossDef,
    Param,
    PerSample,
    Target,
)
from losscli.losses.numerics import (
    Convention,
    log_probs,
    log_sigmoid,
    over_outputs,
    prob_log,
)


def _class_weights(weight: list[float] | None, n_classes: int) -> FloatArray:
    """Class weights as an array of length C (ones when not given)."""
    if weight is None:
        return np.ones(n_classes)
    if len(weight) != n_classes:
        raise UsageError(
            f"weight has {len(weight)} values but the predictions have {n_classes} classes; "
            f"give one weight per class, in the order of the prediction columns"
        )
    return np.asarray(weight, dtype=np.float64)


def _binary_log_terms(
    preds: FloatArray, *, logits: bool, convention: Convention = Convention.LOSSCLI
) -> tuple[FloatArray, FloatArray]:
    """(log p, log(1 − p)) of the positive class, from logits or guarded probabilities."""
    if logits:
        # log(1 - sigmoid(x)) = log_sigmoid(-x), exact where 1 - sigmoid(x) would round to 0.
        return log_sigmoid(preds), log_sigmoid(-preds)
    return prob_log(preds, convention), prob_log(1.0 - preds, convention)


def cross_entropy(
    preds: FloatArray,
    labels: np.ndarray,
    *,
    logits: bool,
    label_smoothing: float = 0.0,
    weight: list[float] | None = None,
    ignore_index: int = -100,
    convention: Convention = Convention.LOSSCLI,
) -> PerSample:
    """Cross-entropy −Σ_c t_c log p_c of the target t against the predicted distribution p.

    Multiclass (torch ``cross_entropy``): ``preds`` (n, C) logits (log-softmax) or probabilities
    (clipped to [eps, 1 − eps] like scikit-learn); ``labels`` int (n,) or soft (n, C). With class
    weights the mean divides by the sum of the true classes' weights (index targets) or by n
    (soft targets), as torch does; label smoothing mixes the target with the uniform one.
    Binary (one prediction column, sklearn ``log_loss``): −[y log p + (1 − y) log(1 − p)].
    ``convention`` changes only probabilities at or near 0 and 1: torch clamps each log at
    −100, Keras renormalises rows and clips to [1e-7, 1 − 1e-7].

    >>> round(float(cross_entropy(np.array([[2.0, 0.5, -1.0]]), np.array([0]),
    ...                           logits=True).values[0]), 6)
    0.241291
    """
    if preds.ndim == 1:
        if label_smoothing or weight is not None:
            raise UsageError(
                "ce on one prediction column is binary log loss and takes no label_smoothing "
                "or weight; use bce:pos_weight=... to weight the positive class"
            )
        log_p, log_q = _binary_log_terms(preds, logits=logits, convention=convention)
        return PerSample(-(labels * log_p + (1.0 - labels) * log_q))
    n_classes = preds.shape[1]
    w = _class_weights(weight, n_classes)
    logp = log_probs(preds, logits=logits, convention=convention)
    eps = label_smoothing
    if labels.ndim == 2:
        # Soft targets: smoothing mixes in the uniform distribution; the mean divides by n.
        target = labels * (1.0 - eps) + eps / n_classes if eps else labels
        return PerSample(-np.sum(target * logp * w, axis=1))
    kept = labels != ignore_index
    safe = np.where(kept, labels, 0)
    rows = np.arange(labels.shape[0])
    w_true = np.where(kept, w[safe], 0.0)
    values = (1.0 - eps) * w_true * -logp[rows, safe]
    if eps:
        # torch: the smoothing term is weighted by class and shares the nll's denominator.
        values = values + eps / n_classes * np.where(kept, -np.sum(logp * w, axis=1), 0.0)
    plain = weight is None and bool(kept.all())
    return PerSample(values, None if plain else w_true)


def binary_cross_entropy(
    preds: FloatArray,
    labels: FloatArray,
    *,
    logits: bool,
    pos_weight: float | None = None,
    convention: Convention = Convention.LOSSCLI,
) -> PerSample:
    """Binary cross-entropy −[w₊ y log p + (1 − y) log(1 − p)] per sample (mean over outputs).

    ``preds`` (n,) or (n, k) multi-label, logits (torch ``binary_cross_entropy_with_logits``,
    exact for any logit) or probabilities (torch ``binary_cross_entropy``, clipped to
    [eps, 1 − eps] like scikit-learn instead of torch's log clamp at −100); ``labels`` in [0, 1].
    ``pos_weight`` w₊ multiplies the positive term, as in torch. ``convention`` as for
    ``cross_entropy``.
    """
    log_p, log_q = _binary_log_terms(preds, logits=logits, convention=convention)
    pw = 1.0 if pos_weight is None else pos_weight
    return over_outputs(-(pw * labels * log_p + (1.0 - labels) * log_q))


def _signed(labels: FloatArray) -> FloatArray:
    """Binary labels {0, 1} as {−1, +1}."""
    return 2.0 * labels - 1.0


def _hinge_terms(preds: FloatArray, labels: np.ndarray) -> FloatArray:
    """max(0, 1 − margin): binary y·s with y = ±1, or Crammer–Singer s_y − max_{j≠y} s_j."""
    if labels.ndim == 2:
        raise UsageError("hinge losses need hard labels (one class per row), not distributions")
    if preds.ndim == 1:
        return np.maximum(0.0, 1.0 - _signed(labels) * preds)
    rows = np.arange(labels.shape[0])
    true_score = preds[rows, labels]
    others = preds.copy()
    others[rows, labels] = -np.inf
    return np.maximum(0.0, 1.0 - (true_score - others.max(axis=1)))


def hinge(preds: FloatArray, labels: np.ndarray) -> PerSample:
    """SVM hinge max(0, 1 − y·s) on decision scores (sklearn ``hinge_loss``).

    Binary: ``preds`` (n,) scores, ``labels`` {0, 1} read as −1/+1 (the larger label is +1).
    Multiclass: ``preds`` (n, C), Crammer–Singer margin s_y − max_{j≠y} s_j.

    >>> hinge(np.array([1.2, -0.5, 0.8]), np.array([1.0, 0.0, 1.0])).values
    array([0. , 0.5, 0.2])
    """
    return PerSample(_hinge_terms(preds, labels))


def squared_hinge(preds: FloatArray, labels: np.ndarray) -> PerSample:
    """Squared hinge max(0, 1 − margin)² with hinge's margins (Keras ``squared_hinge``, binary)."""
    return PerSample(np.square(_hinge_terms(preds, labels)))


def hinge_embedding(preds: FloatArray, labels: FloatArray, *, margin: float = 1.0) -> PerSample:
    """torch ``HingeEmbeddingLoss``: x for y = 1, max(0, margin − x) for y = −1.

    ``preds`` x (n,) (typically a distance), ``labels`` exactly −1 or +1. Not the SVM hinge:
    for y = 1 the loss is x itself and may be negative.
    """
    bad = (labels != 1.0) & (labels != -1.0)
    if bad.any():
        raise DomainError(
            "hinge_embedding needs labels -1 or +1",
            "map your labels to -1/+1 or use 'hinge' for the SVM hinge on 0/1 labels",
            bad,
        )
    return over_outputs(np.where(labels == 1.0, preds, np.maximum(0.0, margin - preds)))


LOSSES: tuple[LossDef, ...] = (
    LossDef(
        name="ce",
        aliases=("cross_entropy", "log_loss"),
        fn=cross_entropy,
        target=Target.CLASSES,
        summary="Cross-entropy (log loss) of the true class under the predicted distribution.",
        formula="mean_i −Σ_c t_ic log p_ic; p = softmax(logits) or the given probabilities",
        reference="torch.nn.functional.cross_entropy; sklearn.metrics.log_loss (probabilities, "
        "binary)",
        params=(
            Param("label_smoothing", float, 0.0, "mix the target with the uniform distribution",
                  UNIT_INTERVAL),
            Param("weight", list, None, "one weight per class, in prediction-column order",
                  NON_NEGATIVE_LIST),
            Param("ignore_index", int, -100, "rows with this label count nowhere"),
        ),
        needs_kind=True,
        conventions={
            "torch": "probabilities: each log clamped at -100 (as torch's BCELoss; torch's "
            "cross_entropy itself takes logits)",
            "sklearn": "probabilities clipped to [eps, 1 - eps], float64 eps (log_loss); "
            "losscli's default",
            "keras": "probability rows renormalised to sum 1, then clipped to "
            "[1e-7, 1 - 1e-7] (categorical_crossentropy)",
        },
        tasks=("binary", "multiclass", "distribution"),
    ),
    LossDef(
        name="bce",
        aliases=("binary_cross_entropy",),
        fn=binary_cross_entropy,
        target=Target.CLASSES,
        summary="Binary cross-entropy on one (or k independent) positive-class scores.",
        formula="mean_i −[w₊ y_i log p_i + (1 − y_i) log(1 − p_i)]; p = sigmoid(logit) or given",
        reference="torch.nn.functional.binary_cross_entropy_with_logits; "
        "torch.nn.functional.binary_cross_entropy",
        params=(Param("pos_weight", float, None, "weight of the positive term", POSITIVE),),
        needs_kind=True,
        independent_columns=True,
        conventions={
            "torch": "probabilities: each log clamped at -100 (binary_cross_entropy)",
            "sklearn": "probabilities clipped to [eps, 1 - eps], float64 eps; losscli's default",
            "keras": "probabilities clipped to [1e-7, 1 - 1e-7] (binary_crossentropy)",
        },
        tasks=("binary", "multilabel"),
    ),
    LossDef(
        name="hinge",
        fn=hinge,
        target=Target.CLASSES,
        summary="SVM hinge on decision scores; Crammer–Singer for several classes.",
        formula="mean_i max(0, 1 − y_i s_i), y = ±1; multiclass margin s_y − max_{j≠y} s_j",
        reference="sklearn.metrics.hinge_loss",
        tasks=("binary", "multiclass"),
    ),
    LossDef(
        name="squared_hinge",
        fn=squared_hinge,
        target=Target.CLASSES,
        summary="Squared SVM hinge: penalises margin violations quadratically.",
        formula="mean_i max(0, 1 − y_i s_i)²; multiclass margin s_y − max_{j≠y} s_j",
        reference="keras.losses.squared_hinge (binary); square of sklearn hinge terms",
        tasks=("binary", "multiclass"),
    ),
    LossDef(
        name="hinge_embedding",
        fn=hinge_embedding,
        target=Target.VALUES,
        summary="torch's HingeEmbeddingLoss for ±1 similarity labels (not the SVM hinge).",
        formula="mean_i [x_i if y_i = 1 else max(0, margin − x_i)]",
        reference="torch.nn.functional.hinge_embedding_loss",
        params=(Param("margin", float, 1.0, "the margin for dissimilar pairs (y = −1)"),),
        tasks=("regression", "binary"),
        nonnegative=False,
    ),
)
