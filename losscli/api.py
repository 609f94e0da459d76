"""The Python API, which the CLI itself calls: read, interpret, evaluate, report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from losscli.engine import ByClass, PerSampleSink, estimate, evaluate
from losscli.errors import UsageError
from losscli.inputs import BatchStream, Kind, Options, Plan, plan_inputs
from losscli.losses import Reduce
from losscli.losses.numerics import Convention
from losscli.readers import DEFAULT_CHUNK_ROWS, Source, TableSource, array_source, open_source
from losscli.results import ClassRow, FileInfo, LossResult, Report, WorstRow
from losscli.spec import LossSpec, parse_spec

REDUCTIONS = ("mean", "sum")


ALL_CONVENTIONS = "all"


def _with_conventions(spec: LossSpec, convention: str) -> list[LossSpec]:
    """The spec under one convention, or under each library's for ``all``."""
    if convention != ALL_CONVENTIONS:
        return [replace(spec, convention=Convention(convention))]
    if not spec.loss.conventions:
        return [spec]
    return [replace(spec, convention=Convention(c)) for c in spec.loss.conventions]


def parse_specs(texts: Sequence[str], reduction: str, convention: str = "losscli"
                ) -> list[LossSpec]:
    """Parse every ``--loss`` and check it against the reduction and the convention."""
    if not texts:
        raise UsageError("give at least one --loss (see 'losscli losses' for the list)")
    if reduction not in REDUCTIONS:
        raise UsageError(f"--reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    choices = [c.value for c in Convention] + [ALL_CONVENTIONS]
    if convention not in choices:
        raise UsageError(f"--convention must be one of {', '.join(choices)}, got {convention!r}")
    specs = [s for t in texts for s in _with_conventions(parse_spec(t), convention)]
    for spec in specs:
        if reduction == "sum" and spec.loss.reduce is not Reduce.MEAN:
            raise UsageError(f"{spec.text} is a root of a mean and has no sum reduction; "
                             "use --reduction mean or --loss mse")
    return specs


def _options(specs: list[LossSpec], base: Options) -> Options:
    kinded = [s.loss for s in specs if s.loss.needs_kind]
    return Options(
        pred_cols=base.pred_cols, label_cols=base.label_cols, id_col=base.id_col,
        kind=base.kind, nan=base.nan, allow_unmatched=base.allow_unmatched,
        class_axis=base.class_axis,
        needs_kind=bool(kinded), independent_columns=bool(kinded) and all(
            loss.independent_columns for loss in kinded),
    )


def _file_info(src: Source, cols: list[str] | None) -> FileInfo:
    return FileInfo(src.name, src.format.lstrip("."), tuple(cols) if cols is not None else None)


def _class_rows(by_class: ByClass, classes: list[str]) -> tuple[ClassRow, ...]:
    """Per-class means and shares of the total (the shares of a loss add up to 1)."""
    totals = by_class.sum_v.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = by_class.sum_v / by_class.sum_w
        shares = by_class.sum_v / totals
    return tuple(
        ClassRow(name, tuple(int(x) for x in by_class.count[:, c]),
                 tuple(float(x) for x in means[:, c]), tuple(float(x) for x in shares[:, c]))
        for c, name in enumerate(classes)
    )


def run(preds_src: Source, labels_src: Source, specs: list[LossSpec], options: Options, *,
        reduction: str = "mean", top: int = 10, sink: PerSampleSink | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS, by_class: bool = False) -> Report:
    """Evaluate already opened sources: the core of ``compute`` for files and arrays alike."""
    plan: Plan = plan_inputs(preds_src, labels_src, _options(specs, options))
    stream = BatchStream(preds_src, labels_src, plan, chunk_rows)
    ev = evaluate(stream, specs, plan, top=top, sink=sink, by_class=by_class)
    if ev.n_samples == 0:
        from losscli.errors import InputError

        raise InputError("no rows left to evaluate (every row was skipped for NaN values)")
    results = []
    for spec, m in zip(specs, ev.moments, strict=True):
        est = estimate(m, spec.loss.reduce, reduction)
        results.append(LossResult(
            loss=spec.label, name=spec.loss.name, value=est.value, n=m.n - m.ignored,
            std=est.std, ci_low=est.ci_low, ci_high=est.ci_high, reduction=reduction,
            reference=spec.loss.reference, params=dict(spec.params), ignored=m.ignored,
            convention=spec.convention.value,
            convention_note=spec.loss.conventions.get(spec.convention.value, ""),
        ))
    notes = list(plan.notes)
    if stream.skipped:
        notes.append((f"skipped {stream.skipped} rows", "NaN or infinite values; --nan skip"))
    worst = tuple(WorstRow(r["row"], r["id"], r["label"], r["prediction"], r["p_true"],
                           tuple(r["losses"])) for r in ev.worst.rows)
    return Report(
        preds=_file_info(preds_src, plan.pred_cols),
        labels=_file_info(labels_src, plan.label_cols),
        n_samples=ev.n_samples, n_skipped=stream.skipped, task=plan.task.value,
        classes=tuple(plan.classes), kind=None if plan.kind is None else plan.kind.value,
        interpretation=tuple((n.what, n.why) if hasattr(n, "what") else n for n in notes),
        results=tuple(results), worst=worst,
        by_class=() if ev.by_class is None else _class_rows(ev.by_class, plan.classes),
    )


def compute_files(preds: Path, labels: Path, losses: Sequence[str], options: Options, *,
                  reduction: str = "mean", top: int = 10, sink: PerSampleSink | None = None,
                  preds_key: str | None = None, labels_key: str | None = None,
                  chunk_rows: int = DEFAULT_CHUNK_ROWS, convention: str = "losscli",
                  by_class: bool = False) -> Report:
    """``losscli compute`` as a function: paths in, a ``Report`` out."""
    specs = parse_specs(losses, reduction, convention)
    preds_src = open_source(preds, key=preds_key, chunk_rows=chunk_rows)
    labels_src = open_source(labels, key=labels_key, chunk_rows=chunk_rows)
    if options.id_col is None and not isinstance(preds_src, TableSource) and options.pred_cols:
        raise UsageError("--pred-cols needs a table; the predictions are an array")
    return run(preds_src, labels_src, specs, options, reduction=reduction, top=top, sink=sink,
               chunk_rows=chunk_rows, by_class=by_class)


def compute(spec: str, preds: Any, labels: Any, *, logits: bool | None = None,
            reduction: str = "mean", convention: str = "losscli") -> LossResult:
    """One loss on in-memory arrays, read exactly as the CLI reads files.

    >>> compute("mse", [0.9, 0.2, 0.4], [1, 0, 1]).value  # doctest: +ELLIPSIS
    0.13666666666...
    """
    if convention == ALL_CONVENTIONS:
        raise UsageError("compute() takes one convention; call it once per convention")
    specs = parse_specs([spec], reduction, convention)
    kind = None if logits is None else (Kind.LOGITS if logits else Kind.PROBS)
    report = run(array_source("preds", preds), array_source("labels", labels), specs,
                 Options(kind=kind), reduction=reduction, top=0)
    return report.results[0]
