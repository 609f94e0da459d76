"""From opened sources to a ``Report``: plan the inputs, stream them through the engine,
finalize. ``compute``, ``check`` and ``compare`` all run through here."""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli.engine.evaluate import EvaluatedChunk, Evaluation, PerSampleSink, start_evaluation
from losscli.engine.intervals import Intervals
from losscli.engine.paired import Samples
from losscli.engine.results import FileInfo, Report
from losscli.errors import UsageError
from losscli.interpret.align import BatchStream
from losscli.interpret.meta import locate
from losscli.interpret.plan import Batch, Options, Plan, plan_inputs
from losscli.io.readers import DEFAULT_CHUNK_ROWS, ArraySource, Source
from losscli.io.shards import check_shard_pairs
from losscli.losses import Target
from losscli.spec import LossSpec

if TYPE_CHECKING:
    from losscli.engine.distributed import DaskEngine

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
    # The readers name formats without a dot ("csv", "npy", "parquet", "array").
    return FileInfo(src.name, src.format, tuple(cols) if cols is not None else None, sha256)


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
    min_slice_size: int = 0,  # pragma: no mutate
    save_state: Path | None = None,
    engine: DaskEngine | None = None,
) -> Report:
    """Evaluate already opened sources: the core of ``compute`` for files and arrays alike.

    ``meta_src`` is ``--meta FILE``, a third table holding weight or group columns;
    ``save_state``: also write the accumulators' exact state there (``losscli merge``);
    ``engine``: evaluate the shards as partitions on Dask (``--engine dask``)."""
    opened = open_run(
        preds_src,
        labels_src,
        specs,
        options,
        reduction=reduction,
        top=top,
        chunk_rows=chunk_rows,  # pragma: no mutate
        by_class=by_class,
        intervals=intervals,
        meta_src=meta_src,
        min_slice_size=min_slice_size,
        save_state=save_state,
    )
    if engine is not None:
        return _on_dask(opened, options, engine, sink=sink, top=top, by_class=by_class)
    for chunk in opened.chunks():
        if sink is not None:
            sink(chunk)
    return opened.report()


def _on_dask(
    opened: OpenRun, options: Options, engine: DaskEngine, sink: Any, **fields: Any
) -> Report:
    """``--engine dask``: the planned run's shards evaluated as partitions on Dask."""
    from losscli.engine.distributed import dask_settings, run_dask

    if sink is not None:
        raise UsageError("--engine dask writes per-sample losses as part files of a folder")
    settings = dask_settings(
        opened.specs,
        opened.plan,
        opened.reduction,
        opened.chunk_rows,
        meta=options.meta,
        meta_plan=opened.stream.meta,
        per_sample=engine.per_sample,
        intervals=opened.evaluation.intervals,
        **fields,
    )
    opened.evaluation, opened.stream.skipped = run_dask(
        opened.preds_src, opened.labels_src, settings, engine
    )
    return opened.report()


@dataclass
class OpenRun:
    """A planned run whose chunks are pulled by the caller: iterate ``chunks()`` once, then
    ``report()`` (``compare`` steps several models' runs side by side)."""

    preds_src: Source
    labels_src: Source
    specs: list[LossSpec]
    plan: Plan
    stream: BatchStream
    evaluation: Evaluation
    chunk_rows: int
    reduction: str = "mean"
    min_slice_size: int = 0
    save_state: Path | None = None
    start: float = field(default_factory=time.perf_counter)

    def chunks(self) -> Generator[EvaluatedChunk, None, None]:
        """Each chunk added to the accumulators, as a sink receives it."""
        for batch in _logged(self.stream, self.chunk_rows):
            yield self.evaluation.update(batch, self.specs, self.plan)

    def report(self) -> Report:
        """The finalized report (and the saved state, with ``save_state``)."""
        ev, plan = self.evaluation, self.plan
        preds_src, labels_src = self.preds_src, self.labels_src
        if plan.id_col is None:
            check_shard_pairs(preds_src, labels_src)
        _LOG.info("evaluated %d samples in %.3f s", ev.n_samples, time.perf_counter() - self.start)
        files = (file_info(preds_src, plan.pred_cols), file_info(labels_src, plan.label_cols))
        skipped = self.stream.skipped
        report = ev.finalize(
            self.specs,
            plan,
            reduction=self.reduction,
            files=files,
            skipped=skipped,
            min_slice_size=self.min_slice_size,
        )
        if self.save_state is not None:
            from losscli.engine.state import state_of, write_state

            doc = state_of(
                ev,
                self.specs,
                plan,
                reduction=self.reduction,
                files=files,
                skipped=skipped,
                min_slice_size=self.min_slice_size,
            )
            write_state(self.save_state, doc)
        return report


def open_run(
    preds_src: Source,
    labels_src: Source,
    specs: list[LossSpec],
    options: Options,
    *,
    reduction: str = "mean",
    top: int = 10,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    by_class: bool | None = False,
    intervals: Intervals | None = None,
    meta_src: Source | None = None,
    min_slice_size: int = 0,  # pragma: no mutate
    save_state: Path | None = None,
) -> OpenRun:
    """Plan the inputs of a run and set up its accumulators (``run`` without the pass)."""
    start = time.perf_counter()
    plan: Plan = plan_inputs(preds_src, labels_src, options_for(specs, options))
    if plan.id_col is None:
        check_shard_pairs(preds_src, labels_src)
    if isinstance(preds_src, ArraySource):
        plan.preds_dtype = str(preds_src.dtype)
    elif plan.pred_cols and {preds_src.number_types.get(c) for c in plan.pred_cols} == {"float32"}:
        plan.preds_dtype = "float32"  # float32 Parquet columns (scikit-learn keeps the dtype)
    _LOG.info(
        "read %s [%s] against %s [%s]: task %s, %s",
        preds_src.name,
        preds_src.format,
        labels_src.name,
        labels_src.format,
        plan.task.value,
        f"{len(plan.classes)} classes" if plan.classes else "no classes",
    )
    for note in plan.notes:
        _LOG.info("decided: %s (%s)", note.what, note.why)
    # Without weight or group columns and without --meta the plan is empty (nothing to read).
    meta_plan = locate(options.meta, preds_src, labels_src, meta_src, plan.id_col)
    evaluation = start_evaluation(
        specs, plan, top=top, by_class=by_class, intervals=intervals, meta=options.meta
    )
    return OpenRun(
        preds_src,
        labels_src,
        specs,
        plan,
        BatchStream(preds_src, labels_src, plan, chunk_rows, meta_plan),
        evaluation,
        chunk_rows,
        reduction,
        min_slice_size,
        save_state,
        start,  # pragma: no mutate
    )


def _logged(batches: Iterable[Batch], chunk_rows: int) -> Iterator[Batch]:
    """The batches, each noted for ``--verbose`` (chunks of at most ``chunk_rows`` rows)."""
    _LOG.info("streaming in chunks of up to %d rows", chunk_rows)
    start, rows = time.perf_counter(), 0
    for i, batch in enumerate(batches, 1):
        _LOG.debug("chunk %d: %d rows (%d so far)", i, len(batch), rows + len(batch))
        rows += len(batch)
        yield batch
    _LOG.info("read %d rows in %.3f s", rows, time.perf_counter() - start)


def samples_of(chunk: EvaluatedChunk, groups: Sequence[str] = ()) -> Samples:
    """A chunk's samples: keys (row numbers, or ids as text), each loss's terms and own loss,
    and the ``groups`` columns of its rows (``--group-by``)."""
    batch = chunk.batch
    meta = batch.meta or {}
    return Samples(
        batch.rows if batch.ids is None else batch.ids.astype(str),
        [t.values for t in chunk.terms],
        [t.weights for t in chunk.terms],
        list(chunk.shown),
        {c: np.asarray(meta[c]) for c in groups},
    )


class Collector:
    """A sink keeping every sample's key and loss terms, for paired statistics."""

    def __init__(self, n_specs: int, groups: Sequence[str] = ()) -> None:
        self.n_specs = n_specs
        self.groups = tuple(groups)
        self.parts: list[Samples] = []

    def __call__(self, chunk: EvaluatedChunk) -> None:
        self.parts.append(samples_of(chunk, self.groups))

    def samples(self) -> Samples:
        return Samples.concat(self.parts, self.n_specs)


def collect(
    preds_src: Source,
    labels_src: Source,
    specs: list[LossSpec],
    options: Options,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    meta_src: Source | None = None,
    min_slice_size: int = 0,  # pragma: no mutate
) -> tuple[Report, Samples]:
    """``run`` (mean reduction, no worst rows) plus every sample's loss terms (and group
    values, with ``--group-by``).

    Memory grows with the rows (three float64 values per row and loss).
    """
    collector = Collector(len(specs), options.meta.groups)
    report = run(
        preds_src,
        labels_src,
        specs,
        options,
        top=0,
        sink=collector,
        chunk_rows=chunk_rows,  # pragma: no mutate
        meta_src=meta_src,
        min_slice_size=min_slice_size,
    )
    return report, collector.samples()
