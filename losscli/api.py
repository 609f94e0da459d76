"""The public Python API: ``compute`` and ``per_sample`` on in-memory arrays, ``compute_files``
on paths. The CLI calls the same functions (``check`` and ``compare`` live in ``losscli.ci``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from losscli.engine.evaluate import PerSampleSink
from losscli.engine.intervals import Intervals
from losscli.engine.resample import DEFAULT_SAMPLES, DEFAULT_SEED
from losscli.engine.results import LossResult, Report
from losscli.engine.run import Collector, run
from losscli.errors import UsageError
from losscli.interpret.onefile import one_file_options
from losscli.interpret.plan import Kind, Options
from losscli.io.paths import one_stdin, open_path, spill_folder, stdin_copy
from losscli.io.readers import DEFAULT_CHUNK_ROWS, Dialect, TableSource, array_source, check_dialect
from losscli.losses import PerSample
from losscli.spec import ALL_CONVENTIONS, parse_specs

__all__ = ["compute", "compute_files", "parse_specs", "per_sample"]


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
    by_class: bool = False,
    preds_format: str | None = None,
    labels_format: str | None = None,
    intervals: Intervals | None = None,
    dialect: Dialect | None = None,
    save_state: Path | None = None,
) -> Report:
    """``losscli compute`` as a function: paths in, a ``Report`` out.

    One of the paths may be ``-`` (standard input, read as ``preds_format`` /
    ``labels_format``). ``labels=None`` reads the labels from ``options.label_cols`` of
    the predictions file (one-file mode)."""
    specs = parse_specs(losses, reduction, convention)
    one_stdin([preds, labels])
    with spill_folder() as folder:
        preds_path = stdin_copy(preds, preds_format, folder, "--preds-format")
        preds_src = open_path(preds_path, preds, preds_key, chunk_rows, dialect)
        if labels is None:
            labels_path = preds_path
            labels_src = open_path(preds_path, preds, preds_key, chunk_rows, dialect)
            options = one_file_options(preds_src, options)
        else:
            labels_path = stdin_copy(labels, labels_format, folder, "--labels-format")
            labels_src = open_path(labels_path, labels, labels_key, chunk_rows, dialect)
        check_dialect(dialect, [preds_path, labels_path])
        if options.pred_cols and not isinstance(preds_src, TableSource):
            raise UsageError("--pred-cols needs a table; the predictions are an array")
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
        )


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
) -> LossResult:
    """One loss on in-memory arrays, read exactly as the CLI reads files.

    ``ci`` makes the 95% interval: ``"t"`` (Student-t, cut to the loss's range) or
    ``"bootstrap"`` (percentile, ``bootstrap_samples`` Poisson replicates drawn from ``seed``).

    >>> compute("mse", [0.9, 0.2, 0.4], [1, 0, 1]).value  # doctest: +ELLIPSIS
    0.13666666666...
    """
    if convention == ALL_CONVENTIONS:
        raise UsageError("compute() takes one convention; call it once per convention")
    specs = parse_specs([spec], reduction, convention)
    kind = None if logits is None else (Kind.LOGITS if logits else Kind.PROBS)
    report = run(
        array_source("preds", preds),
        array_source("labels", labels),
        specs,
        Options(kind=kind),
        reduction=reduction,
        top=0,
        intervals=Intervals.of(ci, bootstrap_samples, seed),
    )
    return report.results[0]


def per_sample(
    spec: str,
    preds: Any,
    labels: Any,
    *,
    logits: bool | None = None,
    convention: str = "losscli",
) -> PerSample:
    """One loss's per-sample terms on in-memory arrays (PyTorch's ``reduction="none"``).

    ``values[i]`` is what sample i adds to the sum, as torch's ``reduction="none"`` gives it
    (``w[y]·nll`` with class weights, 0 for an ignored sample; for a dense map the sum over
    its positions); ``weights[i]`` is its share of the mean's denominator (1 unless class
    weights or ``ignore_index`` say otherwise), so the ``mean`` reduction is
    ``values.sum() / weights.sum()`` and the ``sum`` reduction is ``values.sum()``.

    >>> per_sample("mse", [0.9, 0.2, 0.4], [1, 0, 1]).values.round(4).tolist()
    [0.01, 0.04, 0.36]
    """
    if convention == ALL_CONVENTIONS:
        raise UsageError("per_sample() takes one convention; call it once per convention")
    specs = parse_specs([spec], "mean", convention)
    kind = None if logits is None else (Kind.LOGITS if logits else Kind.PROBS)
    collector = Collector(1)
    run(
        array_source("preds", preds),
        array_source("labels", labels),
        specs,
        Options(kind=kind),
        top=0,
        sink=collector,
    )
    samples = collector.samples()
    values = samples.values[0]
    weights = samples.weights[0]
    return PerSample(values, np.ones(len(values)) if weights is None else weights)
