"""From opened sources to a ``Report``: plan the inputs, stream them through the engine,
finalize. ``compute``, ``check`` and ``compare`` all run through here."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from losscli.engine.evaluate import EvaluatedChunk, PerSampleSink, evaluate
from losscli.engine.intervals import Intervals
from losscli.engine.results import FileInfo, Report
from losscli.interpret.align import BatchStream
from losscli.interpret.meta import locate
from losscli.interpret.plan import Batch, Options, Plan, plan_inputs
from losscli.io.readers import DEFAULT_CHUNK_ROWS, ArraySource, Source
from losscli.io.shards import check_shard_pairs
from losscli.losses import PerSample, Target
from losscli.spec import LossSpec

_LOG = logging.getLogger("losscli")  # --verbose: decisions, chunks, timings


def options_for(specs: list[LossSpec], base: Options) -> Options:
    """The user's options plus what the losses ask of the planner (kind, mean/variance, ...)."""
    kinded = [s.loss for s in specs if s.loss.needs_kind]
    return replace(
        base,
        mean_var=any(s.loss.target is Target.MEAN_VAR for s in specs),
        multioutput=all(s.loss.target is Target.VALUES for s in specs),
        needs_kind=bool(kinded),
        independent_columns=bool(kinded) and all(loss.independent_columns for loss in kinded),
    )


def file_info(src: Source, cols: list[str] | None) -> FileInfo:
    start = time.perf_counter()
    sha256 = None if src.digest is None else src.digest.hexdigest()
    if sha256 is not None:
        waited = time.perf_counter() - start
        _LOG.info("sha256 of %s: %s (waited %.3f s for it)", src.name, sha256, waited)
    return FileInfo(
        src.name, src.format.lstrip("."), tuple(cols) if cols is not None else None, sha256
    )


def run(
    preds_src: Source,
    labels_src: Source,
    specs: list[LossSpec],
    options: Options,
    *,
    reduction: str = "mean",
    top: int = 10,
    sink: PerSampleSink | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    by_class: bool | None = False,
    intervals: Intervals | None = None,
    meta_src: Source | None = None,
    min_slice_size: int = 0,
    save_state: Path | None = None,
) -> Report:
    """Evaluate already opened sources: the core of ``compute`` for files and arrays alike.

    ``meta_src`` is ``--meta FILE``, a third table holding weight or group columns;
    ``save_state``: also write the accumulators' exact state there (``losscli merge``)."""
    start = time.perf_counter()
    plan: Plan = plan_inputs(preds_src, labels_src, options_for(specs, options))
    if plan.id_col is None:
        check_shard_pairs(preds_src, labels_src)
    if isinstance(preds_src, ArraySource):
        plan.preds_dtype = str(preds_src.dtype)
    _LOG.info(
        "read %s [%s] against %s [%s]: task %s, %s",
        preds_src.name,
        preds_src.format.lstrip("."),
        labels_src.name,
        labels_src.format.lstrip("."),
        plan.task.value,
        f"{len(plan.classes)} classes" if plan.classes else "no classes",
    )
    for note in plan.notes:
        _LOG.info("decided: %s (%s)", note.what, note.why)
    meta_plan = (
        locate(options.meta, preds_src, labels_src, meta_src, plan.id_col)
        if options.meta or meta_src is not None
        else None
    )
    stream = BatchStream(preds_src, labels_src, plan, chunk_rows, meta_plan)
    ev = evaluate(
        _logged(stream, chunk_rows),
        specs,
        plan,
        top=top,
        sink=sink,
        by_class=by_class,
        intervals=intervals,
        meta=options.meta,
    )
    if plan.id_col is None:
        check_shard_pairs(preds_src, labels_src)
    _LOG.info("evaluated %d samples in %.3f s", ev.n_samples, time.perf_counter() - start)
    files = (file_info(preds_src, plan.pred_cols), file_info(labels_src, plan.label_cols))
    report = ev.finalize(
        specs,
        plan,
        reduction=reduction,
        files=files,
        skipped=stream.skipped,
        min_slice_size=min_slice_size,
    )
    if save_state is not None:
        from losscli.engine.state import state_of, write_state

        doc = state_of(ev, specs, plan, reduction=reduction, files=files, skipped=stream.skipped)
        write_state(save_state, doc)
    return report


def _logged(batches: Iterable[Batch], chunk_rows: int) -> Iterator[Batch]:
    """The batches, each noted for ``--verbose`` (chunks of at most ``chunk_rows`` rows)."""
    _LOG.info("streaming in chunks of up to %d rows", chunk_rows)
    start, rows = time.perf_counter(), 0
    for i, batch in enumerate(batches, 1):
        _LOG.debug("chunk %d: %d rows (%d so far)", i, len(batch), rows + len(batch))
        rows += len(batch)
        yield batch
    _LOG.info("read %d rows in %.3f s", rows, time.perf_counter() - start)


@dataclass
class Samples:
    """One model's per-sample terms for each loss, in the order of the loss specs.

    ``keys`` name the samples (ids, or row numbers of the predictions file); ``values`` and
    ``weights`` are the loss terms; ``shown`` is each sample's own loss (NaN when ignored).
    """

    keys: np.ndarray
    values: list[np.ndarray] = field(default_factory=list)
    weights: list[np.ndarray | None] = field(default_factory=list)
    shown: list[np.ndarray] = field(default_factory=list)

    def take(self, idx: np.ndarray | None) -> Samples:
        if idx is None:
            return self
        return Samples(
            self.keys[idx],
            [v[idx] for v in self.values],
            [None if w is None else w[idx] for w in self.weights],
            [s[idx] for s in self.shown],
        )


class Collector:
    """A sink keeping every sample's key and loss terms, for paired statistics."""

    def __init__(self, n_specs: int) -> None:
        self.keys: list[np.ndarray] = []
        self.terms: list[list[PerSample]] = [[] for _ in range(n_specs)]
        self.shown: list[list[np.ndarray]] = [[] for _ in range(n_specs)]

    def __call__(self, chunk: EvaluatedChunk) -> None:
        batch = chunk.batch
        self.keys.append(batch.rows if batch.ids is None else batch.ids.astype(str))
        for i, (terms, shown) in enumerate(zip(chunk.terms, chunk.shown, strict=True)):
            self.terms[i].append(terms)
            self.shown[i].append(shown)

    def samples(self) -> Samples:
        def joined(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts) if parts else np.empty(0)

        out = Samples(joined(self.keys))
        for terms, shown in zip(self.terms, self.shown, strict=True):
            out.values.append(joined([t.values for t in terms]))
            weighted = any(t.weights is not None for t in terms)
            out.weights.append(
                joined([np.ones(len(t.values)) if t.weights is None else t.weights for t in terms])
                if weighted
                else None
            )
            out.shown.append(joined(shown))
        return out


def collect(
    preds_src: Source,
    labels_src: Source,
    specs: list[LossSpec],
    options: Options,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> tuple[Report, Samples]:
    """``run`` (mean reduction, no worst rows) plus every sample's loss terms.

    Memory grows with the rows (three float64 values per row and loss).
    """
    collector = Collector(len(specs))
    report = run(
        preds_src, labels_src, specs, options, top=0, sink=collector, chunk_rows=chunk_rows
    )
    return report, collector.samples()
