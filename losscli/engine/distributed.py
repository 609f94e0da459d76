"""``--engine dask``: the shards of the inputs become Dask partitions; each worker runs the
local evaluate loop (the same accumulators: update, then merge) over its partition and the
partitions' ``Evaluation``s merge by a tree reduction, so a cluster gives a laptop's numbers.

Rows keep the numbers a local run gives them (row numbers of the predictions, counted over the
shards in name order): a partition whose first row number is known before it is read (Parquet
and NPY shards say how many rows they hold) numbers its rows from there; otherwise (CSV) it
numbers them from 0 and the merge shifts them by the rows of the partitions before it. Where
the numbers must be known while reading (bootstrap keys, per-sample files), CSV shards are
counted first. ``--id-col`` joins run through Dask's own merge (``losscli.engine.dask_join``).

Dask is imported here only, inside functions (``pip install 'losscli[dask]'``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from losscli.engine.evaluate import Evaluation, evaluate
from losscli.engine.intervals import CiMethod, Intervals
from losscli.errors import ExitCode, InputError, OutputError, UsageError
from losscli.interpret.align import BatchStream
from losscli.interpret.meta import MetaColumns, MetaPlan
from losscli.interpret.plan import Batch, Plan
from losscli.io.shards import Part, ShardedArray, ShardedTable
from losscli.io.sinks import PartFiles
from losscli.io.sources import Source
from losscli.spec import LossSpec, parse_specs

DASK_MISSING = (
    "--engine dask needs Dask's distributed scheduler, which is not installed; install it "
    "with: pip install 'losscli[dask]'"
)


@dataclass(frozen=True, slots=True)
class DaskEngine:
    """``--engine dask``: join ``scheduler`` (an address) or start a LocalCluster of
    ``workers`` processes (one thread each); ``per_sample``: the folder part files go to."""

    scheduler: str | None = None
    workers: int = 2
    per_sample: PartFiles | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """What every partition's evaluate loop needs, sent to the workers."""

    losses: tuple[tuple[str, str], ...]  # (spec as written, convention)
    reduction: str
    plan: Plan
    top: int
    by_class: bool
    intervals: Intervals
    meta: MetaColumns
    meta_plan: MetaPlan | None
    chunk_rows: int
    per_sample: PartFiles | None

    def specs(self) -> list[LossSpec]:
        return [s for text, conv in self.losses for s in parse_specs([text], self.reduction, conv)]


@dataclass
class PartResult:
    """A run of adjacent partitions: its accumulators, the rows it read (skipped rows too) and
    whether its row numbers are the run's own (``absolute``) or count from its first row."""

    evaluation: Evaluation
    rows: int
    skipped: int
    absolute: bool


@dataclass(frozen=True, slots=True)
class PartError:
    """A losscli error on a worker, sent back as its exit code and message."""

    code: int
    message: str

    def raise_it(self) -> None:
        if self.code == ExitCode.USAGE:
            raise UsageError(self.message)
        if self.code == ExitCode.INPUT:
            raise InputError(self.message)
        raise OutputError(self.message)


def missing() -> UsageError:
    return UsageError(DASK_MISSING)


def check_available() -> None:
    """Exit 2 with the pip command when Dask's distributed scheduler cannot be imported."""
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        raise missing() from None


# --------------------------------------------------------------------------- on the workers


def _numbered(batches: Iterable[Batch], first_row: int) -> Iterator[Batch]:
    """Batches with their rows numbered from ``first_row`` (the rows of earlier shards)."""
    for batch in batches:
        yield replace(batch, rows=batch.rows + first_row)


def evaluate_part(
    index: int, preds: Part, labels: Part, first_row: int | None, settings: Settings
) -> PartResult | PartError:
    """One partition (a pair of shards) through the local evaluate loop, on a worker."""
    from losscli.errors import LossCliError

    try:
        preds_src = preds.open(settings.chunk_rows)
        labels_src = labels.open(settings.chunk_rows)
        stream = BatchStream(
            preds_src, labels_src, settings.plan, settings.chunk_rows, settings.meta_plan
        )
        batches = _numbered(stream, first_row or 0)
        return evaluated(index, batches, settings, first_row is not None, stream)
    except LossCliError as exc:
        return PartError(int(exc.exit_code), str(exc))


def evaluated(
    index: int,
    batches: Iterable[Batch],
    settings: Settings,
    absolute: bool,
    stream: Any,
) -> PartResult:
    """Evaluate ``batches``; with ``settings.per_sample``, write this partition's part file."""
    writer = None
    if settings.per_sample is not None:
        from losscli.io.sinks import PerSampleWriter

        writer = PerSampleWriter(settings.per_sample.path(index))
    try:
        ev = evaluate(
            batches,
            settings.specs(),
            settings.plan,
            top=settings.top,
            sink=writer,
            by_class=settings.by_class,
            intervals=settings.intervals,
            meta=settings.meta,
        )
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    if writer is not None:
        writer.commit()
    return PartResult(ev, stream.n_rows + stream.skipped, stream.skipped, absolute)


def combine(left: PartResult | PartError, right: PartResult | PartError) -> PartResult | PartError:
    """Two adjacent runs as one: the right one's rows follow the left one's."""
    if isinstance(left, PartError):
        return left
    if isinstance(right, PartError):
        return right
    if not right.absolute:
        right.evaluation.worst.rows = [
            replace(r, row=r.row + left.rows) for r in right.evaluation.worst.rows
        ]
    left.evaluation.merge(right.evaluation)
    return PartResult(
        left.evaluation, left.rows + right.rows, left.skipped + right.skipped, left.absolute
    )


def count_rows(part: Part, chunk_rows: int) -> int:
    """The rows of one shard, read through its reader (a CSV shard does not say up front)."""
    src = part.open(chunk_rows)
    if isinstance(src, ShardedArray):
        return src.n_rows
    first = src.columns[:1]
    return sum(len(next(iter(chunk.values()))) for chunk in src.chunks(first) if chunk)


# --------------------------------------------------------------------------- on the driver


@contextmanager
def client_of(engine: DaskEngine) -> Iterator[Any]:
    """A client of ``--scheduler``'s cluster, or of a LocalCluster whose workers end with the
    run however it ends (their scratch space in a temporary folder removed on the way out)."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise missing() from None
    with _quiet():
        if engine.scheduler is None:
            with _local_cluster(engine.workers) as client:
                yield client
            return
        try:
            client = Client(engine.scheduler, timeout="5s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(
                f"--scheduler {engine.scheduler}: cannot reach the Dask scheduler ({exc}); "
                "check the address, or leave --scheduler out for a local cluster"
            ) from None
        with client:
            yield client


@contextmanager
def _local_cluster(workers: int) -> Iterator[Any]:
    import dask
    from dask.distributed import Client, LocalCluster

    from losscli.io.cleanup import temp_dir

    with (
        temp_dir(prefix="losscli-dask-") as scratch,
        dask.config.set({"temporary-directory": os.fspath(scratch)}),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            local_directory=os.fspath(scratch),
        ) as cluster,
        Client(cluster) as client,
    ):
        try:
            yield client
        finally:  # the results are here (or the run failed): no graceful goodbyes
            _kill_workers(cluster)


@contextmanager
def _quiet() -> Iterator[None]:
    """Dask logs nothing below CRITICAL, here and in the worker processes started here
    (losscli reports errors itself; Dask's notes on shuffles and closing are noise)."""
    name = "DASK_LOGGING__DISTRIBUTED"
    before = os.environ.get(name)
    os.environ[name] = "critical"
    log = logging.getLogger("distributed")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def _kill_workers(cluster: Any) -> None:
    """End a LocalCluster's worker processes at once (closing it then takes no time)."""
    for nanny in list(cluster.workers.values()):
        with contextlib.suppress(AttributeError, ProcessLookupError):
            os.kill(nanny.process.process.pid, signal.SIGKILL)


def _submit(client: Any, fn: Callable[..., Any], *args: Any) -> Any:
    """A task ``fn(*args)`` that Dask does not name by a hash of its arguments: no two tasks
    of a run have the same arguments, so only the name changes (the pragma: plumbing, see
    tests/mutation/dask-engine.md)."""
    return client.submit(fn, *args, pure=False)  # pragma: no mutate


def tree(client: Any, futures: list[Any], merge: Callable[..., Any]) -> Any:
    """Merge adjacent futures pairwise, level by level, keeping their order."""
    while len(futures) > 1:
        pairs = [futures[i : i + 2] for i in range(0, len(futures), 2)]
        futures = [_submit(client, merge, *p) if len(p) == 2 else p[0] for p in pairs]
    return futures[0].result()


def parts_of(src: Source, side: str) -> list[Part]:
    """The shards of one input; a single file cannot be cut into partitions here."""
    if isinstance(src, ShardedTable | ShardedArray) and src.parts:
        return src.parts
    raise UsageError(
        f"--engine dask reads shards as partitions, but the {side} {src.name} is one file; "
        "give a folder of shards, a quoted glob or a Hive dataset (or use --engine local)"
    )


def first_rows(
    client: Any, src: Source, parts: list[Part], settings: Settings, need: bool
) -> list[int | None]:
    """Each partition's first row number, or None for all when they are not known up front
    and not needed while reading (they are then counted from 0 and shifted at the merge)."""
    known = src.shard_rows if isinstance(src, ShardedTable | ShardedArray) else []
    counts: list[int | None] = list(known)
    if any(c is None for c in counts):
        if not need:
            return [None] * len(parts)
        futures = [_submit(client, count_rows, part, settings.chunk_rows) for part in parts]
        counts = list(client.gather(futures))
    starts = np.concatenate([[0], np.cumsum([int(c or 0) for c in counts])[:-1]])
    return [int(s) for s in starts]


def run_dask(
    preds_src: Source,
    labels_src: Source,
    settings: Settings,
    engine: DaskEngine,
) -> tuple[Evaluation, int]:
    """Evaluate on Dask: one task per pair of shards, merged by tree reduction; returns the
    merged ``Evaluation`` and the rows skipped for NaN values."""
    if settings.meta_plan is not None and settings.meta_plan.meta_src is not None:
        raise UsageError(
            "--meta FILE is read by the local engine only; put the weight and group columns in "
            "the predictions or labels shards, or use --engine local"
        )
    if settings.plan.id_col is not None:
        from losscli.engine.dask_join import run_joined

        return run_joined(preds_src, labels_src, settings, engine)
    preds, labels = parts_of(preds_src, "predictions"), parts_of(labels_src, "labels")
    if len(preds) != len(labels):
        raise InputError(
            f"{preds_src.name} has {len(preds)} shards but {labels_src.name} has {len(labels)}; "
            "rows are matched by position shard by shard (or pass --id-col NAME to match by id)"
        )
    need = settings.per_sample is not None or settings.intervals.method is CiMethod.BOOTSTRAP
    with client_of(engine) as client:
        starts = first_rows(client, preds_src, preds, settings, need)
        futures = [
            _submit(client, evaluate_part, i, part, labels[i], starts[i], settings)
            for i, part in enumerate(preds)  # as many labels shards (checked above) and starts
        ]
        total = tree(client, futures, combine)
    if isinstance(total, PartError):
        total.raise_it()
    assert isinstance(total, PartResult)
    return total.evaluation, total.skipped


def dask_settings(
    specs: list[LossSpec], plan: Plan, reduction: str, chunk_rows: int, **fields: Any
) -> Settings:
    """The workers' ``Settings`` from the run's specs, plan and options."""
    losses = tuple((s.text, s.convention.value) for s in specs)
    return Settings(losses, reduction, plan, chunk_rows=chunk_rows, **fields)


__all__ = ["DASK_MISSING", "DaskEngine", "Settings", "check_available", "run_dask"]
