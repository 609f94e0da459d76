"""The loss registry's data types: what a loss is, which parameters it takes, what it returns.

A loss is a pure NumPy function ``fn(preds, labels, *, option=default) -> PerSample``.
It never reduces over samples; the engine does (see ``Reduce``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

FloatArray = np.ndarray


class Target(StrEnum):
    """What a loss function receives as ``preds`` and ``labels``.

    - ``values``: regression; ``preds`` and ``labels`` float64 of the same shape, ``(n,)`` or
      ``(n, k)`` for k outputs per sample (the sample's loss is the mean over its outputs).
    - ``classes``: classification; ``preds`` float64 scores ``(n, C)`` with ``labels`` int64
      class indices ``(n,)`` or a float64 distribution ``(n, C)``; or, for a binary task,
      ``preds`` ``(n,)`` with ``labels`` float64 in {0, 1}.
    - ``distributions``: ``preds`` ``(n, C)`` scores, ``labels`` a float64 distribution
      ``(n, C)`` (hard labels arrive one-hot).
    - ``mean_var``: a predicted Gaussian per sample; ``preds`` float64 ``(n, 2)`` holding the
      mean and the variance, ``labels`` float64 ``(n,)`` (torch ``gaussian_nll_loss``).

    Dense maps ``(n, C, d1, ...)`` reach a ``classes`` loss as ``(n·d1·…, C)`` positions
    against ``(n·d1·…,)`` labels, pooled per sample by the engine, unless the loss sets
    ``LossDef.per_image``.
    """

    VALUES = "values"
    CLASSES = "classes"
    DISTRIBUTIONS = "distributions"
    MEAN_VAR = "mean_var"


class Task(StrEnum):
    """What the inputs are, as ``losscli.interpret`` reads them; each loss declares the tasks
    it accepts (``LossDef.tasks``) and the engine refuses the others before reading rows."""

    REGRESSION = "regression"  # one numeric label per sample (targets in [0, 1] for bce)
    MULTIOUTPUT = "multioutput"  # k numeric labels per sample, one per prediction column
    BINARY = "binary"  # one score column, two label values
    MULTICLASS = "multiclass"  # one score column per class, one class label per sample
    DISTRIBUTION = "distribution"  # one label column per class: soft labels (or 0/1 each)
    DENSE = "dense"  # (N, C, d1, ...) scores against (N, d1, ...) class maps


class Reduce(StrEnum):
    """How per-sample values become one number (the engine applies it)."""

    MEAN = "mean"  # sum(values) / sum(weights); weights default to 1 per sample
    SQRT_MEAN = "sqrt_mean"  # sqrt(sum(values) / n): root of the mean, e.g. RMSE
    # Binned calibration errors over ``PerSample.calibration`` (TorchMetrics CalibrationError):
    # Σ_b (n_b / n)·|acc_b − conf_b| (norm l1, ECE) or max_b |acc_b − conf_b| (norm max, MCE).
    CALIBRATION_L1 = "calibration_l1"
    CALIBRATION_MAX = "calibration_max"

    @property
    def binned(self) -> bool:
        """Finalised from confidence bins, not from a mean of the per-sample values."""
        return self in (Reduce.CALIBRATION_L1, Reduce.CALIBRATION_MAX)


@dataclass(frozen=True, slots=True)
class Confidences:
    """What a calibration loss scores per sample: its confidence, 1.0 where the prediction it
    stands for is right (else 0.0), and the number of equal-width bins of [0, 1] to use."""

    confidence: FloatArray
    correct: FloatArray
    n_bins: int


@dataclass(frozen=True, slots=True)
class PerSample:
    """Per-sample loss terms as a loss function returns them.

    ``values[i]`` is sample i's contribution to the sum (what torch returns with
    ``reduction="none"``); ``weights[i]`` is its share of the denominator of the mean
    (``None`` means 1 for every sample). Class weights and ``ignore_index`` live here:
    an ignored sample has value 0 and weight 0.
    """

    values: FloatArray
    weights: FloatArray | None = None
    # (n, k) terms per output, kept only when outputs are reduced one by one before being
    # averaged (scikit-learn's multioutput='uniform_average' RMSE); ``values`` is their sum.
    outputs: FloatArray | None = None
    # Confidences of a binned calibration loss (``Reduce.binned``); ``values`` then holds each
    # sample's own gap |confidence − correct|, which the engine shows but does not average.
    calibration: Confidences | None = None


@dataclass(frozen=True, slots=True)
class Param:
    """One keyword option of a loss: ``name`` as PyTorch spells it."""

    name: str
    type: type  # float, int, bool or list (a list of floats)
    default: Any
    help: str
    rule: Rule | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """A domain check on a parameter value, with the words the error message uses."""

    text: str  # e.g. "> 0"
    holds: Callable[[Any], bool]


POSITIVE = Rule("> 0", lambda v: v > 0)
NON_NEGATIVE = Rule(">= 0", lambda v: v >= 0)
UNIT_INTERVAL = Rule("in [0, 1]", lambda v: 0 <= v <= 1)
OPEN_UNIT_INTERVAL = Rule("in (0, 1)", lambda v: 0 < v < 1)
NON_NEGATIVE_LIST = Rule("a list of numbers >= 0", lambda v: all(x >= 0 for x in v))
POSITIVE_LIST = Rule("a number > 0 or a list of numbers > 0", lambda v: all(x > 0 for x in v))
ONE_OR_TWO = Rule("1 or 2", lambda v: v in (1, 2))
LOG_BASE = Rule("> 0 and not 1 (a logarithm base)", lambda v: v > 0 and v != 1)
WEIGHT_OR_OFF = Rule("in [0, 1] (or negative to disable it)", lambda v: v <= 1)

# Parameters several losses share, declared once.
CLASS_WEIGHT = Param(
    "weight", list, None, "one weight per class, in prediction-column order", NON_NEGATIVE_LIST
)
IGNORE_INDEX = Param("ignore_index", int, -100, "rows with this label count nowhere")


@dataclass(frozen=True, slots=True)
class LossDef:
    """A registry entry: the function and everything the CLI and docs say about it."""

    name: str
    fn: Callable[..., PerSample]
    target: Target
    summary: str
    formula: str
    reference: str
    aliases: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    reduce: Reduce = Reduce.MEAN
    # True when the function reads scores and needs to know logits vs probabilities:
    # it then takes a keyword ``logits: bool``.
    needs_kind: bool = False
    # True when columns are independent probabilities (multi-label bce), so rows of
    # probabilities need not sum to 1.
    independent_columns: bool = False
    # True when the loss scores a whole dense map per sample (Dice): the engine then passes
    # dense (n, C, d1, ...) scores and (n, d1, ...) labels as they are, instead of positions.
    per_image: bool = False
    # True when several label columns are one multi-hot target (0/1 each; a row of zeros,
    # no class present, is valid), though the loss is not elementwise (multilabel_margin).
    multi_hot: bool = False
    # The bool parameter that, when true, says the labels are log-probabilities (torch's
    # ``log_target``): the engine then checks exp(labels) as distributions and passes hard
    # labels as log(one-hot).
    log_labels: str | None = None
    # Tasks this loss accepts; the engine stops (exit 2) before reading rows on any other.
    tasks: frozenset[Task] = frozenset()
    nonnegative: bool = True
    # Conventions (torch, sklearn, keras) under which this loss differs from losscli's
    # default, each with one line saying how; the function then takes ``convention=``.
    conventions: dict[str, str] = field(default_factory=dict)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def task_names(self) -> list[str]:
        """The accepted tasks' names, in ``Task`` order (for help, errors and listings)."""
        return [t.value for t in Task if t in self.tasks]
