"""Registry-wide properties every loss must have, checked with Hypothesis.

Each test loops over ``losscli.losses.LOSSES``; inputs come from one builder per ``Target``
(``BUILDERS``), which draws a task the loss accepts (``loss.tasks``) and, for losses that read
scores (``needs_kind``), logits or probabilities. A loss whose target or task has no builder,
or that is missing from the perfect-prediction table, fails ``test_*_cover_every_loss`` instead
of slipping through.

The expected numbers here are mathematical facts (stated beside each), not losscli outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import losscli
from losscli.errors import UsageError
from losscli.losses import LOSSES, REGISTRY, LossDef, Reduce, Target

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
LOSS_IDS = [loss.name for loss in LOSSES]
# KL's terms p·log(p/q) have both signs; their sum is >= 0 only up to rounding.
ROUNDING = 1e-12
EPS = float(np.finfo(np.float64).eps)
SPREAD = 5.0  # default bound of drawn values and logits


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


def finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def float_array(draw: st.DrawFn, shape: tuple[int, ...], lo: float, hi: float,
                unique: bool = False) -> np.ndarray:
    return draw(hnp.arrays(np.float64, shape, elements=finite(lo, hi), unique=unique))


def distributions(draw: st.DrawFn, n: int, c: int) -> np.ndarray:
    """Rows of positive numbers normalised to sum to 1."""
    raw = float_array(draw, (n, c), 0.05, 1.0)
    return raw / raw.sum(axis=1, keepdims=True)


def scores(draw: st.DrawFn, shape: tuple[int, ...], logits: bool | None, spread: float
           ) -> np.ndarray:
    """Logits (any real), probabilities (sigmoid / softmax of logits) or plain scores."""
    z = float_array(draw, shape, -spread, spread)
    if logits is not False:
        return z
    return 1.0 / (1.0 + np.exp(-z)) if len(shape) == 1 else softmax(z)


# --------------------------------------------------------------------------- builders


def _kind(draw: st.DrawFn, loss: LossDef, logits: bool | None) -> bool | None:
    """Logits or probabilities for losses that read either (``logits`` forces one)."""
    if not loss.needs_kind:
        return None
    return draw(st.booleans()) if logits is None else logits


# Losses whose labels live in a narrower set than their target's: (name -> label drawer).
def _signs(draw: st.DrawFn, n: int) -> np.ndarray:
    return np.asarray(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)))


LABEL_DOMAINS: dict[str, Callable[[st.DrawFn, int], np.ndarray]] = {"hinge_embedding": _signs}


@st.composite
def values_inputs(draw: st.DrawFn, loss: LossDef, multi_output: bool | None = None,
                  spread: float = SPREAD, logits: bool | None = None) -> Inputs:
    """Target.VALUES: real predictions and labels of the same shape (n,) or (n, k)."""
    task = draw(st.sampled_from([t for t in loss.tasks if t in VALUES_TASKS]))
    n = draw(st.integers(3, 12))
    if loss.name in LABEL_DOMAINS:
        labels = LABEL_DOMAINS[loss.name](draw, n)
        preds = float_array(draw, (n,), -spread, spread)
        return Inputs(task, preds, labels, labels, None, n)
    if task == "binary":
        labels = np.asarray(draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n,
                                          max_size=n)))
        preds = float_array(draw, (n,), 0.0, 1.0)
        return Inputs(task, preds, labels, labels, None, n)
    k = draw(st.sampled_from([1, 2, 3])) if multi_output is None else (3 if multi_output else 1)
    shape = (n,) if k == 1 else (n, k)
    # Distinct labels (>= 3 values) so that the tool reads the task as regression.
    labels = float_array(draw, shape, -spread, spread, unique=True)
    preds = float_array(draw, shape, -spread, spread)
    return Inputs(task, preds, labels, labels, None, n * k)


@st.composite
def classes_inputs(draw: st.DrawFn, loss: LossDef, multi_output: bool | None = None,
                   spread: float = SPREAD, logits: bool | None = None) -> Inputs:
    """Target.CLASSES: scores against class indices, 0/1 labels or soft targets."""
    tasks = [t for t in loss.tasks if t in CLASSES_TASKS]
    if multi_output is not None:
        tasks = [t for t in tasks if (t == "multilabel") == multi_output] or tasks
    task = draw(st.sampled_from(tasks))
    logits = _kind(draw, loss, logits)
    n = draw(st.integers(3, 12))
    if task == "binary":
        preds = scores(draw, (n,), logits, spread)
        labels = np.asarray(draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n,
                                          max_size=n)))
        return Inputs(task, preds, labels, labels, logits, n)
    c = draw(st.integers(2, 5))
    preds = scores(draw, (n, c), logits, spread)
    if task == "multilabel":
        labels = np.asarray(draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n * c,
                                          max_size=n * c))).reshape(n, c)
        return Inputs(task, preds, labels, labels, logits, n * c)
    if task == "distribution":
        labels = distributions(draw, n, c)
        return Inputs(task, preds, labels, labels, logits, n)
    idx = np.asarray(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)),
                     dtype=np.int64)
    return Inputs(task, preds, idx, idx, logits, n)


@st.composite
def distributions_inputs(draw: st.DrawFn, loss: LossDef, multi_output: bool | None = None,
                         spread: float = SPREAD, logits: bool | None = None) -> Inputs:
    """Target.DISTRIBUTIONS: scores (n, C) against a distribution per row (hard labels arrive
    one-hot at the function, as class indices at the API)."""
    task = draw(st.sampled_from([t for t in loss.tasks if t in DISTRIBUTIONS_TASKS]))
    logits = _kind(draw, loss, logits)
    n, c = draw(st.integers(3, 12)), draw(st.integers(2, 5))
    preds = scores(draw, (n, c), logits, spread)
    if task == "distribution":
        labels = distributions(draw, n, c)
        return Inputs(task, preds, labels, labels, logits, n)
    idx = np.asarray(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)),
                     dtype=np.int64)
    return Inputs(task, preds, np.eye(c)[idx], idx, logits, n)


VALUES_TASKS = ("regression", "binary")
CLASSES_TASKS = ("binary", "multiclass", "multilabel", "distribution")
DISTRIBUTIONS_TASKS = ("multiclass", "distribution")
BUILDERS: dict[Target, tuple[Callable[..., st.SearchStrategy[Inputs]], tuple[str, ...]]] = {
    Target.VALUES: (values_inputs, VALUES_TASKS),
    Target.CLASSES: (classes_inputs, CLASSES_TASKS),
    Target.DISTRIBUTIONS: (distributions_inputs, DISTRIBUTIONS_TASKS),
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
        unknown = [t for t in loss.tasks if t not in known]
        assert loss.tasks, f"{loss.name} declares no tasks"
        assert not unknown, f"{loss.name}: the {loss.target} builder cannot draw {unknown}"


def per_sample(loss: LossDef, x: Inputs) -> np.ndarray:
    terms = loss.fn(x.preds, x.fn_labels, **x.fn_kwargs())
    assert terms.values.shape == (x.n,)
    return terms.values


def api(loss: LossDef, x: Inputs, *, reduction: str = "mean", preds: Any = None,
        labels: Any = None) -> float:
    return losscli.compute(
        loss.name,
        x.preds if preds is None else preds,
        x.api_labels if labels is None else labels,
        logits=x.logits,
        reduction=reduction,
    ).value


# --------------------------------------------------------------------------- non-negative


@pytest.mark.parametrize("loss", LOSSES, ids=LOSS_IDS)
@SETTINGS
@given(data=st.data())
def test_nonnegative(loss: LossDef, data: st.DataObject) -> None:
    if not loss.nonnegative:
        pytest.skip(f"{loss.name} is declared nonnegative=False")
    x = data.draw(inputs_for(loss))
    values = per_sample(loss, x)
    assert np.all(np.isfinite(values))
    assert values.min() >= -ROUNDING
    assert api(loss, x) >= -ROUNDING


def test_hinge_embedding_is_rightly_declared_possibly_negative() -> None:
    """torch HingeEmbeddingLoss is x itself for y = 1, so x = -2 gives -2 (torch docs)."""
    loss = REGISTRY["hinge_embedding"]
    assert not loss.nonnegative
    assert loss.fn(np.array([-2.0]), np.array([1.0])).values.tolist() == [-2.0]


# --------------------------------------------------------------------------- perfect prediction


@dataclass(frozen=True)
class Perfect:
    """A perfect prediction for a loss and the largest loss it may give.

    ``bound`` is 0 where the loss is exactly 0, else the rounding or clipping floor (stated).
    """

    build: Callable[[st.DrawFn, LossDef], Inputs]
    bound: float
    why: str


def _regression_perfect(draw: st.DrawFn, loss: LossDef) -> Inputs:
    x = draw(values_inputs(loss))
    return Inputs(x.task, x.fn_labels.copy(), x.fn_labels, x.api_labels, None, x.elements)


def _one_hot_probs(draw: st.DrawFn, loss: LossDef) -> Inputs:
    n, c = draw(st.integers(3, 12)), draw(st.integers(2, 5))
    idx = np.asarray(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return Inputs("multiclass", np.eye(c)[idx], idx, idx, False, n)


def _binary_probs_equal_labels(draw: st.DrawFn, loss: LossDef) -> Inputs:
    n = draw(st.integers(3, 12))
    y = np.asarray(draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n)))
    return Inputs("binary", y.copy(), y, y, False, n)


def _huge_margin_logits(draw: st.DrawFn, loss: LossDef) -> Inputs:
    """Logit 1e4 on the true class, 0 elsewhere: -log softmax = log(1 + (C-1)e^-1e4) == 0."""
    x = _one_hot_probs(draw, loss)
    return Inputs(x.task, 1e4 * x.preds, x.fn_labels, x.api_labels, True, x.n)


def _kl_equal(draw: st.DrawFn, loss: LossDef) -> Inputs:
    n, c = draw(st.integers(3, 12)), draw(st.integers(2, 5))
    p = distributions(draw, n, c)
    if draw(st.booleans()):
        return Inputs("distribution", p.copy(), p, p, False, n)
    # softmax(log p) = p: log_softmax(log p) = log p up to rounding.
    return Inputs("distribution", np.log(p), p, p, True, n)


def _margin_scores(draw: st.DrawFn, loss: LossDef) -> Inputs:
    """Binary score 2·(±1) or multiclass score 2 on the true class: margin 2 >= 1."""
    n = draw(st.integers(3, 12))
    if draw(st.booleans()):
        y = np.asarray(draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n)))
        return Inputs("binary", 2.0 * (2.0 * y - 1.0), y, y, None, n)
    c = draw(st.integers(2, 5))
    idx = np.asarray(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return Inputs("multiclass", 2.0 * np.eye(c)[idx], idx, idx, None, n)


def _hinge_embedding_perfect(draw: st.DrawFn, loss: LossDef) -> Inputs:
    """x = 0 for similar pairs (y = 1), x = margin (1) for dissimilar ones (y = -1)."""
    n = draw(st.integers(3, 12))
    y = _signs(draw, n)
    return Inputs("regression", np.where(y == 1.0, 0.0, 1.0), y, y, None, n)


REGRESSION_PERFECT = Perfect(_regression_perfect, 0.0, "preds == labels")
PERFECT: dict[str, Perfect] = {
    "mse": REGRESSION_PERFECT,
    "rmse": REGRESSION_PERFECT,
    "mae": REGRESSION_PERFECT,
    "huber": REGRESSION_PERFECT,
    "smooth_l1": REGRESSION_PERFECT,
    # sklearn clips p = 1 to 1 - eps: -log(1 - eps) ~= 1.1e-16 per sample.
    "ce": Perfect(lambda d, loss: d(st.sampled_from([_one_hot_probs, _huge_margin_logits]))(
        d, loss), 1e-15, "one-hot probabilities (clipped) or a 1e4 logit margin"),
    "bce": Perfect(_binary_probs_equal_labels, 1e-15, "p == y in {0, 1}, clipped to eps"),
    "kl": Perfect(_kl_equal, 1e-15, "q == p (or logits log p: rounding only)"),
    "hinge": Perfect(_margin_scores, 0.0, "margin >= 1"),
    "squared_hinge": Perfect(_margin_scores, 0.0, "margin >= 1"),
    "hinge_embedding": Perfect(_hinge_embedding_perfect, 0.0, "x = 0 (y = 1), x = margin"),
}
# Losses with no meaningful perfect prediction, each with the reason.
NO_PERFECT: dict[str, str] = {}


def test_perfect_prediction_table_covers_every_loss() -> None:
    missing = [loss.name for loss in LOSSES
               if loss.name not in PERFECT and loss.name not in NO_PERFECT]
    assert not missing, f"add a perfect prediction (or a reason) for: {missing}"


@pytest.mark.parametrize("loss", [lo for lo in LOSSES if lo.name in PERFECT], ids=lambda lo:
                         lo.name)
@SETTINGS
@given(data=st.data())
def test_zero_at_perfect_prediction(loss: LossDef, data: st.DataObject) -> None:
    perfect = PERFECT[loss.name]
    x = perfect.build(data.draw, loss)
    values = per_sample(loss, x)
    assert np.all(np.abs(values) <= perfect.bound), perfect.why
    assert abs(api(loss, x)) <= perfect.bound, perfect.why


def test_ce_clipping_floor_is_sklearns() -> None:
    """The 1e-15 bound above is not slack: sklearn log_loss of a one-hot row is -log(1 - eps)."""
    got = REGISTRY["ce"].fn(np.eye(3), np.arange(3), logits=False).values
    assert got == pytest.approx(np.full(3, -math.log1p(-EPS)), rel=1e-12)


# --------------------------------------------------------------------------- permutations


@pytest.mark.parametrize("loss", LOSSES, ids=LOSS_IDS)
@SETTINGS
@given(data=st.data())
def test_permutation_invariant(loss: LossDef, data: st.DataObject) -> None:
    x = data.draw(inputs_for(loss))
    perm = np.asarray(data.draw(st.permutations(range(x.n))))
    values = per_sample(loss, x)
    moved = loss.fn(x.preds[perm], x.fn_labels[perm], **x.fn_kwargs()).values
    # Row-wise functions: sample i's value moves with sample i.
    np.testing.assert_allclose(moved, values[perm], rtol=1e-14, atol=0)
    reduced = api(loss, x)
    assert api(loss, x, preds=x.preds[perm], labels=x.api_labels[perm]) == pytest.approx(
        reduced, rel=1e-12, abs=1e-15)


# --------------------------------------------------------------------------- sum and mean


MEAN_LOSSES = [lo for lo in LOSSES if lo.reduce is Reduce.MEAN]


@pytest.mark.parametrize("loss", MEAN_LOSSES, ids=lambda lo: lo.name)
@SETTINGS
@given(data=st.data())
def test_sum_is_mean_times_n(loss: LossDef, data: st.DataObject) -> None:
    """Unweighted (default parameters), one output per sample: torch's sum = mean · n."""
    x = data.draw(inputs_for(loss, multi_output=False))
    mean = api(loss, x)
    total = api(loss, x, reduction="sum")
    assert total == pytest.approx(mean * x.elements, rel=1e-12, abs=1e-13)
    # and both agree with the per-sample terms summed here
    assert total == pytest.approx(math.fsum(per_sample(loss, x)), rel=1e-12, abs=1e-13)


@pytest.mark.parametrize("loss", MEAN_LOSSES, ids=lambda lo: lo.name)
@SETTINGS
@given(data=st.data())
def test_sum_is_mean_times_elements_with_several_outputs(loss: LossDef,
                                                         data: st.DataObject) -> None:
    """Several outputs per sample (multi-output regression, multi-label bce): torch's mean
    divides by the n·k elements and its sum adds them all, so sum = mean · n · k
    (REFERENCES.md: "What mean divides by. torch: number of elements")."""
    x = data.draw(inputs_for(loss, multi_output=True))
    if x.elements == x.n:
        pytest.skip(f"{loss.name} has one value per sample")
    mean = api(loss, x)
    total = api(loss, x, reduction="sum")
    assert total == pytest.approx(mean * x.elements, rel=1e-12, abs=1e-13)


@pytest.mark.parametrize("loss", [lo for lo in LOSSES if lo.reduce is not Reduce.MEAN],
                         ids=lambda lo: lo.name)
def test_root_losses_refuse_sum(loss: LossDef) -> None:
    with pytest.raises(UsageError, match="no sum reduction"):
        losscli.compute(loss.name, [0.0, 1.0, 2.0], [0.5, 1.5, 3.0], reduction="sum")


# --------------------------------------------------------------------------- extreme logits

LOGIT_LOSSES = [lo for lo in LOSSES if lo.needs_kind]


def test_logit_losses_are_the_cross_entropy_family() -> None:
    assert {"ce", "bce", "kl"} <= {lo.name for lo in LOGIT_LOSSES}


@pytest.mark.parametrize("loss", LOGIT_LOSSES, ids=lambda lo: lo.name)
@SETTINGS
@given(data=st.data())
def test_finite_on_extreme_logits(loss: LossDef, data: st.DataObject) -> None:
    x = data.draw(inputs_for(loss, logits=True))
    signs = np.asarray(data.draw(hnp.arrays(np.float64, x.preds.shape,
                                            elements=st.sampled_from([-1.0, 0.0, 1.0]))))
    extreme = Inputs(x.task, 1e4 * signs, x.fn_labels, x.api_labels, True, x.elements)
    values = per_sample(loss, extreme)
    assert np.all(np.isfinite(values))
    assert math.isfinite(api(loss, extreme))


# Exact values at extreme logits, from the closed forms (no library needed):
#   ce:  logsumexp(1e4, -1e4, 0) - z_y = 1e4 - z_y  (the other exponentials underflow to 0)
#   bce: -log sigmoid(-1e4) = 1e4 + log1p(e^-1e4) = 1e4;  -log sigmoid(1e4) = 0
#   kl:  p = (.5, .5), z = (1e4, -1e4): log q = (0, -2e4), KL = .5 log .5 + .5 (log .5 + 2e4)
EXTREME_VALUES = [
    ("ce", [[1e4, -1e4, 0.0]] * 3, [0, 1, 2], [0.0, 2e4, 1e4]),
    ("bce", [-1e4, 1e4, -1e4, 1e4], [1.0, 1.0, 0.0, 0.0], [1e4, 0.0, 0.0, 1e4]),
    ("kl", [[1e4, -1e4], [-1e4, 1e4]], [[0.5, 0.5], [0.5, 0.5]],
     [1e4 + math.log(0.5), 1e4 + math.log(0.5)]),
]


@pytest.mark.parametrize(("name", "preds", "labels", "expected"), EXTREME_VALUES,
                         ids=[row[0] for row in EXTREME_VALUES])
def test_exact_values_at_extreme_logits(name: str, preds: Any, labels: Any,
                                        expected: list[float]) -> None:
    loss = REGISTRY[name]
    fn_labels = np.asarray(labels)
    got = loss.fn(np.asarray(preds, dtype=np.float64), fn_labels, logits=True).values
    assert got.tolist() == pytest.approx(expected, rel=1e-15, abs=0)
    value = losscli.compute(name, preds, labels, logits=True).value
    assert value == pytest.approx(float(np.mean(expected)), rel=1e-15)


# --------------------------------------------------------------------------- float32 input


@pytest.mark.parametrize("loss", LOSSES, ids=LOSS_IDS)
@SETTINGS
@given(data=st.data())
def test_float32_input(loss: LossDef, data: st.DataObject) -> None:
    """float32 files give the float64 result to ~1e-6, and exactly the float64 computation on
    the same (rounded) values, since losscli accumulates in float64 (ARCHITECTURE.md)."""
    # Logits within ±3 keep 1 - p >= 0.047, so float32's rounding of p (6e-8) moves
    # log(1 - p) by <= 1.3e-6; values within ±3 move (ŷ - y)² by <= 1e-6 or 1e-6 relative.
    x = data.draw(inputs_for(loss, spread=3.0))
    as32 = {"preds": x.preds.astype(np.float32)}
    if x.api_labels.dtype.kind == "f":
        as32["labels"] = x.api_labels.astype(np.float32)
    value32 = api(loss, x, **as32)
    same_values = {k: v.astype(np.float64) for k, v in as32.items()}
    assert value32 == pytest.approx(api(loss, x, **same_values), rel=1e-12, abs=1e-15)
    assert value32 == pytest.approx(api(loss, x), rel=1e-6, abs=1e-6)
