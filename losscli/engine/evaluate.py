"""The evaluate loop: per-sample losses chunk by chunk into mergeable accumulators, and one
``finalize`` turning the accumulators into a ``Report`` of raw numbers.

The same code serves a file held in memory (one chunk), a file streamed in chunks, and
partitions evaluated elsewhere whose ``Evaluation`` is merged at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from losscli.engine.accumulators import ByClass, Moments, Worst
from losscli.engine.histogram import Histogram
from losscli.engine.intervals import CiMethod, Intervals, LossBootstrap, clip_to_range
from losscli.engine.prepare import (
    as_float64,
    check_tasks,
    on_kernels,
    own_values,
    pool,
    unpooled,
)
from losscli.engine.resample import sample_keys
from losscli.engine.results import ClassRow, FileInfo, LossResult, Report, SliceResult, WorstRow
from losscli.engine.signature import losscli_version, signature_of
from losscli.engine.slices import Sliced, SliceKey, key_text
from losscli.errors import InputError, UsageError
from losscli.interpret.meta import MetaColumns, weights_of
from losscli.interpret.plan import Batch, Kind, LabelMode, Note, Plan
from losscli.losses import PerSample, Task
from losscli.losses.numerics import log_softmax
from losscli.spec import LossSpec


def true_classes(batch: Batch, plan: Plan) -> np.ndarray:
    """Each sample's (or, for dense maps, each position's) true class index: class labels
    are one per row (n,) or label maps (n, d1, ...), flattened in the positions' order."""
    if plan.task in (Task.REGRESSION, Task.MULTIOUTPUT):
        raise UsageError("--by-class needs class labels; these labels are numeric targets")
    labels = batch.labels
    if plan.label_mode is LabelMode.SOFT:
        return np.argmax(labels, axis=1)
    return labels.ravel().astype(np.int64)


# --------------------------------------------------------------------------- worst rows


def _p_scores(batch: Batch, plan: Plan, idx: np.ndarray) -> np.ndarray | None:
    """Probabilities of the rows ``idx`` when the task has classes and the kind is known."""
    if plan.kind is None or plan.task not in (Task.BINARY, Task.MULTICLASS, Task.DISTRIBUTION):
        return None
    preds = np.asarray(batch.preds[idx], dtype=np.float64)
    if plan.kind is Kind.PROBS:
        return preds
    return 1 / (1 + np.exp(-preds)) if preds.ndim == 1 else np.exp(log_softmax(preds))


def _values(x: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in np.ravel(x))


def _row_fields(
    batch: Batch, plan: Plan, i: int, probs: np.ndarray | None, j: int
) -> dict[str, Any]:
    """The task's fields of ``WorstRow`` for row ``i`` (``j``: its place in ``probs``)."""
    pred, label = batch.preds[i], batch.labels[i]
    if plan.task is Task.DENSE:
        # The positions labelled with a class: a label outside 0..C-1 is an ignore_index
        # (prepare refuses any other), below 0 (torch's -100) or above (255, or C itself).
        counted = (label >= 0) & (label < plan.n_scores)
        hit = (pred.argmax(axis=0) == label)[counted]
        return {
            "positions": int(counted.sum()),
            "accuracy": float(hit.mean()) if hit.size else None,
        }
    if plan.task is Task.BINARY and not np.isnan(label):
        p = None if probs is None else float(probs[j] if label == 1 else 1 - probs[j])
        return {"label_class": int(label), "prediction": _values(pred), "p_true": p}
    if plan.task is Task.MULTICLASS:
        y = int(label)
        inside = probs is not None and 0 <= y < plan.n_scores
        p = float(probs[j, y]) if probs is not None and inside else None
        return {"label_class": y, "predicted_class": int(np.argmax(pred)), "p_true": p}
    if plan.task is Task.DISTRIBUTION:
        fields: dict[str, Any] = {
            "label_class": int(np.argmax(label)),
            "predicted_class": int(np.argmax(pred)),
        }
        if np.isin(label, (0, 1)).all():  # one-hot or multi-hot: its classes say more
            fields["label"] = _values(label)
        return fields
    shown = batch.raw[i] if batch.raw is not None else label
    return {"label": _values(shown), "prediction": _values(pred)}


def describe_rows(
    batch: Batch, plan: Plan, idx: np.ndarray, own: list[np.ndarray]
) -> list[WorstRow]:
    """Some rows as ``WorstRow``s: label, prediction, p(true) and every loss's own value."""
    probs = _p_scores(batch, plan, idx)
    return [
        WorstRow(
            row=int(batch.rows[i]),
            id=None if batch.ids is None else str(batch.ids[i]),
            losses=tuple(float(v[i]) for v in own),
            **_row_fields(batch, plan, int(i), probs, j),
        )
        for j, i in enumerate(idx)
    ]


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
            return None  # soft labels and k outputs: several label columns
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

    def columns(self) -> dict[str, np.ndarray]:
        """The chunk as named columns: ``row``/``id``, ``label`` and each loss's own values
        (a spec given twice gets `` (2)``)."""
        batch = self.batch
        columns: dict[str, np.ndarray] = {"row": batch.rows}
        if batch.ids is not None:
            columns["id"] = batch.ids.astype(str)
        labels = self.label_text()
        if labels is not None:
            columns["label"] = labels
        # Loss labels are specs as written (registry names, never row/id/label); the k-th
        # time the same spec is given, its column is "name (k)".
        for i, (name, values) in enumerate(zip(self.labels, self.shown, strict=True)):
            k = self.labels[:i].count(name) + 1
            columns[name if k == 1 else f"{name} ({k})"] = values
        return columns


PerSampleSink = Callable[[EvaluatedChunk], None]


class _Float64Scores:
    """A batch with float64 scores, cast at most once per chunk for the losses that need it
    (float32 logits stay float32 for the cross-entropy kernels: ``on_kernels``)."""

    def __init__(self, batch: Batch) -> None:
        self._batch = batch
        self._wide: Batch | None = None

    def __call__(self) -> Batch:
        if self._wide is None:
            self._wide = as_float64(self._batch)
        return self._wide


@dataclass
class Evaluation:
    """What one pass over the data leaves: one Moments per loss and the worst rows (and, with
    --group-by, the same accumulators per slice)."""

    moments: list[Moments]
    worst: Worst
    by_class: ByClass | None = None
    n_samples: int = 0
    intervals: Intervals = field(default_factory=Intervals)
    bootstrap: LossBootstrap | None = None
    # One histogram of each loss's per-sample values (quantiles, distribution).
    histograms: list[Histogram] = field(default_factory=list)
    sliced: Sliced | None = None
    meta: MetaColumns = field(default_factory=MetaColumns)
    # Regression: residuals (prediction − label) of the rows that count, in a histogram.
    residuals: Histogram | None = None

    def merge(self, other: Evaluation) -> None:
        """Add another part of the same run (a partition, a saved state) to this one."""
        for mine, theirs in zip(self.moments, other.moments, strict=True):
            mine.merge(theirs)
        self.worst.merge(other.worst)
        if self.by_class is not None and other.by_class is not None:
            self.by_class.merge(other.by_class)
        if self.bootstrap is not None and other.bootstrap is not None:
            self.bootstrap.merge(other.bootstrap)
        for hist, other_hist in zip(self.histograms, other.histograms, strict=True):
            hist.merge(other_hist)
        if self.sliced is not None and other.sliced is not None:
            self.sliced.merge(other.sliced)
        if self.residuals is not None and other.residuals is not None:
            self.residuals.merge(other.residuals)
        self.n_samples += other.n_samples

    def update(self, batch: Batch, specs: list[LossSpec], plan: Plan) -> EvaluatedChunk:
        """Add one batch to every accumulator (per slice too); what a sink receives."""
        meta = self.meta
        w = None if meta.weight is None else weights_of(batch.meta or {}, meta.weight, batch.where)
        terms_list: list[PerSample] = []
        own: list[np.ndarray] = []
        split: list[tuple[PerSample, np.ndarray]] = []
        wide = _Float64Scores(batch)
        for i, (spec, moments) in enumerate(zip(specs, self.moments, strict=True)):
            raw_terms, dense = unpooled(spec, batch if on_kernels(spec, plan) else wide(), plan)
            terms = pool(raw_terms, len(batch)) if dense else raw_terms
            own.append(own_values(spec, terms))  # a row's own loss, whatever its weight
            if self.histograms:  # the rows that count: a sample weight of 0 leaves one out
                self.histograms[i].update(own[-1] if w is None else own[-1][w > 0])
            if w is not None:
                terms = sample_weighted(terms, w)
                positions = len(raw_terms.values) // max(len(batch), 1)
                raw_terms = sample_weighted(raw_terms, np.repeat(w, positions))
            if self.by_class is not None:
                split.append((raw_terms, true_classes(batch, plan)))
                self.by_class.update(i, *split[-1])
            moments.update(terms.values, terms.weights)
            if terms.outputs is not None:
                moments.update_outputs(terms.outputs)
            if terms.calibration is not None:
                moments.update_calibration(terms.calibration)
            terms_list.append(terms)
        self.n_samples += len(batch)
        if self.residuals is not None:
            self.residuals.update(residuals_of(batch, w))
        if self.sliced is not None:
            keys = None
            if self.bootstrap is not None:  # the replicate weights of the slices' rows
                keys = sample_keys(batch.rows, batch.ids)
            self.sliced.add(batch.meta or {}, terms_list, keys)
        if self.bootstrap is not None:
            self.bootstrap.update(batch, terms_list, split)

        def describe(idx: np.ndarray) -> list[WorstRow]:
            return describe_rows(batch, plan, idx, own)

        self.worst.update(own[0], describe, None if w is None else w > 0)
        return EvaluatedChunk(batch, plan, [spec.label for spec in specs], terms_list, own)

    def finalize(
        self,
        specs: list[LossSpec],
        plan: Plan,
        *,
        reduction: str,
        files: tuple[FileInfo, FileInfo],
        skipped: int = 0,
        min_slice_size: int = 0,  # pragma: no mutate
    ) -> Report:
        """The report of the run: one result per loss, worst rows, per-class rows, slices."""
        if self.n_samples == 0:
            raise InputError("no rows left to evaluate (every row was skipped for NaN values)")
        base = partial(
            signature_of,
            reduction=reduction,
            plan=plan,
            labels_sha256=files[1].sha256,
            ci=self.intervals.signature(),
        )

        def sign(spec: LossSpec, m: Moments, where: str | None = None) -> str:
            """The value's signature: with the weight column and the slice when they apply."""
            return replace(base(spec, n=m.n), weights=self.meta.weight, slice=where).text()

        weight = self.meta.weight
        if weight is not None and all(m.sum_w == 0 and m.sum_v == 0 for m in self.moments):
            raise InputError(
                f"weight column {weight!r}: every weight is 0, so the weighted mean is "
                "undefined; give some rows a positive weight"
            )
        results = tuple(
            self._result(i, spec, m, reduction, sign(spec, m))
            for i, (spec, m) in enumerate(zip(specs, self.moments, strict=True))
        )
        notes = list(plan.notes)
        if skipped:
            rows = "row" if skipped == 1 else "rows"
            notes.append(Note(f"skipped {skipped} {rows}", "NaN or infinite values; --nan skip"))
        return Report(
            preds=files[0],
            labels=files[1],
            n_samples=self.n_samples,
            n_skipped=skipped,
            task=plan.task.value,
            classes=tuple(plan.classes),
            kind=None if plan.kind is None else plan.kind.value,
            interpretation=tuple((n.what, n.why) for n in notes),
            results=results,
            worst=self.worst.finalize(),
            by_class=self._class_rows(plan),
            version=losscli_version(),
            intervals=self.intervals,
            group_by=self.meta.groups,
            slices=self._slices(specs, reduction, sign, min_slice_size),
            weight_col=weight,
            residuals=None if self.residuals is None else self.residuals.finalize(),
        )

    def _result(
        self, i: int, spec: LossSpec, m: Moments, reduction: str, signature: str
    ) -> LossResult:
        if m.outputs is not None and self.bootstrap is not None:
            raise UsageError(
                f"{spec.label}: --ci bootstrap does not apply to the mean of per-output RMSEs "
                "(--convention sklearn with several outputs); use --ci t"
            )
        interval = (
            None
            if self.bootstrap is None
            else self.bootstrap.interval(i, spec.loss.reduce, reduction)
        )
        if spec.loss.reduce.binned:  # not a mean of per-sample values: no interval
            interval = None
        result = _loss_result(spec, m, reduction, signature, interval)
        if not self.histograms:
            return result
        return replace(result, distribution=self.histograms[i].finalize())

    def _class_rows(self, plan: Plan) -> tuple[ClassRow, ...]:
        """Per-class rows, with each loss's bootstrap interval when bootstrapping."""
        if self.by_class is None:
            return ()
        rows = self.by_class.finalize(plan.classes)
        if self.bootstrap is None:
            return rows
        cis = [self.bootstrap.class_intervals(i) for i in range(len(self.moments))]
        return tuple(
            replace(
                row,
                ci_low=tuple(ci[c][0] for ci in cis),
                ci_high=tuple(ci[c][1] for ci in cis),
            )
            for c, row in enumerate(rows)
        )

    def _slices(
        self,
        specs: list[LossSpec],
        reduction: str,
        sign: Callable[[LossSpec, Moments, str | None], str],
        min_size: int,
    ) -> tuple[SliceResult, ...]:
        """Each slice's results (t or bootstrap intervals), signed with the slice."""
        sliced = self.sliced
        if sliced is None:
            return ()
        groups, level = self.meta.groups, self.intervals.level

        def result(i: int, m: Moments, key: SliceKey) -> LossResult:
            interval = sliced.interval(key, i, specs[i].loss.reduce, reduction, level)
            where = key_text(groups, key)
            return _loss_result(specs[i], m, reduction, sign(specs[i], m, where), interval)

        return sliced.finalize(result, min_size)


def _loss_result(
    spec: LossSpec,
    m: Moments,
    reduction: str,
    signature: str,
    interval: tuple[float, float] | None = None,
) -> LossResult:
    """A loss's result from its Moments; ``interval`` replaces the t interval (bootstrap)."""
    est = m.finalize(spec.loss.reduce, reduction)
    low, high = (est.ci_low, est.ci_high) if interval is None else interval
    low, high = clip_to_range(low, high, spec.loss.nonnegative)
    return LossResult(
        loss=spec.label,
        name=spec.loss.name,
        value=est.value,
        n=m.n,
        std=est.std,
        ci_low=low,
        ci_high=high,
        reduction=reduction,
        reference=spec.loss.reference,
        params=dict(spec.params),
        ignored=m.ignored,
        convention=spec.convention.value,
        convention_note=spec.loss.conventions.get(spec.convention.value, ""),
        signature=signature,
        bins=() if m.calibration is None else m.calibration.bins(),
        n_eff=m.n_eff if m.kish else None,
    )


def residuals_of(batch: Batch, w: np.ndarray | None) -> np.ndarray:
    """Prediction − label of every output of the rows that count (weight > 0); none when a
    row's predictions are not one value per label (a mean and a variance for gaussian_nll)."""
    labels = batch.raw if batch.raw is not None else batch.labels
    if labels.size != batch.preds.size:
        return np.empty(0)
    labels = labels.reshape(batch.preds.shape)  # (n, 1) against (n,): one output per row
    r = batch.preds - labels
    return (r if w is None else r[w > 0]).ravel()


def sample_weighted(terms: PerSample, w: np.ndarray) -> PerSample:
    """Terms under per-row sample weights w: values w·v, weights w·(class weight or 1), so the
    mean is Σwv/Σw as scikit-learn's sample_weight (times class weights where a loss has them)."""
    base = np.ones(len(w)) if terms.weights is None else terms.weights
    return PerSample(terms.values * w, base * w)


def evaluate(
    batches: Iterable[Batch],
    specs: list[LossSpec],
    plan: Plan,
    *,
    top: int = 10,
    sink: PerSampleSink | None = None,
    by_class: bool | None = False,
    intervals: Intervals | None = None,
    meta: MetaColumns | None = None,
) -> Evaluation:
    """One pass over aligned batches, updating every loss's accumulator.

    ``meta`` names the batches' per-row columns: sample weights (``weight``) and the group
    columns whose slices get their own accumulators (``groups``). ``by_class=None``: per-class
    rows whenever the task has classes and no loss scores whole images (the HTML report)."""
    result = start_evaluation(
        specs, plan, top=top, by_class=by_class, intervals=intervals, meta=meta
    )
    for batch in batches:
        chunk = result.update(batch, specs, plan)
        if sink is not None:
            sink(chunk)
    return result


def start_evaluation(
    specs: list[LossSpec],
    plan: Plan,
    *,
    top: int = 10,
    by_class: bool | None = False,
    intervals: Intervals | None = None,
    meta: MetaColumns | None = None,
) -> Evaluation:
    """The empty accumulators of a pass (``evaluate``), its options checked."""
    check_tasks(specs, plan)
    if by_class is None:
        by_class = plan.task not in (Task.REGRESSION, Task.MULTIOUTPUT) and not any(
            s.loss.per_image for s in specs
        )
    intervals = intervals or Intervals()
    # Per-class bootstrap sums only for per-class rows (nothing reads them otherwise: a
    # count there would only cost memory, hence no mutant of the 0).
    n_classes = 0  # pragma: no mutate
    if by_class:
        n_classes = len(plan.classes)
    meta = meta or MetaColumns()
    kish = meta.weight is not None
    binned = [s.text for s in specs if s.loss.reduce.binned]
    if binned and (kish or meta.groups):
        raise UsageError(
            f"{', '.join(binned)}: a binned calibration error takes no sample weights or "
            "slices yet; run it without --weight-col and --group-by"
        )
    result = Evaluation(
        [Moments(kish=kish) for _ in specs],
        Worst(top),
        ByClass(len(specs), len(plan.classes)) if by_class else None,
        intervals=intervals,
        bootstrap=(
            LossBootstrap(intervals, len(specs), n_classes)
            if intervals.method is CiMethod.BOOTSTRAP
            else None
        ),
        histograms=[Histogram() for _ in specs],
        sliced=(
            Sliced(
                meta.groups,
                len(specs),
                kish,
                intervals.resampler() if intervals.method is CiMethod.BOOTSTRAP else None,
            )
            if meta.groups
            else None
        ),
        meta=meta,
        # Numeric targets read as they are (not bce's logits or probabilities).
        residuals=(
            Histogram()
            if plan.task in (Task.REGRESSION, Task.MULTIOUTPUT) and plan.kind is None
            else None
        ),
    )
    whole = [s.text for s in specs if s.loss.per_image]
    if by_class and whole:
        raise UsageError(
            f"--by-class splits each loss by true class, but {', '.join(whole)} "
            "scores whole images, not positions; run it without --by-class"
        )
    return result
