"""Losses over whole dense maps: one value per image from all of its positions.

``preds`` are (n, C, d1, ...) scores and ``labels`` (n, d1, ...) class maps, passed unflattened
because these losses set ``LossDef.per_image`` (the engine flattens dense maps to positions for
every other classification loss).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from losscli.errors import DomainError, UsageError
from losscli.losses.base import NON_NEGATIVE, FloatArray, LossDef, Param, PerSample, Target, Task
from losscli.losses.numerics import log_softmax

# booleans as float64 (a module constant: its fixed dtype is not mutated; astype(None) of
# booleans was float64 too)
_float64s = functools.partial(np.asarray, dtype=np.float64)


def dice(preds: FloatArray, labels: np.ndarray, *, logits: bool, smooth: float = 1.0) -> PerSample:
    """Soft Dice loss per image: 1 − the mean over classes of each class's soft Dice score.

    Formula: dice_c = (2 Σ_x p_cx g_cx + smooth) / (Σ_x p_cx + Σ_x g_cx + smooth), with p the
    softmax of the logits (or the given probabilities) and g the one-hot label map;
    loss = 1 − mean_c dice_c. A class absent from an image's labels still counts (its score is
    smooth / (Σ p + smooth)). ``preds`` (n, C, d1, ...), ``labels`` int (n, d1, ...) in 0..C−1;
    ``smooth`` >= 0 (0 is undefined for a class absent from both maps of an image: a
    ``DomainError`` names it). Matches the reference cases' torch formula (cases.json ``dice``).

    >>> x = np.array([[[[1.0, 0.0]], [[0.0, 1.0]]]])  # one 1x2 image, two classes, probs
    >>> dice(x, np.array([[[0, 1]]]), logits=False).values
    array([0.])
    """
    if preds.ndim < 3:
        raise UsageError(
            "dice compares whole maps: it needs dense predictions (N, C, d1, ...) "
            "and label maps (N, d1, ...); for one label per row use ce or focal"
        )
    n, n_classes = preds.shape[:2]
    p = np.exp(log_softmax(preds, axis=1)) if logits else preds
    d = math.prod(preds.shape[2:])  # positions of a map: d1·…
    p = p.reshape(n, n_classes, d)
    g = _float64s(labels.reshape(n, 1, d) == np.arange(n_classes)[None, :, None])  # one-hot
    inter = np.sum(p * g, axis=2)
    den = np.sum(p, axis=2) + np.sum(g, axis=2) + smooth
    undefined = den == 0
    if undefined.any():
        raise DomainError(
            f"dice:smooth=0 is 0/0 for class {int(np.argwhere(undefined)[0, 1])}"
            ", absent from both the prediction and the label map",
            "use smooth > 0 (the default is 1)",
            undefined.any(axis=1),
        )
    return PerSample(1.0 - np.mean((2.0 * inter + smooth) / den, axis=1))


LOSSES: tuple[LossDef, ...] = (
    LossDef(
        name="dice",
        aliases=("soft_dice",),
        fn=dice,
        target=Target.CLASSES,
        summary="Soft Dice loss of segmentation maps, averaged over classes, one per image.",
        formula="mean_i [1 − mean_c (2 Σ_x p g + smooth) / (Σ_x p + Σ_x g + smooth)]",
        reference="soft Dice of softmax(x, dim=1) and one_hot(y) per image and class "
        "(torch formula of tests/reference/cases.json)",
        params=(Param("smooth", float, 1.0, "added to numerator and denominator", NON_NEGATIVE),),
        needs_kind=True,
        per_image=True,
        tasks=frozenset({Task.DENSE}),
    ),
)
