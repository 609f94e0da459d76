"""Registry-wide properties every loss must have, checked with Hypothesis.

Each test loops over ``losscli.losses.LOSSES``. Inputs come from one builder per ``Target``
(``BUILDERS``): it draws a task the loss accepts (``loss.tasks``), logits or probabilities for
losses that read either (``needs_kind``), and applies the loss's narrower input domain where
it has one (``DOMAINS``: labels ±1, counts >= 0, log-probabilities, ...). A new target, a task
no builder can draw, or a loss missing from the perfect-prediction table fails a
``test_*_cover*`` test instead of slipping through.

The expected numbers are mathematical facts stated beside each (closed forms from the torch /
scikit-learn documentation of the formula), never losscli outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from float32_bound import loss_bound
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import losscli
from losscli.errors import UsageError
from losscli.losses import LOSSES, REGISTRY, LossDef, Reduce, Target

LOSS_IDS = [loss.name for loss in LOSSES]
# Sums of terms of both signs (KL's p·log(p/q), Dice's 1 − score) are >= 0 up to rounding.
ROUNDING = 1e-12
EPS = float(np.finfo(np.float64).eps)
SPREAD = 5.0  # default bound of drawn values and logits


def by_name(losses: list[LossDef]) -> dict[str, Any]:
    return {"argvalues": losses, "ids": [lo.name for lo in losses]}


@dataclass(frozen=True)
class Inputs:
    """One drawn example: what ``loss.fn`` receives and what ``losscli.compute`` receives."""

    task: str
    preds: np.ndarray
    fn_labels: np.ndarray  # the shape and dtype the loss function expects (see Target)
    api_labels: np.ndarray  # the labels as a user passes them to losscli.compute
    logits: bool | None  # None for losses that do not read logits/probabilities
    elements: int  # terms torch's "mean" divides by: n, or n·k for k outputs per sample

    @property
    def n(self) -> int:
        return int(self.preds.shape[0])

    def fn_kwargs(self) -> dict[str, Any]:
        return {} if self.logits is None else {"logits": self.logits}

    def with_preds(self, preds: np.ndarray, logits: bool | None = None) -> Inputs:
        kind = self.logits if logits is None else logits
        return Inputs(self.task, preds, self.fn_labels, self.api_labels, kind, self.elements)


def finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def float_array(
    draw: st.DrawFn, shape: tuple[int, ...], lo: float, hi: float, unique: bool = False
) -> np.ndarray:
    return draw(hnp.arrays(np.float64, shape, elements=finite(lo, hi), unique=unique))


def zeros_ones(draw: st.DrawFn, shape: tuple[int, ...]) -> np.ndarray:
    return draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])))


def indices(draw: st.DrawFn, shape: tuple[int, ...], c: int) -> np.ndarray:
    return draw(hnp.arrays(np.int64, shape, elements=st.integers(0, c - 1)))


def distributions(draw: st.DrawFn, n: int, c: int) -> np.ndarray:
    """Rows of positive numbers normalised to sum to 1."""
    raw = float_array(draw, (n, c), 0.05, 1.0)
    return raw / raw.sum(axis=1, keepdims=True)


def scores(draw: st.DrawFn, shape: tuple[int, ...], logits: bool | None, spread: float) -> Any:
    """Logits (any real), probabilities (sigmoid / softmax over axis 1 of logits) or scores."""
    z = float_array(draw, shape, -spread, spread)
    if logits is not False:
        return z
    return 1.0 / (1.0 + np.exp(-z)) if len(shape) == 1 else softmax(z)


# --------------------------------------------------------------------------- domains


def _same(x: np.ndarray, spread: float) -> np.ndarray:
    return x


@dataclass(frozen=True)
class Domain:
    """A loss's inputs where they are narrower than its target's; ``why`` cites the rule.

    ``preds`` / ``labels`` map drawn values (within ±spread; labels distinct) into the domain;
    translations keep labels distinct. ``signs``: labels exactly −1 or +1.
    """

    why: str
    preds: Callable[[np.ndarray, float], np.ndarray] = _same
    labels: Callable[[np.ndarray, float], np.ndarray] = _same
    signs: bool = False
    multi_hot: bool = False  # label columns are 0/1 each (a multi-label target), not soft labels


def _nonnegative(x: np.ndarray, spread: float) -> np.ndarray:
    return x + spread


def _at_least_one(x: np.ndarray, spread: float) -> np.ndarray:
    return x + spread + 1.0


def _distinct_at_least_one(x: np.ndarray, spread: float) -> np.ndarray:
    """Values >= 1 that stay distinct (x + c can round distinct tiny x to one value): each
    value's rank plus a fraction < 1 increasing with x, so the task stays regression."""
    ranks = np.argsort(np.argsort(x, axis=None)).reshape(x.shape)
    return 1.0 + ranks + (x + spread) / (4.0 * spread)


def _log_probs(z: np.ndarray, spread: float) -> np.ndarray:
    return log_softmax(z)


DOMAINS: dict[str, Domain] = {
    "hinge_embedding": Domain("torch HingeEmbeddingLoss: labels are -1 or +1", signs=True),
    "msle": Domain(
        "sklearn mean_squared_log_error: log1p needs values > -1",
        preds=_nonnegative,
        labels=_nonnegative,
    ),
    "mape": Domain("sklearn MAPE divides by max(|y|, eps): labels kept >= 1", labels=_at_least_one),
    "poisson_nll": Domain("torch poisson_nll_loss: labels are counts >= 0", labels=_nonnegative),
    "nll": Domain("torch nll_loss takes log-probabilities (log_softmax rows)", preds=_log_probs),
    "multilabel_margin": Domain(
        "torch multilabel_margin_loss: a multi-hot 0/1 label matrix (its padded index target)",
        multi_hot=True,
    ),
    "rmsle": Domain(
        "sklearn root_mean_squared_log_error: log1p needs values > -1",
        preds=_nonnegative,
        labels=_nonnegative,
    ),
    "poisson_deviance": Domain(
        "sklearn mean_poisson_deviance: y >= 0, predictions > 0 (labels kept >= 1 so that "
        "the perfect prediction ŷ = y is in the domain)",
        preds=_at_least_one,
        labels=_distinct_at_least_one,
    ),
    "gamma_deviance": Domain(
        "sklearn mean_gamma_deviance: y > 0, predictions > 0",
        preds=_at_least_one,
        labels=_distinct_at_least_one,
    ),
}


def domain(loss: LossDef) -> Domain:
    return DOMAINS.get(loss.name, Domain("the target's own domain"))


def _signs(draw: st.DrawFn, n: int) -> np.ndarray:
    return draw(hnp.arrays(np.float64, n, elements=st.sampled_from([-1.0, 1.0])))


# --------------------------------------------------------------------------- builders


def _kind(draw: st.DrawFn, loss: LossDef, logits: bool | None) -> bool | None:
    """Logits or probabilities for losses that read either (``logits`` forces one)."""
    if not loss.needs_kind:
        return None
    return draw(st.booleans()) if logits is None else logits


@st.composite
def values_inputs(
    draw: st.DrawFn,
    loss: LossDef,
    multi_output: bool | None = None,
    spread: float = SPREAD,
    logits: bool | None = None,
) -> Inputs:
    """Target.VALUES: real predictions and labels of the same shape (n,) or (n, k)."""
    dom = domain(loss)
    # multioutput (and soft-label distribution) inputs are drawn as regression with k columns
    tasks = [t for t in loss.task_names() if t in ("regression", "binary")]
    task = "regression" if multi_output else draw(st.sampled_from(tasks))
    n = draw(st.integers(3, 12))
    if dom.signs:  # one output per sample
        labels = _signs(draw, n)
        return Inputs(task, float_array(draw, (n,), -spread, spread), labels, labels, None, n)
    if task == "binary":
        labels = zeros_ones(draw, (n,))
        return Inputs(task, float_array(draw, (n,), 0.0, 1.0), labels, labels, None, n)
    k = draw(st.sampled_from([1, 2, 3])) if multi_output is None else (3 if multi_output else 1)
    shape = (n,) if k == 1 else (n, k)
    # Distinct labels (>= 3 values), so the tool reads the task as regression.
    labels = dom.labels(float_array(draw, shape, -spread, spread, unique=True), spread)
    preds = dom.preds(float_array(draw, shape, -spread, spread), spread)
    return Inputs(task, preds, labels, labels, None, n * k)


@st.composite
def classes_inputs(
    draw: st.DrawFn,
    loss: LossDef,
    multi_output: bool | None = None,
    spread: float = SPREAD,
    logits: bool | None = None,
) -> Inputs:
    """Target.CLASSES: scores against class indices, 0/1 labels, soft targets or label maps."""
    dom = domain(loss)
    # Dense positions of a per-position loss (ce, hinge on maps) are covered by the parity
    # cases; here dense maps are drawn for losses that score whole maps.
    tasks = [
        t for t in loss.task_names() if t in CLASSES_TASKS and (t != "dense" or loss.per_image)
    ]
    # several columns of bce are labels of their own (0/1 each), as multilabel_margin's are
    if loss.independent_columns or dom.multi_hot:
        tasks = [t.replace("distribution", "multilabel") for t in tasks]
    if multi_output is not None:
        tasks = [t for t in tasks if (t == "multilabel") == multi_output] or tasks
    task = draw(st.sampled_from(tasks))
    logits = _kind(draw, loss, logits)
    n = draw(st.integers(3, 12))
    if task == "binary":
        preds = dom.preds(scores(draw, (n,), logits, spread), spread)
        labels = zeros_ones(draw, (n,))
        return Inputs(task, preds, labels, labels, logits, n)
    if task == "regression":  # one column of targets in [0, 1] (soft binary targets)
        preds = dom.preds(scores(draw, (n,), logits, spread), spread)
        targets = float_array(draw, (n,), 0.0, 1.0, unique=True)
        return Inputs(task, preds, targets, targets, logits, n)
    c = draw(st.integers(2, 5))
    if task == "dense":
        assert loss.per_image, f"{loss.name}: dense positions need a builder of their own"
        h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        preds = dom.preds(scores(draw, (n, c, h, w), logits, spread), spread)
        maps = indices(draw, (n, h, w), c)
        return Inputs(task, preds, maps, maps, logits, n)
    preds = dom.preds(scores(draw, (n, c), logits, spread), spread)
    if task == "multilabel":
        labels = zeros_ones(draw, (n, c))
        # Elementwise losses (bce) average the n·c elements; multilabel_margin is one term per row.
        return Inputs(task, preds, labels, labels, logits, n * c if loss.independent_columns else n)
    if task == "distribution":
        labels = distributions(draw, n, c)
        return Inputs(task, preds, labels, labels, logits, n)
    idx = indices(draw, (n,), c)
    return Inputs(task, preds, idx, idx, logits, n)


@st.composite
def distributions_inputs(
    draw: st.DrawFn,
    loss: LossDef,
    multi_output: bool | None = None,
    spread: float = SPREAD,
    logits: bool | None = None,
) -> Inputs:
    """Target.DISTRIBUTIONS: scores (n, C) against a distribution per row (hard labels arrive
    one-hot at the function, as class indices at the API)."""
    task = draw(st.sampled_from([t for t in loss.task_names() if t in DISTRIBUTIONS_TASKS]))
    logits = _kind(draw, loss, logits)
    n, c = draw(st.integers(3, 12)), draw(st.integers(2, 5))
    preds = scores(draw, (n, c), logits, spread)
    if task == "distribution":
        labels = distributions(draw, n, c)
        return Inputs(task, preds, labels, labels, logits, n)
    idx = indices(draw, (n,), c)
    return Inputs(task, preds, np.eye(c)[idx], idx, logits, n)


@st.composite
def mean_var_inputs(
    draw: st.DrawFn,
    loss: LossDef,
    multi_output: bool | None = None,
    spread: float = SPREAD,
    logits: bool | None = None,
) -> Inputs:
    """Target.MEAN_VAR: a Gaussian per sample, preds (n, 2) = (mean, variance > 0), labels
    (n,) real values (torch ``gaussian_nll_loss``)."""
    task = draw(st.sampled_from([t for t in loss.task_names() if t in MEAN_VAR_TASKS]))
    n = draw(st.integers(3, 12))
    mean = float_array(draw, (n,), -spread, spread)
    var = float_array(draw, (n,), 0.1, spread)
    labels = float_array(draw, (n,), -spread, spread, unique=True)
    return Inputs(task, np.column_stack([mean, var]), labels, labels, None, n)


VALUES_TASKS = ("regression", "binary", "multioutput", "distribution")
CLASSES_TASKS = ("regression", "binary", "multiclass", "distribution", "dense")
DISTRIBUTIONS_TASKS = ("multiclass", "distribution")
MEAN_VAR_TASKS = ("regression",)
BUILDERS: dict[Target, tuple[Callable[..., st.SearchStrategy[Inputs]], tuple[str, ...]]] = {
    Target.VALUES: (values_inputs, VALUES_TASKS),
    Target.CLASSES: (classes_inputs, CLASSES_TASKS),
    Target.DISTRIBUTIONS: (distributions_inputs, DISTRIBUTIONS_TASKS),
    Target.MEAN_VAR: (mean_var_inputs, MEAN_VAR_TASKS),
}


def inputs_for(loss: LossDef, **options: Any) -> st.SearchStrategy[Inputs]:
    """Inputs for ``loss`` from its target's builder; ``options``: ``multi_output`` (force
    several outputs per sample or one), ``spread`` (bound of values and logits), ``logits``."""
    builder, _ = BUILDERS[loss.target]
    return builder(loss, **options)


def test_builders_cover_every_target_and_task() -> None:
    """A new Target, or a task a builder cannot draw, must get a builder before it ships."""
    assert set(BUILDERS) == set(Target), "one invariant input builder per Target"
    for loss in LOSSES:
        assert loss.target in BUILDERS, f"{loss.name}: no builder for target {loss.target}"
        _, known = BUILDERS[loss.target]
        unknown = [t for t in loss.task_names() if t not in known]
        assert loss.tasks, f"{loss.name} declares no tasks"
        assert not unknown, f"{loss.name}: the {loss.target} builder cannot draw {unknown}"


def test_domains_name_registered_losses() -> None:
    assert set(DOMAINS) <= set(REGISTRY), "DOMAINS names a loss that does not exist"


def per_sample(loss: LossDef, x: Inputs) -> np.ndarray:
    terms = loss.fn(x.preds, x.fn_labels, **x.fn_kwargs())
    assert terms.values.shape == (x.n,)
    return terms.values


def api(
    loss: LossDef, x: Inputs, *, reduction: str = "mean", preds: Any = None, labels: Any = None
) -> float:
    return losscli.compute(
        loss.name,
        x.preds if preds is None else preds,
        x.api_labels if labels is None else labels,
        logits=x.logits,
        reduction=reduction,
    ).value


# --------------------------------------------------------------------------- non-negative


@pytest.mark.parametrize("loss", **by_name([lo for lo in LOSSES if lo.nonnegative]))
@given(data=st.data())
def test_nonnegative(loss: LossDef, data: st.DataObject) -> None:
    x = data.draw(inputs_for(loss))
    values = per_sample(loss, x)
    assert np.all(np.isfinite(values))
    assert values.min() >= -ROUNDING
    assert api(loss, x) >= -ROUNDING


# Losses declared possibly negative, each with an input that is negative by its formula.
NEGATIVE_EXAMPLES: dict[str, tuple[Any, Any]] = {
    # torch HingeEmbeddingLoss is x itself for y = 1
    "hinge_embedding": ([-2.0], [1.0]),
    # torch poisson_nll_loss(log_input=True): exp(x) − y·x = e − 3 at x = 1, y = 3
    "poisson_nll": ([1.0], [3.0]),
    # torch gaussian_nll_loss: ½(log var + (μ − y)²/var) = ½ log 0.5 at μ = y
    "gaussian_nll": ([[0.0, 0.5]], [0.0]),
    # Σ p log(p / q) with q rows that do not sum to 1 (Keras takes them so, and rows within
    # the 1e-4 tolerance go a little below 0): 0.4 log(0.4 / 1) + 0.6 log(0.6 / 0.5) = −0.2571
    "kl": ([[1.0, 0.5]], [[0.4, 0.6]]),
}
# Keyword arguments a loss function needs besides predictions and labels.
NEGATIVE_KWARGS: dict[str, dict[str, Any]] = {"kl": {"logits": False}}


@pytest.mark.parametrize("loss", **by_name([lo for lo in LOSSES if not lo.nonnegative]))
def test_possibly_negative_losses_are_rightly_declared(loss: LossDef) -> None:
    assert loss.name in NEGATIVE_EXAMPLES, f"give an input where {loss.name} is negative"
    preds, labels = NEGATIVE_EXAMPLES[loss.name]
    kwargs = NEGATIVE_KWARGS.get(loss.name, {})
    values = loss.fn(np.asarray(preds), np.asarray(labels), **kwargs).values
    assert values[0] < 0


# --------------------------------------------------------------------------- perfect prediction


@dataclass(frozen=True)
class Perfect:
    """A perfect (or best) prediction for a loss, and what the loss must be there.

    The loss is 0 within ``bound`` (0: exactly; otherwise the stated rounding or clipping
    floor), or, where ``expected`` is given, that closed form per sample. Where ``perturb`` is
    given, moving the prediction by δ must not lower the loss (a minimum, not just a value).
    """

    build: Callable[[Callable[..., Any], LossDef], Inputs]
    why: str
    bound: float = 0.0
    expected: Callable[[Inputs], np.ndarray] | None = None
    perturb: Callable[[Inputs, float], np.ndarray] | None = None
    deltas: tuple[float, ...] = field(default=(1e-3, -1e-3, 0.5, -0.5))


def _tasks(loss: LossDef, allowed: tuple[str, ...]) -> list[str]:
    return [t for t in loss.task_names() if t in allowed]


def _regression_perfect(draw: Callable[..., Any], loss: LossDef) -> Inputs:
    x = draw(values_inputs(loss))
    return x.with_preds(x.fn_labels.copy())


def _confident(draw: Callable[..., Any], loss: LossDef) -> Inputs:
    """All mass on the true class: probabilities 1/0 (clipped to [eps, 1 − eps] like sklearn:
    −log(1 − eps) ≈ 1.1e-16 per sample), or a logit margin of 1e4 (e^−1e4 underflows: 0)."""
    # dense maps for losses scoring whole maps (positions: the parity cases)
    task = draw(st.sampled_from(_tasks(loss, ("binary", "multiclass", "dense" * loss.per_image))))
    logits = draw(st.booleans()) if loss.needs_kind else True
    n, c = draw(st.integers(3, 12)), draw(st.integers(2, 5))
    scale = 1e4 if logits else 1.0
    if task == "binary":
        y = zeros_ones(draw, (n,))
        preds = 1e4 * (2.0 * y - 1.0) if logits else y.copy()
        return Inputs(task, preds, y, y, logits if loss.needs_kind else None, n)
    if task == "dense":
        h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        maps = indices(draw, (n, h, w), c)
        preds = scale * np.moveaxis(np.eye(c)[maps], -1, 1)
        return Inputs(task, preds, maps, maps, logits, n)
    idx = indices(draw, (n,), c)
    preds = scale * np.eye(c)[idx]
    if loss.name == "nll":  # log-probabilities: log_softmax of the 1e4 margin, [0, -1e4, ...]
        return Inputs(task, log_softmax(preds), idx, idx, None, n)
    # distribution losses receive hard labels one-hot (Target.DISTRIBUTIONS)
    fn_labels = np.eye(c)[idx] if loss.target is Target.DISTRIBUTIONS else idx
    return Inputs(task, preds, fn_labels, idx, logits if loss.needs_kind else None, n)


def _equal_distributions(draw: Callable[..., Any], loss: LossDef) -> Inputs:
    """q == p, given as probabilities or as logits log p (softmax(log p) = p up to rounding)."""
    n, c = draw(st.integers(3, 12)), draw(st.integers(2, 5))
    p = distributions(draw, n, c)
    if draw(st.booleans()):
        return Inputs("distribution", p.copy(), p, p, False, n)
    return Inputs("distribution", np.log(p), p, p, True, n)


def _margin_scores(draw: Callable[..., Any], loss: LossDef) -> Inputs:
    """Binary score 2·(±1), or score 2 on the true class and 0 elsewhere: margin 2 >= 1."""
    task = draw(st.sampled_from(_tasks(loss, ("binary", "multiclass"))))
    n = draw(st.integers(3, 12))
    if task == "binary":
        y = zeros_ones(draw, (n,))
        return Inputs(task, 2.0 * (2.0 * y - 1.0), y, y, None, n)
    c = draw(st.integers(2, 5))
    idx = indices(draw, (n,), c)
    return Inputs(task, 2.0 * np.eye(c)[idx], idx, idx, None, n)


def _multilabel_margins(draw: Callable[..., Any], loss: LossDef) -> Inputs:
    """Score 2 on every target class and 0 elsewhere: each target beats each other by 2 >= 1."""
    n, c = draw(st.integers(3, 12)), draw(st.integers(2, 5))
    y = zeros_ones(draw, (n, c))
    return Inputs("multilabel", 2.0 * y, y, y, None, n)


def _hinge_embedding_perfect(draw: Callable[..., Any], loss: LossDef) -> Inputs:
    """x = 0 for similar pairs (y = 1), x = margin (1) for dissimilar ones (y = −1)."""
    n = draw(st.integers(3, 12))
    y = _signs(draw, n)
    return Inputs("regression", np.where(y == 1.0, 0.0, 1.0), y, y, None, n)


def _poisson_best(draw: Callable[..., Any], loss: LossDef) -> Inputs:
    """Log-rate x = log y minimises exp(x) − y·x for a count y > 0."""
    n = draw(st.integers(3, 12))
    y = float_array(draw, (n,), 0.1, 20.0, unique=True)
    return Inputs("regression", np.log(y), y, y, None, n)


def _gaussian_best(draw: Callable[..., Any], loss: LossDef) -> Inputs:
    """Mean μ = y minimises ½(log var + (μ − y)²/var) for a given variance."""
    x = draw(mean_var_inputs(loss))
    preds = np.column_stack([x.fn_labels, x.preds[:, 1]])
    return x.with_preds(preds)


def _shift_mean(x: Inputs, delta: float) -> np.ndarray:
    return x.preds + np.array([delta, 0.0])


REGRESSION_PERFECT = Perfect(_regression_perfect, "preds == labels")
CONFIDENT = Perfect(_confident, "all mass on the true class", bound=1e-15)
EQUAL = Perfect(_equal_distributions, "q == p (logits log p: rounding only)", bound=1e-15)
MARGIN = Perfect(_margin_scores, "margin >= 1")
PERFECT: dict[str, Perfect] = {
    **dict.fromkeys(
        ["mse", "rmse", "mae", "huber", "smooth_l1", "log_cosh", "quantile"], REGRESSION_PERFECT
    ),
    "msle": REGRESSION_PERFECT,
    "rmsle": REGRESSION_PERFECT,
    # Tweedie deviances are 0 at ŷ = y (power 0, the default, is the squared error)
    "tweedie": REGRESSION_PERFECT,
    "poisson_deviance": REGRESSION_PERFECT,
    "gamma_deviance": REGRESSION_PERFECT,
    # Brier: Σ (p − onehot)² is 0 at one-hot probabilities (logits 1e4: softmax exactly 1, 0)
    "brier": CONFIDENT,
    # ECE and MCE: confidence 1 on the right class in every sample: every gap is 0
    "ece": CONFIDENT,
    "mce": CONFIDENT,
    # soft_margin: log(1 + e^−1e4) = 0 at margins y·x = 1e4 (binary: CONFIDENT's logits)
    "soft_margin": CONFIDENT,
    "multilabel_margin": Perfect(_multilabel_margins, "every target scores 2 above the others"),
    "mape": REGRESSION_PERFECT,
    "ce": CONFIDENT,
    "bce": CONFIDENT,
    "nll": CONFIDENT,
    "focal": CONFIDENT,
    "dice": CONFIDENT,
    # entropy of a one-hot (or 1e4-margin) prediction is 0 whatever the labels
    "entropy": CONFIDENT,
    "kl": EQUAL,
    "js": EQUAL,
    "hinge": MARGIN,
    "squared_hinge": MARGIN,
    "multi_margin": MARGIN,
    "categorical_hinge": MARGIN,
    "hinge_embedding": Perfect(_hinge_embedding_perfect, "x = 0 (y = 1), x = margin (y = -1)"),
    # torch poisson_nll_loss(log_input=True, full=False): at x = log y it is y − y·log y
    "poisson_nll": Perfect(
        _poisson_best,
        "x = log y",
        bound=1e-12,
        expected=lambda x: x.fn_labels - x.fn_labels * np.log(x.fn_labels),
        perturb=lambda x, d: x.preds + d,
    ),
    # torch gaussian_nll_loss(full=False): at μ = y it is ½·log(var) (var >= eps = 1e-6)
    "gaussian_nll": Perfect(
        _gaussian_best,
        "mean = y",
        bound=1e-12,
        expected=lambda x: 0.5 * np.log(x.preds[:, 1]),
        perturb=_shift_mean,
    ),
}
# Losses with no meaningful perfect prediction, each with the reason.
NO_PERFECT: dict[str, str] = {}


def test_perfect_prediction_table_covers_every_loss() -> None:
    missing = [lo.name for lo in LOSSES if lo.name not in PERFECT and lo.name not in NO_PERFECT]
    assert not missing, f"add a perfect prediction (or a reason) for: {missing}"


@pytest.mark.parametrize("loss", **by_name([lo for lo in LOSSES if lo.name in PERFECT]))
@given(data=st.data())
def test_zero_at_perfect_prediction(loss: LossDef, data: st.DataObject) -> None:
    perfect = PERFECT[loss.name]
    x = perfect.build(data.draw, loss)
    values = per_sample(loss, x)
    expected = np.zeros(x.n) if perfect.expected is None else perfect.expected(x)
    tolerance = perfect.bound + 1e-12 * np.abs(expected)
    assert np.all(np.abs(values - expected) <= tolerance), perfect.why
    assert abs(api(loss, x) - expected.mean()) <= perfect.bound + 1e-12 * np.abs(expected).max()
    if perfect.perturb is not None:
        for delta in perfect.deltas:
            moved = per_sample(loss, x.with_preds(perfect.perturb(x, delta)))
            assert np.all(moved >= values - 1e-12), f"{perfect.why} is not a minimum"


def test_ce_clipping_floor_is_sklearns() -> None:
    """The 1e-15 bound above is not slack: sklearn log_loss of a one-hot row is −log(1 − eps)."""
    got = REGISTRY["ce"].fn(np.eye(3), np.arange(3), logits=False).values
    assert got == pytest.approx(np.full(3, -math.log1p(-EPS)), rel=1e-12)


# --------------------------------------------------------------------------- permutations


@pytest.mark.parametrize("loss", **by_name(list(LOSSES)))
@given(data=st.data())
def test_permutation_invariant(loss: LossDef, data: st.DataObject) -> None:
    x = data.draw(inputs_for(loss))
    perm = np.asarray(data.draw(st.permutations(range(x.n))))
    values = per_sample(loss, x)
    moved = loss.fn(x.preds[perm], x.fn_labels[perm], **x.fn_kwargs()).values
    # Row-wise functions: sample i's value moves with sample i.
    np.testing.assert_allclose(moved, values[perm], rtol=1e-14, atol=0)
    reduced = api(loss, x)
    permuted = api(loss, x, preds=x.preds[perm], labels=x.api_labels[perm])
    assert permuted == pytest.approx(reduced, rel=1e-12, abs=1e-15)


# --------------------------------------------------------------------------- sum and mean


MEAN_LOSSES = [lo for lo in LOSSES if lo.reduce is Reduce.MEAN]


@pytest.mark.parametrize("loss", **by_name(MEAN_LOSSES))
@given(data=st.data())
def test_sum_is_mean_times_n(loss: LossDef, data: st.DataObject) -> None:
    """Unweighted (default parameters), one output per sample: torch's sum = mean · n."""
    x = data.draw(inputs_for(loss, multi_output=False))
    mean = api(loss, x)
    total = api(loss, x, reduction="sum")
    assert total == pytest.approx(mean * x.elements, rel=1e-12, abs=1e-13)
    # and both agree with the per-sample terms summed here
    assert total == pytest.approx(math.fsum(per_sample(loss, x)), rel=1e-12, abs=1e-13)


def several_outputs(loss: LossDef) -> bool:
    """Losses that take k outputs per sample: multi-output regression, multi-label bce."""
    if loss.target is Target.VALUES:
        return "multioutput" in loss.task_names()
    return loss.target is Target.CLASSES and loss.independent_columns


def test_several_outputs_losses_are_found() -> None:
    found = {lo.name for lo in MEAN_LOSSES if several_outputs(lo)}
    assert {"mse", "mae", "huber", "smooth_l1", "bce", "soft_margin"} <= found
    assert "multilabel_margin" not in found  # one term per row (torch divides by C inside)


@pytest.mark.parametrize("loss", **by_name([lo for lo in MEAN_LOSSES if several_outputs(lo)]))
@given(data=st.data())
def test_sum_is_mean_times_elements_with_several_outputs(
    loss: LossDef, data: st.DataObject
) -> None:
    """Several outputs per sample (multi-output regression, multi-label bce): torch's mean
    divides by the n·k elements and its sum adds them all, so sum = mean · n · k
    (REFERENCES.md: "What mean divides by. torch: number of elements")."""
    x = data.draw(inputs_for(loss, multi_output=True))
    assert x.elements > x.n
    mean = api(loss, x)
    total = api(loss, x, reduction="sum")
    assert total == pytest.approx(mean * x.elements, rel=1e-12, abs=1e-13)


@pytest.mark.parametrize("loss", **by_name([lo for lo in LOSSES if lo.reduce is not Reduce.MEAN]))
def test_root_losses_refuse_sum(loss: LossDef) -> None:
    with pytest.raises(UsageError, match="no sum reduction"):
        losscli.compute(loss.name, [0.0, 1.0, 2.0], [0.5, 1.5, 3.0], reduction="sum")


# --------------------------------------------------------------------------- extreme logits

LOGIT_LOSSES = [lo for lo in LOSSES if lo.needs_kind]


def test_logit_losses_include_the_cross_entropy_family() -> None:
    assert {"ce", "bce", "kl"} <= {lo.name for lo in LOGIT_LOSSES}


@pytest.mark.parametrize("loss", **by_name(LOGIT_LOSSES))
@given(data=st.data())
def test_finite_on_extreme_logits(loss: LossDef, data: st.DataObject) -> None:
    x = data.draw(inputs_for(loss, logits=True))
    signs = data.draw(hnp.arrays(np.float64, x.preds.shape, elements=st.sampled_from([-1, 0, 1])))
    extreme = x.with_preds(1e4 * signs, logits=True)
    assert np.all(np.isfinite(per_sample(loss, extreme)))
    assert math.isfinite(api(loss, extreme))


# Exact values at extreme logits, from the closed forms (no library needed):
#   ce:  logsumexp(1e4, -1e4, 0) - z_y = 1e4 - z_y  (the other exponentials underflow to 0)
#   bce: -log sigmoid(-1e4) = 1e4 + log1p(e^-1e4) = 1e4;  -log sigmoid(1e4) = 0
#   kl:  p = (.5, .5), z = (1e4, -1e4): log q = (0, -2e4), KL = .5 log .5 + .5 (log .5 + 2e4)
#   focal (torchvision, α = .25, γ = 2): y = 1, x = -1e4: .25 · (1 - p)² · 1e4 = 2500;
#        y = 0, x = -1e4: (1 - .25) · p² · 0 = 0
#   entropy: softmax(1e4, -1e4) = (1, 0): 0 nats
EXTREME_VALUES = [
    ("ce", [[1e4, -1e4, 0.0]] * 3, [0, 1, 2], [0.0, 2e4, 1e4]),
    ("bce", [-1e4, 1e4, -1e4, 1e4], [1.0, 1.0, 0.0, 0.0], [1e4, 0.0, 0.0, 1e4]),
    (
        "kl",
        [[1e4, -1e4], [-1e4, 1e4]],
        [[0.5, 0.5], [0.5, 0.5]],
        [1e4 + math.log(0.5), 1e4 + math.log(0.5)],
    ),
    ("focal", [-1e4, -1e4, 1e4], [1.0, 0.0, 1.0], [2500.0, 0.0, 0.0]),
    ("entropy", [[1e4, -1e4], [-1e4, 1e4]], [0, 1], [0.0, 0.0]),
]


@pytest.mark.parametrize(
    ("name", "preds", "labels", "expected"), EXTREME_VALUES, ids=[r[0] for r in EXTREME_VALUES]
)
def test_exact_values_at_extreme_logits(
    name: str, preds: Any, labels: Any, expected: list[float]
) -> None:
    loss = REGISTRY[name]
    got = loss.fn(np.asarray(preds, dtype=np.float64), np.asarray(labels), logits=True).values
    assert got.tolist() == pytest.approx(expected, rel=1e-15, abs=0)
    value = losscli.compute(name, preds, labels, logits=True).value
    assert value == pytest.approx(float(np.mean(expected)), rel=1e-15, abs=0)


# --------------------------------------------------------------------------- float32 input


@pytest.mark.parametrize("loss", **by_name(list(LOSSES)))
@given(data=st.data())
def test_float32_input(loss: LossDef, data: st.DataObject) -> None:
    """float32 files give the float64 result to ~1e-6, and the float64 computation on the same
    (rounded) values, since losscli accumulates in float64 (ARCHITECTURE.md): to 1e-12, or, for
    ce and focal from multiclass logits (the kernels exponentiate float32 in float32), within
    the bound of tests/float32_bound.py (derived in losscli/losses/kernels.py)."""
    # Values and logits within ±3 (shifted domains within [0, 7]) round to float32 by
    # <= 2.4e-7; every loss here moves by <= ~4x that (1 − p >= 0.047 for bce probabilities,
    # variances >= 0.1 and labels >= 1 where they divide), so 1e-6 absolute or relative.
    x = data.draw(inputs_for(loss, spread=3.0))
    as32 = {"preds": x.preds.astype(np.float32)}
    if x.api_labels.dtype.kind == "f":
        as32["labels"] = x.api_labels.astype(np.float32)
    value32 = api(loss, x, **as32)
    same_values = {k: v.astype(np.float64) for k, v in as32.items()}
    same = api(loss, x, **same_values)
    if loss.name in ("ce", "focal") and x.logits and x.preds.ndim >= 2:
        soft = x.api_labels.ndim == x.preds.ndim  # soft targets: a dot, mass Σ_c p_c
        mass = float(same_values["labels"].sum(axis=1).max()) if soft else 1.0
        gamma = 2.0 if loss.name == "focal" else 0.0  # focal's default γ
        bound = loss_bound(x.preds.shape[1], same, mass=mass, dot=soft, gamma=gamma)
        assert abs(value32 - same) <= bound
    else:
        assert value32 == pytest.approx(same, rel=1e-12, abs=1e-15)
    assert value32 == pytest.approx(api(loss, x), rel=1e-6, abs=1e-6)
