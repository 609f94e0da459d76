"""The engine: per-sample losses chunk by chunk, reduced by mergeable accumulators.

The same code serves a file held in memory (one chunk), a file streamed in chunks, and
partitions evaluated elsewhere whose accumulators are merged at the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.errors import DomainError, InputError, UsageError
from losscli.interpret.plan import PROB_SUM_TOL, Batch, Kind, LabelMode, Note, Plan, Task
from losscli.losses import PerSample, Reduce, Target
from losscli.losses.numerics import Convention, log_softmax, one_hot
from losscli.spec import LossSpec
from losscli.stats import LEVEL, t_ppf

# --------------------------------------------------------------------------- accumulators


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Σ a·b without BLAS: OpenBLAS's threaded dot contends with the reader threads."""
    return float(np.einsum("i,i->", a, b))


@dataclass
class Moments:
    """Mergeable sums for a (weighted) mean and its uncertainty.

    Holds n, Σv, Σw and the centred co-moments of (v, w) so that merging chunks (Chan et al.)
    never subtracts large sums. v are the per-sample values, w their weights (1 if none).
    """

    n: int = 0
    sum_v: float = 0.0
    sum_w: float = 0.0
    mean_v: float = 0.0
    mean_w: float = 0.0
    m_vv: float = 0.0
    m_ww: float = 0.0
    m_vw: float = 0.0
    ignored: int = 0  # samples left out: weight 0 and value 0 (ignore_index)

    def update(self, values: np.ndarray, weights: np.ndarray | None) -> None:
        n = len(values)
        if n == 0:
            return
        skipped = 0
        if weights is not None:
            # Ignored samples (ignore_index) count nowhere: not in n, not in the spread.
            ignored = (weights == 0) & (values == 0)
            if ignored.any():
                skipped = int(ignored.sum())
                values, weights = values[~ignored], weights[~ignored]
                n = len(values)
                if n == 0:
                    self.ignored += skipped
                    return
        mv = float(values.mean())
        with np.errstate(invalid="ignore"):
            dv = values - mv
            chunk = Moments(
                n=n,
                sum_v=float(values.sum()),
                sum_w=float(n),
                mean_v=mv,
                mean_w=1.0,
                m_vv=_dot(dv, dv),
                ignored=skipped,
            )
            if weights is not None:
                mw = float(weights.mean())
                dw = weights - mw
                chunk.sum_w, chunk.mean_w = float(weights.sum()), mw
                chunk.m_ww, chunk.m_vw = _dot(dw, dw), _dot(dv, dw)
        self.merge(chunk)

    def merge(self, other: Moments) -> None:
        if other.n == 0 or self.n == 0:
            ignored = self.ignored + other.ignored
            if self.n == 0:
                self.__dict__.update(other.__dict__)
            self.ignored = ignored
            return
        n = self.n + other.n
        dv, dw = other.mean_v - self.mean_v, other.mean_w - self.mean_w
        f = self.n * other.n / n
        self.m_vv += other.m_vv + dv * dv * f
        self.m_ww += other.m_ww + dw * dw * f
        self.m_vw += other.m_vw + dv * dw * f
        self.mean_v += dv * other.n / n
        self.mean_w += dw * other.n / n
        self.sum_v += other.sum_v
        self.sum_w += other.sum_w
        self.ignored += other.ignored
        self.n = n


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float
    std: float
    ci_low: float
    ci_high: float


def _t95(n: int) -> float:
    """The two-sided 95% quantile of Student's t with n − 1 degrees of freedom."""
    return t_ppf(0.5 + LEVEL / 2, n - 1) if n > 1 else float("nan")


def estimate(m: Moments, reduce: Reduce, reduction: str) -> Estimate:
    """The reduced value, the per-sample std and a 95% Student-t interval (n − 1 df)."""
    nan = float("nan")
    if m.sum_w == 0:
        raise InputError(
            "every row is ignored (ignore_index), so the mean is undefined; "
            "check ignore_index and the labels"
        )
    if reduction == "sum":
        value = m.sum_v
        sd = math.sqrt(m.m_vv / (m.n - 1)) if m.n > 1 else nan
        half = _t95(m.n) * math.sqrt(m.n) * sd
        return Estimate(value, sd, value - half, value + half)
    ratio = m.sum_v / m.sum_w
    if m.n > 1 and math.isfinite(ratio):
        # Linearised std of the ratio estimator Σv/Σw; the plain sample std when w = 1.
        spread = max(m.m_vv - 2 * ratio * m.m_vw + ratio * ratio * m.m_ww, 0.0)
        sd = math.sqrt(spread / (m.n - 1)) / m.mean_w
    else:
        sd = nan
    half = _t95(m.n) * sd / math.sqrt(m.n)
    if reduce is Reduce.SQRT_MEAN:
        root = math.sqrt(ratio)
        # Interval by transforming the mean's bounds; std by the delta method.
        return Estimate(
            root,
            sd / (2 * root) if root > 0 else nan,
            math.sqrt(max(ratio - half, 0.0)),
            math.sqrt(ratio + half),
        )
    return Estimate(ratio, sd, ratio - half, ratio + half)


@dataclass
class Worst:
    """A bounded set of the rows with the highest per-sample value of the first loss."""

    k: int
    keys: np.ndarray = field(default_factory=lambda: np.empty(0))
    rows: list[dict[str, Any]] = field(default_factory=list)

    def update(
        self, key: np.ndarray, describe: Callable[[np.ndarray], list[dict[str, Any]]]
    ) -> None:
        if self.k <= 0 or not len(key):
            return
        ranked = np.where(np.isnan(key), -np.inf, key)
        # Once k rows are kept, only rows above the k-th worst can enter.
        cand = (
            np.flatnonzero(ranked > self.keys.min())
            if len(self.keys) == self.k
            else np.arange(len(ranked))
        )
        if not len(cand):
            return
        if len(cand) > self.k:
            # Keep every row tied with the k-th largest, then break ties by row order, so the
            # table does not depend on how the file was cut into chunks.
            kth = ranked[cand][np.argpartition(-ranked[cand], self.k - 1)[self.k - 1]]
            cand = cand[ranked[cand] >= kth]
            cand = cand[np.lexsort((cand, -ranked[cand]))[: self.k]]
        self.merge(Worst(self.k, ranked[cand], describe(cand)))

    def merge(self, other: Worst) -> None:
        keys = np.concatenate([self.keys, other.keys])
        rows = self.rows + other.rows
        order = sorted(range(len(rows)), key=lambda i: (-keys[i], rows[i]["row"]))[: self.k]
        self.keys, self.rows = keys[order], [rows[i] for i in order]


@dataclass
class ByClass:
    """Per true class and loss: Σ values, Σ weights and the number of counted samples."""

    n_losses: int
    n_classes: int
    sum_v: np.ndarray = field(init=False)
    sum_w: np.ndarray = field(init=False)
    count: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        shape = (self.n_losses, self.n_classes)
        self.sum_v, self.sum_w, self.count = np.zeros(shape), np.zeros(shape), np.zeros(shape)

    def update(self, loss: int, terms: PerSample, classes: np.ndarray) -> None:
        weights = np.ones(len(terms.values)) if terms.weights is None else terms.weights
        keep = (classes >= 0) & (classes < self.n_classes) & (weights > 0)
        cls = classes[keep]
        c = self.n_classes
        self.sum_v[loss] += np.bincount(cls, weights=terms.values[keep], minlength=c)
        self.sum_w[loss] += np.bincount(cls, weights=weights[keep], minlength=c)
        self.count[loss] += np.bincount(cls, minlength=c)

    def merge(self, other: ByClass) -> None:
        self.sum_v += other.sum_v
        self.sum_w += other.sum_w
        self.count += other.count


def true_classes(batch: Batch, plan: Plan, dense: bool) -> np.ndarray:
    """Each sample's (or, for dense maps, each position's) true class index."""
    if plan.task is Task.REGRESSION:
        raise UsageError("--by-class needs class labels; these labels are numeric targets")
    labels = batch.labels
    if plan.label_mode is LabelMode.SOFT:
        return np.argmax(labels, axis=1)
    flat = labels.reshape(-1) if dense else labels
    return flat.astype(np.int64)


# --------------------------------------------------------------------------- preparation


def _bad(batch: Batch, mask: np.ndarray) -> np.ndarray:
    """A row mask from a mask over rows, elements, or a dense map's flattened positions."""
    if mask.shape == (len(batch),):
        return mask
    return np.asarray(mask.reshape(len(batch), -1).any(axis=1))


# Conventions whose library accepts probability rows that do not sum to 1, and what it does.
_TOLERATED_SUMS = {
    Convention.SKLEARN: "scikit-learn uses them as given (with a warning); so does this result",
    Convention.KERAS: "Keras renormalises each row to sum 1; so does this result",
}


def _check_probs(spec: LossSpec, batch: Batch, plan: Plan, per_row_sum: bool) -> None:
    """Probabilities must lie in [0, 1] (and rows of a distribution sum to 1)."""
    preds = batch.preds
    error = UsageError if plan.kind_auto else InputError
    fix = (
        "pass --logits if these are scores"
        if plan.kind_auto
        else "pass --logits if these are logits, or fix the probabilities"
    )
    # Keras divides each row by its sum, so any non-negative scores are valid there.
    keras_rows = per_row_sum and preds.ndim >= 2 and spec.convention is Convention.KERAS
    outside = (preds < 0) if keras_rows else (preds < 0) | (preds > 1)
    if outside.any():
        value = preds[outside][0]
        raise error(
            f"predictions read as probabilities, but {batch.where(_bad(batch, outside))}"
            f" holds {value:.6g}, outside [0, 1]; {fix}"
        )
    if per_row_sum and preds.ndim >= 2:
        sums = preds.sum(axis=1)
        off = np.abs(sums - 1.0) > PROB_SUM_TOL
        if not off.any():
            return
        where = f"{batch.where(_bad(batch, off))} (e.g. {sums[off][0]:.6g})"
        tolerated = _TOLERATED_SUMS.get(spec.convention)
        if tolerated is None:
            raise error(
                f"predictions read as probabilities, but rows do not sum to 1 at {where}; {fix}"
            )
        what = f"{spec.label}: probability rows do not sum to 1"
        if not any(n.what.startswith(what) for n in plan.notes):  # said once, at first rows
            plan.notes.append(Note(f"{what} at {where}", tolerated))


def _index_labels(spec: LossSpec, batch: Batch, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Check class indices are in 0..C-1 (or equal ignore_index when the loss has one)."""
    ignore = spec.value_of("ignore_index") if spec.loss.param("ignore_index") else None
    bad = ((labels < 0) | (labels >= n_classes)) & (labels != ignore)
    if bad.any():
        value = int(labels[bad][0])
        extra = f" or ignore_index={ignore}" if ignore is not None else ""
        raise InputError(
            f"label {value} at {batch.where(_bad(batch, bad))} is out of range for "
            f"{n_classes} classes (expected 0..{n_classes - 1}{extra})"
        )
    return labels


def _soft_labels(spec: LossSpec, batch: Batch) -> np.ndarray:
    labels = batch.labels
    negative = (labels < 0).any(axis=1)
    if negative.any():
        raise InputError(f"soft labels must be >= 0; {batch.where(negative)} has a negative value")
    if spec.loss.target is Target.DISTRIBUTIONS:
        off = np.abs(labels.sum(axis=1) - 1.0) > PROB_SUM_TOL
        if off.any():
            raise InputError(
                f"{spec.text}: label rows must be distributions summing to 1; "
                f"{batch.where(off)} sums to {labels.sum(axis=1)[off][0]:.6g}"
            )
    return labels


def _mean_var(spec: LossSpec, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Target.MEAN_VAR: two prediction columns (mean, variance) against one numeric label."""
    preds, raw = batch.preds, batch.raw
    if preds.ndim != 2 or preds.shape[1] != 2:
        got = (
            "dense maps"
            if preds.ndim > 2
            else (f"{1 if preds.ndim == 1 else preds.shape[1]} prediction column(s)")
        )
        raise UsageError(
            f"{spec.text} needs exactly two prediction columns, the mean and the "
            f"variance, but got {got}; put them in that order"
        )
    if raw is None or raw.ndim != 1:
        raise UsageError(
            f"{spec.text} compares a predicted mean and variance with one numeric "
            "label per sample; give one label column of numbers"
        )
    return preds, raw


def prepare(spec: LossSpec, batch: Batch, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """(preds, labels) in the shapes the loss's target expects, checked."""
    loss, task = spec.loss, plan.task
    if loss.target is Target.MEAN_VAR:
        return _mean_var(spec, batch)
    if loss.target is Target.VALUES:
        if task is Task.DENSE or batch.raw is None:
            raise UsageError(
                f"{spec.text} compares numbers with numbers, but the labels are "
                "class names or maps; use a classification loss such as ce"
            )
        if batch.preds.shape != batch.raw.shape:
            cols = (
                1 if batch.preds.ndim == 1 else batch.preds.shape[1],
                1 if batch.raw.ndim == 1 else batch.raw.shape[1],
            )
            raise UsageError(
                f"{spec.text} compares each prediction column with a label column, "
                f"but there are {cols[0]} prediction and {cols[1]} label columns; "
                "for class labels use ce, hinge or kl"
            )
        return batch.preds, batch.raw
    if loss.needs_kind and plan.kind is Kind.PROBS:
        _check_probs(spec, batch, plan, per_row_sum=not loss.independent_columns)
    n_classes = plan.n_scores
    if loss.target is Target.DISTRIBUTIONS:
        if batch.preds.ndim != 2 or n_classes < 2:
            raise UsageError(
                f"{spec.text} compares distributions and needs one prediction "
                "column per class (at least two)"
            )
        if plan.label_mode is LabelMode.SOFT:
            return batch.preds, _soft_labels(spec, batch)
        labels = _index_labels(spec, batch, batch.labels, n_classes)
        return batch.preds, one_hot(labels, n_classes)
    if task is Task.BINARY:
        other = np.isnan(batch.labels)
        if other.any():
            raise InputError(
                f"{spec.text} reads a binary task with labels "
                f"{' and '.join(plan.classes)}, but {batch.where(other)} holds "
                "another value; a binary task needs exactly two label values"
            )
        return batch.preds, batch.labels
    if task is Task.REGRESSION:
        raw = batch.raw
        if loss.needs_kind and raw is not None and ((raw >= 0) & (raw <= 1)).all():
            return batch.preds, raw
        raise UsageError(
            f"{spec.text} needs class labels, but the labels have more than two "
            "values; for numeric targets use mse, mae or huber"
        )
    if task is Task.DISTRIBUTION:
        return batch.preds, _soft_labels(spec, batch)
    if task is Task.DENSE:
        return batch.preds, _index_labels(spec, batch, batch.labels, n_classes)
    return batch.preds, _index_labels(spec, batch, batch.labels, n_classes)


def unpooled(spec: LossSpec, batch: Batch, plan: Plan) -> tuple[PerSample, bool]:
    """The loss's terms per sample, or per position for dense maps (flag True)."""
    preds, labels = prepare(spec, batch, plan)
    kwargs: dict[str, Any] = dict(spec.params)
    if spec.loss.needs_kind:
        kwargs["logits"] = plan.kind is Kind.LOGITS
    if spec.loss.conventions:
        kwargs["convention"] = spec.convention
    # Dense maps become positions, pooled per sample later, unless the loss scores whole maps.
    dense = (
        plan.task is Task.DENSE
        and spec.loss.target is not Target.VALUES
        and not spec.loss.per_image
    )
    if dense:
        c = preds.shape[1]
        preds = np.moveaxis(preds, 1, -1).reshape(-1, c)
        labels = labels.reshape(-1)
    try:
        return spec.loss.fn(preds, labels, **kwargs), dense
    except DomainError as exc:
        raise InputError(
            f"{exc.problem} ({batch.where(_bad(batch, np.asarray(exc.bad)))}); {exc.fix}"
        ) from None


def pool(terms: PerSample, n: int) -> PerSample:
    """Per-position terms of n samples pooled per sample: sums of values and of weights."""
    weights = np.ones(len(terms.values)) if terms.weights is None else terms.weights
    return PerSample(terms.values.reshape(n, -1).sum(axis=1), weights.reshape(n, -1).sum(axis=1))


def per_sample(spec: LossSpec, batch: Batch, plan: Plan) -> PerSample:
    """The loss's per-sample terms for a batch; dense maps pool their positions per sample."""
    terms, dense = unpooled(spec, batch, plan)
    return pool(terms, len(batch)) if dense else terms


def display_values(spec: LossSpec, terms: PerSample) -> np.ndarray:
    """A sample's own loss: value / weight (NaN where the weight is 0); root for RMSE."""
    if terms.weights is None:
        shown = terms.values
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            shown = np.where(terms.weights > 0, terms.values / terms.weights, np.nan)
    return np.sqrt(shown) if spec.loss.reduce is Reduce.SQRT_MEAN else shown


# --------------------------------------------------------------------------- describing rows


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def describe_rows(batch: Batch, plan: Plan, idx: np.ndarray) -> list[dict[str, Any]]:
    """Label, prediction and the probability given to the true class for some rows."""
    preds, labels = batch.preds[idx], batch.labels[idx]
    shown_labels = batch.raw[idx] if batch.raw is not None else labels
    out: list[dict[str, Any]] = []
    probs: np.ndarray | None = None
    if plan.kind is not None and plan.task in (Task.BINARY, Task.MULTICLASS, Task.DISTRIBUTION):
        if plan.kind is Kind.LOGITS:
            probs = (
                1 / (1 + np.exp(-preds)) if preds.ndim == 1 else np.exp(log_softmax(preds, axis=1))
            )
        else:
            probs = preds
    for j, i in enumerate(idx):
        row: dict[str, Any] = {
            "row": int(batch.rows[i]),
            "id": None if batch.ids is None else str(batch.ids[i]),
            "p_true": None,
        }
        if plan.task is Task.DENSE:
            counted = labels[j] < plan.n_scores
            hit = (preds[j].argmax(axis=0) == labels[j])[counted]
            row["label"] = f"{int(counted.sum())} px"
            row["prediction"] = f"pixel acc {hit.mean():.3f}" if hit.size else "no pixels"
        elif plan.task is Task.BINARY and not np.isnan(labels[j]):
            row["label"] = str(plan.classes[int(labels[j])])
            row["prediction"] = _fmt(preds[j])
            if probs is not None:
                row["p_true"] = float(probs[j] if labels[j] == 1 else 1 - probs[j])
        elif plan.task is Task.MULTICLASS:
            y = int(labels[j])
            row["label"] = plan.classes[y] if 0 <= y < plan.n_scores else str(y)
            row["prediction"] = plan.classes[int(np.argmax(preds[j]))]
            if probs is not None and 0 <= y < plan.n_scores:
                row["p_true"] = float(probs[j, y])
        elif plan.task is Task.DISTRIBUTION:
            row["label"] = "argmax " + plan.classes[int(np.argmax(labels[j]))]
            row["prediction"] = "argmax " + plan.classes[int(np.argmax(preds[j]))]
        else:
            row["label"] = (
                _fmt(float(np.ravel(shown_labels[j])[0]))
                if np.size(shown_labels[j]) == 1
                else "[" + ", ".join(map(_fmt, shown_labels[j])) + "]"
            )
            row["prediction"] = (
                _fmt(float(np.ravel(preds[j])[0]))
                if np.size(preds[j]) == 1
                else "[" + ", ".join(map(_fmt, preds[j])) + "]"
            )
        out.append(row)
    return out


# --------------------------------------------------------------------------- the loop


@dataclass(frozen=True, slots=True)
class EvaluatedChunk:
    """What a sink receives for each chunk: its rows and, per loss in ``--loss`` order, the
    terms (pooled per sample) and each sample's own loss."""

    batch: Batch
    plan: Plan
    labels: list[str]
    terms: list[PerSample]
    shown: list[np.ndarray]

    def label_text(self) -> np.ndarray | None:
        """Each row's label as the user wrote it (class names, numbers); None for maps and
        distributions, which have no single label."""
        plan, labels = self.plan, self.batch.labels
        if plan.task is Task.DENSE or plan.label_mode is LabelMode.SOFT:
            return None
        if plan.label_mode in (LabelMode.INDEX, LabelMode.NAME, LabelMode.BINARY) and not (
            plan.label_mode is LabelMode.BINARY and np.isnan(labels).any()
        ):
            names = np.array(plan.classes, dtype=object)
            codes = labels.astype(np.int64)
            inside = (codes >= 0) & (codes < len(names))
            return np.where(
                inside, names[np.clip(codes, 0, len(names) - 1)], codes.astype(str).astype(object)
            )
        return self.batch.raw if self.batch.raw is not None else labels


PerSampleSink = Callable[[EvaluatedChunk], None]


@dataclass
class Evaluation:
    """What one pass over the data leaves: one Moments per loss and the worst rows."""

    moments: list[Moments]
    worst: Worst
    by_class: ByClass | None = None
    n_samples: int = 0


def evaluate(
    batches: Iterable[Batch],
    specs: list[LossSpec],
    plan: Plan,
    *,
    top: int = 10,
    sink: PerSampleSink | None = None,
    by_class: bool = False,
) -> Evaluation:
    """One pass over aligned batches, updating every loss's accumulator."""
    result = Evaluation(
        [Moments() for _ in specs],
        Worst(top),
        ByClass(len(specs), len(plan.classes)) if by_class else None,
    )
    whole = [s.text for s in specs if s.loss.per_image]
    if by_class and whole:
        raise UsageError(
            f"--by-class splits each loss by true class, but {', '.join(whole)} "
            "scores whole images, not positions; run it without --by-class"
        )
    labels = [spec.label for spec in specs]
    for batch in batches:
        terms_list: list[PerSample] = []
        shown: list[np.ndarray] = []
        for i, (spec, moments) in enumerate(zip(specs, result.moments, strict=True)):
            raw_terms, dense = unpooled(spec, batch, plan)
            terms = pool(raw_terms, len(batch)) if dense else raw_terms
            if result.by_class is not None:
                result.by_class.update(i, raw_terms, true_classes(batch, plan, dense))
            moments.update(terms.values, terms.weights)
            terms_list.append(terms)
            shown.append(display_values(spec, terms))
        result.n_samples += len(batch)

        def describe(
            idx: np.ndarray, batch: Batch = batch, shown: list = shown
        ) -> list[dict[str, Any]]:
            rows = describe_rows(batch, plan, idx)
            for row, i in zip(rows, idx, strict=True):
                row["losses"] = [float(v[i]) for v in shown]
            return rows

        result.worst.update(shown[0], describe)
        if sink is not None:
            sink(EvaluatedChunk(batch, plan, labels, terms_list, shown))
    return result
