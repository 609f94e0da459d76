"""Classification losses: scores (logits or probabilities) against classes.

Shapes: multiclass ``preds`` (n, C) with int ``labels`` (n,) or a soft target (n, C);
binary ``preds`` (n,) with ``labels`` in {0, 1} (soft targets in [0, 1] where allowed).
"""

from __future__ import annotations

import math

import numpy as np

from losscli.errors import DomainError, UsageError
from losscli.losses.base import (
    CLASS_WEIGHT,
    IGNORE_INDEX,
    NON_NEGATIVE,
    ONE_OR_TWO,
    POSITIVE_LIST,
    UNIT_INTERVAL,
    WEIGHT_OR_OFF,
    FloatArray,
    LossDef,
    Param,
    PerSample,
    Target,
    Task,
)
from losscli.losses.kernels import log_softmax_terms
from losscli.losses.numerics import (
    Convention,
    log_probs,
    log_sigmoid,
    one_hot,
    over_outputs,
    prob_log,
)

# Rows of log-probabilities must have exp summing to 1 within this tolerance (as rows of
# probabilities do: losscli.interpret.plan.PROB_SUM_TOL).
LOG_PROB_SUM_TOL = 1e-4


def _given_weights(weight: list[float] | None, n_classes: int) -> FloatArray | None:
    """Class weights as a float64 array of length C, None when not given."""
    if weight is None:
        return None
    if len(weight) != n_classes:
        raise UsageError(
            f"weight has {len(weight)} values but the predictions have {n_classes} classes; "
            f"give one weight per class, in the order of the prediction columns"
        )
    return np.asarray([float(v) for v in weight])


def _class_weights(weight: list[float] | None, n_classes: int) -> FloatArray:
    """Class weights as an array of length C (ones when not given)."""
    given = _given_weights(weight, n_classes)
    return np.ones(n_classes) if given is None else given


def _gather_true(scores: FloatArray, labels: np.ndarray) -> FloatArray:
    """Each position's score of its class: (n,) from (n, C) and (n,), or (n·d1·…,) from dense
    (n, C, d1, ...) and (n, d1, ...), in (n, d1, ...) order; labels in 0..C−1."""
    n, c = scores.shape[:2]
    d = math.prod(scores.shape[2:])  # positions a sample: d1·…, 1 for (n, C) scores
    return np.take_along_axis(scores.reshape(n, c, d), labels.reshape(n, 1, d), axis=1).ravel()


def _true_class_nll(
    logp: FloatArray, labels: np.ndarray, w: FloatArray, ignore_index: int
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """(w[y]·(−log p_y), w[y], kept) per row (or position of a dense map) for int labels; 0 and
    0 where y == ignore_index (as torch, even where the stand-in class 0 has log p = −inf)."""
    kept = labels.ravel() != ignore_index
    safe = labels.ravel() * kept  # an ignored row's stand-in class: 0
    w_true = np.where(kept, w[safe], 0.0)
    with np.errstate(invalid="ignore"):  # 0 · ∞ where an ignored row's class 0 has p = 0
        terms = w_true * -_gather_true(logp, safe)
    return np.where(kept, terms, 0.0), w_true, kept


def _index_weights(
    w_true: FloatArray, kept: np.ndarray, weight: list[float] | FloatArray | None
) -> FloatArray | None:
    """torch's denominator shares for index targets: Σ w[y] of counted rows (None: 1 each)."""
    return None if weight is None and bool(kept.all()) else w_true


def _hard_labels(name: str, preds: FloatArray, labels: np.ndarray, *, maps: bool = False) -> None:
    """Refuse one score column or soft labels for a loss that needs (n, C) scores and indices
    (``maps``: or dense (n, C, d1, ...) scores against (n, d1, ...) indices, torch's layout)."""
    if preds.ndim < 2 or (preds.ndim > 2 and not maps):
        raise UsageError(
            f"{name} needs one score column per class (at least two); for one "
            "binary score column use bce or hinge"
        )
    if labels.ndim != preds.ndim - 1:
        raise UsageError(
            f"{name} needs hard labels (one class index per row), not "
            "distributions; for soft labels use ce or kl"
        )


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
    Dense maps (n, C, d1, ...) against (n, d1, ...) give one term per position, in
    (n, d1, ...) order, as torch's ``reduction="none"``.
    Binary (one prediction column, sklearn ``log_loss``): −[y log p + (1 − y) log(1 − p)].
    ``convention`` changes only probabilities at or near 0 and 1: torch clamps each log at
    −100, Keras renormalises rows and clips to [1e-7, 1 − 1e-7].

    >>> round(float(cross_entropy(np.array([[2.0, 0.5, -1.0]]), np.array([0]),
    ...                           logits=True).values[0]), 6)
    0.241311
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
    if logits:  # the row-block kernels; dense maps in their own layout
        given = _given_weights(weight, n_classes)
        return _ce_logits(preds, labels, given, label_smoothing, ignore_index)
    w = _class_weights(weight, n_classes)
    if preds.ndim > 2:  # dense probabilities as positions (n·d1·…, C) against (n·d1·…,)
        positions = np.moveaxis(preds, 1, -1)
        preds, labels = positions.reshape(preds.size // n_classes, n_classes), labels.ravel()
    logp = log_probs(preds, logits=logits, convention=convention)
    eps = label_smoothing
    if labels.ndim == 2:
        # Soft targets: smoothing mixes in the uniform distribution; the mean divides by n.
        target = labels * (1.0 - eps) + eps / n_classes
        return PerSample(-np.sum(target * logp * w, axis=1))
    nll_terms, w_true, kept = _true_class_nll(logp, labels, w, ignore_index)
    values = (1.0 - eps) * nll_terms
    if eps:
        # torch: the smoothing term is weighted by class and shares the nll's denominator.
        values = values + eps / n_classes * np.where(kept, -np.sum(logp * w, axis=1), 0.0)
    return PerSample(values, _index_weights(w_true, kept, weight))


def _ce_logits(
    preds: FloatArray,
    labels: np.ndarray,
    given: FloatArray | None,
    eps: float,
    ignore_index: int,
) -> PerSample:
    """Multiclass cross-entropy from logits by the fused row-block kernel (``kernels``);
    ``given``: the class weights, None when not given (the kernel then multiplies by none).

    With m the row max and l = log Σ exp(z − m): −log p_y = l − (z_y − m), and
    −Σ_c a_c log p_c = (Σ_c a_c)·l − Σ_c a_c (z_c − m) for the smoothing and soft targets.
    """
    n_classes = preds.shape[1]
    if labels.ndim == preds.ndim:
        # Soft targets: smoothing mixes in the uniform distribution; the mean divides by n.
        target = labels * (1.0 - eps) + eps / n_classes
        t = log_softmax_terms(preds, target=target, class_weights=given)
        mass = target.sum(axis=1) if given is None else target @ given
        assert t.dot is not None
        return PerSample(mass * t.log_sum - t.dot)
    kept = labels.ravel() != ignore_index
    safe = labels.ravel() * kept  # an ignored row's stand-in class: 0
    t = log_softmax_terms(preds, labels=safe, dot=bool(eps), class_weights=given)  # for the dot
    w = np.ones(n_classes) if given is None else given
    w_true = np.where(kept, w[safe], 0.0)
    with np.errstate(invalid="ignore"):  # 0 · ∞ where an ignored row's class 0 has p = 0
        values = np.where(kept, w_true * -t.log_p_true(), 0.0)  # ignored: 0, as torch
    if eps:
        assert t.dot is not None
        # torch: the smoothing term is weighted by class and shares the nll's denominator.
        smooth = np.where(kept, w.sum() * t.log_sum - t.dot, 0.0)
        values = (1.0 - eps) * values + eps / n_classes * smooth
    return PerSample(values, _index_weights(w_true, kept, given))


def _pos_weights(pos_weight: list[float] | None, preds: FloatArray) -> FloatArray | float:
    """torch's ``pos_weight``: one value for every column, or one per column (multi-label)."""
    if pos_weight is None:
        return 1.0
    k = 1 if preds.ndim == 1 else preds.shape[1]
    if len(pos_weight) == 1:
        return pos_weight[0]
    if len(pos_weight) != k:
        raise UsageError(
            f"pos_weight has {len(pos_weight)} values but the predictions have {k} "
            "column(s); give one value, or one per prediction column in their order"
        )
    return np.asarray([float(v) for v in pos_weight])


def binary_cross_entropy(
    preds: FloatArray,
    labels: FloatArray,
    *,
    logits: bool,
    pos_weight: list[float] | None = None,
    label_smoothing: float = 0.0,
    convention: Convention = Convention.LOSSCLI,
) -> PerSample:
    """Binary cross-entropy −[w₊ y log p + (1 − y) log(1 − p)] per sample (mean over outputs).

    ``preds`` (n,) or (n, k) multi-label, logits (torch ``binary_cross_entropy_with_logits``,
    exact for any logit) or probabilities (torch ``binary_cross_entropy``, clipped to
    [eps, 1 − eps] like scikit-learn instead of torch's log clamp at −100); ``labels`` in [0, 1].
    ``pos_weight`` w₊ multiplies the positive term, as in torch: one value, or a list with one
    value per column (torch's ``pos_weight`` tensor of shape (k,)). ``label_smoothing`` ε
    replaces y by y(1 − ε) + ε/2 first, as Keras ``binary_crossentropy(label_smoothing=ε)``
    (torch's BCE has no such option). ``convention`` as for ``cross_entropy``.

    >>> binary_cross_entropy(np.array([[0.0, 0.0]]), np.array([[1.0, 1.0]]), logits=True,
    ...                      pos_weight=[1.0, 3.0]).values.round(6)  # (log 2 + 3 log 2) / 2
    array([2.772589])
    """
    log_p, log_q = _binary_log_terms(preds, logits=logits, convention=convention)
    pw = _pos_weights(pos_weight, preds)
    y = labels * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return over_outputs(-(pw * y * log_p + (1.0 - y) * log_q))


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


def nll(
    preds: FloatArray,
    labels: np.ndarray,
    *,
    weight: list[float] | None = None,
    ignore_index: int = -100,
) -> PerSample:
    """Negative log-likelihood −w_y·log p_y of the true class, from log-probabilities.

    ``preds`` (n, C) log-probabilities (``log_softmax`` output: every value <= 0 and each row's
    exp summing to 1, else a ``DomainError`` names the rows: probabilities or logits belong to
    ``ce``); ``labels`` int (n,) in 0..C−1 or ``ignore_index``; dense maps (n, C, d1, ...)
    against (n, d1, ...) give one term per position. Weights as ``ce``: with class
    weights the mean divides by Σ w[y] of counted rows; ignored rows count nowhere.
    Matches ``torch.nn.functional.nll_loss``.

    >>> nll(np.log(np.array([[0.5, 0.25, 0.25]])), np.array([1])).values.round(6)
    array([1.386294])
    """
    _hard_labels("nll", preds, labels, maps=True)
    t = log_softmax_terms(preds, row_max=True)  # the max tells values <= 0
    with np.errstate(over="ignore"):
        sums = np.exp(t.shift + t.log_sum)  # Σ_c exp(z_c), by the row-block kernel
    bad = (t.shift > 0) | (np.abs(sums - 1.0) > LOG_PROB_SUM_TOL)
    if bad.any():
        raise DomainError(
            f"nll takes log-probabilities (values <= 0 whose exp sums to 1 per row), but a row's "
            f"exp sums to {sums[bad][0]:.6g}",
            "pass log_softmax outputs, or use ce for logits or probabilities",
            bad,
        )
    w = _class_weights(weight, preds.shape[1])
    values, w_true, kept = _true_class_nll(preds, labels, w, ignore_index)
    return PerSample(values, _index_weights(w_true, kept, weight))


def focal(
    preds: FloatArray,
    labels: np.ndarray,
    *,
    logits: bool,
    alpha: float | None = None,
    gamma: float = 2.0,
) -> PerSample:
    """Focal loss: cross-entropy scaled by (1 − p_t)^γ, so confident right answers count less.

    Binary (torchvision ``sigmoid_focal_loss``): ``preds`` (n,) logits or probabilities,
    ``labels`` in [0, 1]; loss = α_t·(1 − p_t)^γ·BCE with p_t = p·y + (1 − p)(1 − y) and
    α_t = α·y + (1 − α)(1 − y); ``alpha`` defaults to 0.25, a negative value disables it.
    Multiclass (softmax focal): ``preds`` (n, C), ``labels`` int (n,);
    loss = −(1 − p_y)^γ·log p_y, times ``alpha`` only when one is given (kornia's constant
    factor; none by default, as the reference cases define it). γ = 0 and no α give ce/bce.
    Probabilities are clipped to [eps, 1 − eps] inside the log, as ``ce`` does.

    >>> focal(np.array([0.0]), np.array([1.0]), logits=True).values.round(6)  # ¼·¼·log 2
    array([0.043322])
    """
    if preds.ndim == 1:
        log_p, log_q = _binary_log_terms(preds, logits=logits)
        bce = -(labels * log_p + (1.0 - labels) * log_q)
        # 1 − p_t = y(1 − p) + (1 − y)p, with 1 − p = sigmoid(−x) exact for logits.
        p, q = (np.exp(log_p), np.exp(log_q)) if logits else (preds, 1.0 - preds)
        out = np.power(labels * q + (1.0 - labels) * p, gamma) * bce
        a = 0.25 if alpha is None else alpha
        if a >= 0:
            out = (a * labels + (1.0 - a) * (1.0 - labels)) * out
        return PerSample(out)
    _hard_labels("focal", preds, labels, maps=True)
    if logits:
        log_py = log_softmax_terms(preds, labels=labels).log_p_true()
    else:  # the guarded log is elementwise: only the true classes' probabilities are needed
        log_py = prob_log(_gather_true(preds, labels))
    # 1 − p_y = −expm1(log p_y), exact when p_y is close to 1.
    out = -np.power(-np.expm1(log_py), gamma) * log_py
    return PerSample(out if alpha is None or alpha < 0 else alpha * out)


def multi_margin(
    preds: FloatArray,
    labels: np.ndarray,
    *,
    p: int = 1,
    margin: float = 1.0,
    weight: list[float] | None = None,
) -> PerSample:
    """Multiclass margin loss: w_y/C · Σ_{j≠y} max(0, margin − s_y + s_j)^p.

    ``preds`` (n, C) scores, ``labels`` int (n,); ``p`` 1 or 2; ``weight`` one per class,
    applied to the true class. Unlike ``ce``, torch's mean divides by n even with weights.
    Sums over every wrong class and divides by C (``hinge`` takes the largest wrong score).
    Matches ``torch.nn.functional.multi_margin_loss``.

    >>> multi_margin(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3])).values
    array([0.325])
    """
    _hard_labels("multi_margin", preds, labels)
    n, n_classes = preds.shape
    rows = np.arange(n)
    z = np.maximum(0.0, margin - preds[rows, labels][:, None] + preds)
    if p == 2:
        z = z * z
    z[rows, labels] = 0.0  # the true class is not a competitor
    w_true = _class_weights(weight, n_classes)[labels]
    return PerSample(w_true * z.sum(axis=1) / n_classes)


def categorical_hinge(preds: FloatArray, labels: np.ndarray) -> PerSample:
    """Keras's categorical hinge max(0, 1 + neg − pos) per sample.

    Formula: pos = Σ_c y_c s_c, neg = max_c (1 − y_c) s_c, with y the one-hot (or given) target.

    ``preds`` (n, C) scores; ``labels`` int (n,) (read one-hot) or a target (n, C). Exactly as
    ``keras.losses.categorical_hinge``: neg is the max of (1 − y)·s over all classes, where the
    true class contributes 0, so neg >= 0 — not the largest wrong score when every wrong score is
    negative (then this is max(0, 1 − s_y), while Crammer–Singer ``hinge`` uses the wrong
    scores themselves). Keras computes in float32; this is the same formula in float64.

    >>> categorical_hinge(np.array([[-2.0, -1.0, 0.5]]), np.array([2])).values
    array([0.5])
    """
    if preds.ndim != 2:
        raise UsageError(
            "categorical_hinge needs one score column per class (at least two); "
            "for one binary score column use hinge"
        )
    target = one_hot(labels, preds.shape[1]) if labels.ndim == 1 else labels
    pos = np.sum(target * preds, axis=1)
    neg = np.max((1.0 - target) * preds, axis=1)
    return PerSample(np.maximum(0.0, neg - pos + 1.0))


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
            Param(
                "label_smoothing",
                float,
                0.0,
                "mix the target with the uniform distribution",
                UNIT_INTERVAL,
            ),
            CLASS_WEIGHT,
            IGNORE_INDEX,
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
        tasks=frozenset(
            {Task.REGRESSION, Task.BINARY, Task.MULTICLASS, Task.DISTRIBUTION, Task.DENSE}
        ),
    ),
    LossDef(
        name="bce",
        aliases=("binary_cross_entropy",),
        fn=binary_cross_entropy,
        target=Target.CLASSES,
        summary="Binary cross-entropy on one (or k independent) positive-class scores.",
        formula="mean_i −[w₊ y_i log p_i + (1 − y_i) log(1 − p_i)]; p = sigmoid(logit) or given",
        reference="torch.nn.functional.binary_cross_entropy_with_logits; "
        "torch.nn.functional.binary_cross_entropy; label_smoothing: "
        "keras.losses.binary_crossentropy",
        params=(
            Param(
                "pos_weight",
                list,
                None,
                "weight of the positive term: one value, or one per column (multi-label)",
                POSITIVE_LIST,
            ),
            Param(
                "label_smoothing",
                float,
                0.0,
                "targets become y(1 − ε) + ε/2 (Keras binary_crossentropy)",
                UNIT_INTERVAL,
            ),
        ),
        needs_kind=True,
        independent_columns=True,
        conventions={
            "torch": "probabilities: each log clamped at -100 (binary_cross_entropy)",
            "sklearn": "probabilities clipped to [eps, 1 - eps], float64 eps; losscli's default",
            "keras": "probabilities clipped to [1e-7, 1 - 1e-7] (binary_crossentropy)",
        },
        tasks=frozenset({Task.REGRESSION, Task.BINARY, Task.DISTRIBUTION}),
    ),
    LossDef(
        name="hinge",
        fn=hinge,
        target=Target.CLASSES,
        summary="SVM hinge on decision scores; Crammer–Singer for several classes.",
        formula="mean_i max(0, 1 − y_i s_i), y = ±1; multiclass margin s_y − max_{j≠y} s_j",
        reference="sklearn.metrics.hinge_loss",
        tasks=frozenset({Task.BINARY, Task.MULTICLASS, Task.DENSE}),
    ),
    LossDef(
        name="squared_hinge",
        fn=squared_hinge,
        target=Target.CLASSES,
        summary="Squared SVM hinge: penalises margin violations quadratically.",
        formula="mean_i max(0, 1 − y_i s_i)²; multiclass margin s_y − max_{j≠y} s_j",
        reference="keras.losses.squared_hinge (binary); square of sklearn hinge terms",
        tasks=frozenset({Task.BINARY, Task.MULTICLASS, Task.DENSE}),
    ),
    LossDef(
        name="hinge_embedding",
        fn=hinge_embedding,
        target=Target.VALUES,
        summary="torch's HingeEmbeddingLoss for ±1 similarity labels (not the SVM hinge).",
        formula="mean_i [x_i if y_i = 1 else max(0, margin − x_i)]",
        reference="torch.nn.functional.hinge_embedding_loss",
        params=(Param("margin", float, 1.0, "the margin for dissimilar pairs (y = −1)"),),
        tasks=frozenset({Task.REGRESSION, Task.BINARY}),
        nonnegative=False,
    ),
    LossDef(
        name="nll",
        aliases=("nll_loss",),
        fn=nll,
        target=Target.CLASSES,
        summary="Negative log-likelihood of the true class, from log-probabilities.",
        formula="Σ_i −w_{y_i} log p_{i,y_i} / Σ_i w_{y_i}; preds are log p (log_softmax output)",
        reference="torch.nn.functional.nll_loss",
        params=(
            CLASS_WEIGHT,
            IGNORE_INDEX,
        ),
        tasks=frozenset({Task.MULTICLASS, Task.DENSE}),
    ),
    LossDef(
        name="focal",
        aliases=("focal_loss",),
        fn=focal,
        target=Target.CLASSES,
        summary="Focal loss: cross-entropy down-weighting easy, confidently right samples.",
        formula="binary mean_i α_t (1 − p_t)^γ BCE_i; multiclass mean_i −(1 − p_y)^γ log p_y",
        reference="torchvision.ops.sigmoid_focal_loss (binary); softmax focal "
        "−(1 − p_y)^γ log p_y (multiclass)",
        params=(
            Param(
                "alpha",
                float,
                None,
                "binary: weight of the positive class (default 0.25, "
                "negative disables); multiclass: a constant factor (none by default)",
                WEIGHT_OR_OFF,
            ),
            Param("gamma", float, 2.0, "focusing exponent (0: plain cross-entropy)", NON_NEGATIVE),
        ),
        needs_kind=True,
        tasks=frozenset({Task.REGRESSION, Task.BINARY, Task.MULTICLASS, Task.DENSE}),
    ),
    LossDef(
        name="multi_margin",
        aliases=("multi_margin_loss",),
        fn=multi_margin,
        target=Target.CLASSES,
        summary="torch's multiclass margin loss: margin violations of every wrong class, / C.",
        formula="mean_i w_{y_i}/C · Σ_{j≠y_i} max(0, margin − s_{i,y_i} + s_ij)^p",
        reference="torch.nn.functional.multi_margin_loss",
        params=(
            Param("p", int, 1, "exponent of each violation", ONE_OR_TWO),
            Param("margin", float, 1.0, "the required score gap"),
            CLASS_WEIGHT,
        ),
        tasks=frozenset({Task.MULTICLASS, Task.DENSE}),
    ),
    LossDef(
        name="categorical_hinge",
        fn=categorical_hinge,
        target=Target.CLASSES,
        summary="Keras's categorical hinge; its negative part max((1 − y)·s) never goes below 0.",
        formula="mean_i max(0, 1 + max_c (1 − y_ic) s_ic − Σ_c y_ic s_ic)",
        reference="keras.losses.categorical_hinge (same formula in float64)",
        tasks=frozenset({Task.MULTICLASS, Task.DISTRIBUTION, Task.DENSE}),
    ),
)
