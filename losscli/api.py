"""The public Python API: ``compute`` and ``per_sample`` on in-memory arrays, ``compute_files``
on paths. The CLI calls the same functions (``check`` and ``compare`` live in ``losscli.ci``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli.engine.evaluate import PerSampleSink
from losscli.engine.intervals import Intervals
from losscli.engine.resample import DEFAULT_SAMPLES, DEFAULT_SEED
from losscli.engine.results import GroupedResult, LossResult, Report
from losscli.engine.run import Collector, run
from losscli.errors import UsageError
from losscli.interpret.meta import MetaColumns, in_memory_table
from losscli.interpret.onefile import one_file_options
from losscli.interpret.plan import Kind, Options
from losscli.io.paths import one_stdin, open_path, spill_folder, stdin_copy
from losscli.io.readers import (
    DEFAULT_CHUNK_ROWS,
    Dialect,
    Source,
    TableSource,
    array_source,
    check_dialect,
)
from losscli.losses import PerSample
from losscli.spec import ALL_CONVENTIONS, parse_specs

__all__ = ["compute", "compute_files", "parse_specs", "per_sample"]

if TYPE_CHECKING:
    from losscli.engine.distributed import DaskEngine


def compute_files(
    preds: Path,
    labels: Path | None,
    losses: Sequence[str],
    options: Options,
    *,
    reduction: str = "mean",
    top: int = 10,
    sink: PerSampleSink | None = None,
    preds_key: str | None = None,
    labels_key: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    convention: str = "losscli",
    by_class: bool | None = False,
    preds_format: str | None = None,
    labels_format: str | None = None,
    intervals: Intervals | None = None,
    dialect: Dialect | None = None,
    save_state: Path | None = None,
    meta: Path | None = None,
    min_slice_size: int = 0,
    engine: DaskEngine | None = None,
) -> Report:
    """``losscli compute`` as a function: paths in, a ``Report`` out.

    One of the paths may be ``-`` (standard input, read as ``preds_format`` /
    ``labels_format``). ``labels=None`` reads the labels from ``options.label_cols`` of
    the predictions file (one-file mode).
    ``meta`` is a third table holding ``options.meta``'s weight or group
    columns, matched by position or by ``options.id_col``. ``engine``: evaluate the shards
    as Dask partitions (``losscli.engine.distributed``)."""
    specs = parse_specs(losses, reduction, convention)
    one_stdin([preds, labels])
    # Each input read in one pass (not the one-file mode, the id join or Dask): stdin streams.
    once = labels is not None and options.id_col is None and engine is None
    with spill_folder() as folder:
        preds_path = stdin_copy(preds, preds_format, folder, "--preds-format", stream=once)
        preds_src = open_path(preds_path, preds, preds_key, chunk_rows, dialect)
        if labels is None:
            labels_path = preds_path
            one_key = labels_key if labels_key is not None else preds_key
            labels_src = open_path(preds_path, preds, one_key, chunk_rows, dialect)
            options = one_file_options(preds_src, options, labels_key)
        else:
            labels_path = stdin_copy(labels, labels_format, folder, "--labels-format", stream=once)
            labels_src = open_path(labels_path, labels, labels_key, chunk_rows, dialect)
        check_dialect(dialect, [preds_path, labels_path])
        if options.pred_cols and not isinstance(preds_src, TableSource):
            raise UsageError("--pred-cols needs a table; the predictions are an array")
        meta_src = None if meta is None else _open_meta(meta, folder, chunk_rows, dialect)
        return run(
            preds_src,
            labels_src,
            specs,
            options,
            reduction=reduction,
            top=top,
            sink=sink,
            chunk_rows=chunk_rows,
            by_class=by_class,
            intervals=intervals,
            save_state=save_state,
            meta_src=meta_src,
            min_slice_size=min_slice_size,
            engine=engine,
        )


def _open_meta(path: Path, folder: Path, chunk_rows: int, dialect: Dialect | None) -> Source:
    from losscli.io.stdin import STDIN

    if path == STDIN:
        raise UsageError("--meta cannot be standard input; give a file")
    return open_path(stdin_copy(path, None, folder, "--meta"), path, None, chunk_rows, dialect)


def _meta_arrays(weights: Any, groups: Any) -> tuple[MetaColumns, dict[str, Any]]:
    """``weights=`` and ``groups=`` of the Python API as named columns of a meta table."""
    columns: dict[str, Any] = {}
    weight = None
    if weights is not None:
        weight = "weight"
        columns[weight] = weights
    if groups is None:
        names: tuple[str, ...] = ()
    elif isinstance(groups, dict):
        names = tuple(str(k) for k in groups)
        if weight in names:
            raise UsageError("groups= cannot name a column 'weight' when weights= is given")
        columns.update({str(k): v for k, v in groups.items()})
    else:
        names = ("group",)
        columns["group"] = groups
    return MetaColumns(weight, names), columns


def compute(
    spec: str,
    preds: Any,
    labels: Any,
    *,
    logits: bool | None = None,
    reduction: str = "mean",
    convention: str = "losscli",
    ci: str = "t",
    bootstrap_samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    weights: Any = None,
    groups: Any = None,
) -> LossResult:
    """One loss on in-memory arrays, read exactly as the CLI reads files.

    ``ci`` makes the 95% interval: ``"t"`` (Student-t, cut to the loss's range) or
    ``"bootstrap"`` (percentile, ``bootstrap_samples`` Poisson replicates drawn from ``seed``).
    ``weights``: one non-negative weight per sample (scikit-learn's ``sample_weight``: the
    mean is Σwℓ/Σw). ``groups``: one group value per sample, or a dict of such arrays by
    name (crossed); the result's ``slices`` then holds one ``SliceResult`` per group.

    >>> compute("mse", [0.9, 0.2, 0.4], [1, 0, 1]).value  # doctest: +ELLIPSIS
    0.13666666666...
    >>> compute("mse", [0.9, 0.2, 0.4], [1, 0, 1], weights=[1, 0, 2]).value  # doctest: +ELLIPSIS
    0.2433333333...
    """
    if convention == ALL_CONVENTIONS:
        raise UsageError("compute() takes one convention; call it once per convention")
    specs = parse_specs([spec], reduction, convention)
    kind = None if logits is None else (Kind.LOGITS if logits else Kind.PROBS)
    meta, columns = _meta_arrays(weights, groups)
    report = run(
        array_source("preds", preds),
        array_source("labels", labels),
        specs,
        Options(kind=kind, meta=meta),
        reduction=reduction,
        top=0,
        intervals=Intervals.of(ci, bootstrap_samples, seed),
        meta_src=in_memory_table("weights and groups", columns, DEFAULT_CHUNK_ROWS)
        if columns
        else None,
    )
    result = report.results[0]
    if not report.slices:
        return result
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    return GroupedResult(**fields, slices=report.slices)


def per_sample(
    spec: str,
    preds: Any,
    labels: Any,
    *,
    logits: bool | None = None,
    convention: str = "losscli",
    weights: Any = None,
) -> PerSample:
    """One loss's per-sample terms on in-memory arrays (PyTorch's ``reduction="none"``).

    ``values[i]`` is what sample i adds to the sum, as torch's ``reduction="none"`` gives it
    (``w[y]·nll`` with class weights, 0 for an ignored sample; for a dense map the sum over
    its positions); ``weights[i]`` is its share of the mean's denominator (1 unless class
    weights or ``ignore_index`` say otherwise), so the ``mean`` reduction is
    ``values.sum() / weights.sum()`` and the ``sum`` reduction is ``values.sum()``.

    ``weights``: one non-negative sample weight ``s[i]`` per sample, as ``compute(weights=)``
    and scikit-learn's ``sample_weight`` take it: ``values[i]`` is then ``s[i]`` times the
    unweighted term and ``weights[i]`` is ``s[i]`` times its share, so
    ``values.sum() / weights.sum()`` is ``compute(spec, ..., weights=s).value``
    (Σ s·ℓ / Σ s) and ``values.sum()`` its ``sum`` reduction. A sample's own loss is
    ``values[i] / weights[i]`` where ``weights[i] > 0``. (Per-sample terms need no
    ``groups=``: select the rows of a group from the arrays.)

    >>> per_sample("mse", [0.9, 0.2, 0.4], [1, 0, 1]).values.round(4).tolist()
    [0.01, 0.04, 0.36]
    >>> t = per_sample("mse", [0.9, 0.2, 0.4], [1, 0, 1], weights=[1, 0, 2])
    >>> t.values.round(4).tolist(), t.weights.tolist()
    ([0.01, 0.0, 0.72], [1.0, 0.0, 2.0])
    """
    if convention == ALL_CONVENTIONS:
        raise UsageError("per_sample() takes one convention; call it once per convention")
    specs = parse_specs([spec], "mean", convention)
    kind = None if logits is None else (Kind.LOGITS if logits else Kind.PROBS)
    meta, columns = _meta_arrays(weights, None)
    collector = Collector(1)
    run(
        array_source("preds", preds),
        array_source("labels", labels),
        specs,
        Options(kind=kind, meta=meta),
        top=0,
        sink=collector,
        meta_src=in_memory_table("weights", columns, DEFAULT_CHUNK_ROWS) if columns else None,
    )
    samples = collector.samples()
    values = samples.values[0]
    weights = samples.weights[0]
    return PerSample(values, np.ones(len(values)) if weights is None else weights)
