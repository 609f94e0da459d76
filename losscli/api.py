"""The Python API, which the CLI itself calls: read, interpret, evaluate, report."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from losscli.ci.checks import CheckReport
from losscli.ci.compare import Comparison, Difference, Samples
from losscli.ci.config import Settings
from losscli.engine.evaluate import EvaluatedChunk, PerSampleSink, evaluate
from losscli.engine.intervals import Intervals
from losscli.engine.resample import DEFAULT_SAMPLES, DEFAULT_SEED
from losscli.engine.results import FileInfo, LossResult, Report
from losscli.errors import UsageError
from losscli.interpret.plan import Batch, BatchStream, Kind, Options, Plan, plan_inputs
from losscli.io.cleanup import temp_dir
from losscli.io.readers import DEFAULT_CHUNK_ROWS, Source, TableSource, array_source, open_source
from losscli.losses import PerSample, Reduce, Target
from losscli.losses.numerics import Convention
from losscli.spec import LossSpec, parse_spec

_LOG = logging.getLogger("losscli")  # --verbose: decisions, chunks, timings

REDUCTIONS = ("mean", "sum")


ALL_CONVENTIONS = "all"


def _with_conventions(spec: LossSpec, convention: str) -> list[LossSpec]:
    """The spec under one convention, or under each library's for ``all``."""
    if convention != ALL_CONVENTIONS:
        return [replace(spec, convention=Convention(convention))]
    if not spec.loss.conventions:
        return [spec]
    return [replace(spec, convention=Convention(c)) for c in spec.loss.conventions]


def parse_specs(
    texts: Sequence[str], reduction: str, convention: str = "losscli"
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
            raise UsageError(
                f"{spec.text} is a root of a mean and has no sum reduction; "
                "use --reduction mean or --loss mse"
            )
    return specs


def _options(specs: list[LossSpec], base: Options) -> Options:
    kinded = [s.loss for s in specs if s.loss.needs_kind]
    return Options(
        pred_cols=base.pred_cols,
        label_cols=base.label_cols,
        id_col=base.id_col,
        kind=base.kind,
        nan=base.nan,
        allow_unmatched=base.allow_unmatched,
        class_axis=base.class_axis,
        mean_var=any(s.loss.target is Target.MEAN_VAR for s in specs),
        multioutput=all(s.loss.target is Target.VALUES for s in specs),
        needs_kind=bool(kinded),
        independent_columns=bool(kinded) and all(loss.independent_columns for loss in kinded),
    )


def _file_info(src: Source, cols: list[str] | None) -> FileInfo:
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
    by_class: bool = False,
    intervals: Intervals | None = None,
) -> Report:
    """Evaluate already opened sources: the core of ``compute`` for files and arrays alike."""
    start = time.perf_counter()
    plan: Plan = plan_inputs(preds_src, labels_src, _options(specs, options))
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
    stream = BatchStream(preds_src, labels_src, plan, chunk_rows)
    ev = evaluate(
        _logged(stream, chunk_rows),
        specs,
        plan,
        top=top,
        sink=sink,
        by_class=by_class,
        intervals=intervals,
    )
    _LOG.info("evaluated %d samples in %.3f s", ev.n_samples, time.perf_counter() - start)
    files = (_file_info(preds_src, plan.pred_cols), _file_info(labels_src, plan.label_cols))
    return ev.finalize(specs, plan, reduction=reduction, files=files, skipped=stream.skipped)


def _logged(batches: Iterable[Batch], chunk_rows: int) -> Iterator[Batch]:
    """The batches, each noted for ``--verbose`` (chunks of at most ``chunk_rows`` rows)."""
    _LOG.info("streaming in chunks of up to %d rows", chunk_rows)
    start, rows = time.perf_counter(), 0
    for i, batch in enumerate(batches, 1):
        _LOG.debug("chunk %d: %d rows (%d so far)", i, len(batch), rows + len(batch))
        rows += len(batch)
        yield batch
    _LOG.info("read %d rows in %.3f s", rows, time.perf_counter() - start)


def compute_files(
    preds: Path,
    labels: Path,
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
) -> Report:
    """``losscli compute`` as a function: paths in, a ``Report`` out.

    One of the paths may be ``-`` (standard input, read as ``preds_format`` /
    ``labels_format``)."""
    specs = parse_specs(losses, reduction, convention)
    _one_stdin([preds, labels])
    with temp_dir(prefix="losscli-") as folder:
        preds_path = _stdin_copy(preds, preds_format, folder, "--preds-format")
        labels_path = _stdin_copy(labels, labels_format, folder, "--labels-format")
        preds_src = _open(preds_path, preds, preds_key, chunk_rows)
        labels_src = _open(labels_path, labels, labels_key, chunk_rows)
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
    collector = _Collector(1)
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


# --------------------------------------------------------------------------- check and compare


class _Collector:
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
    collector = _Collector(len(specs))
    report = run(
        preds_src, labels_src, specs, options, top=0, sink=collector, chunk_rows=chunk_rows
    )
    return report, collector.samples()


def settings_options(settings: Settings) -> Options:
    """Input options (``losscli.interpret.plan.Options``) from ``check``/``compare`` settings."""
    from losscli.interpret.plan import NanPolicy

    return Options(
        pred_cols=settings.pred_cols,
        label_cols=settings.label_col,
        id_col=settings.id_col,
        kind=None if settings.kind is None else Kind(settings.kind),
        nan=NanPolicy(settings.nan or "error"),
        allow_unmatched=settings.join == "inner",
    )


def _one_stdin(paths: Sequence[Path | None]) -> None:
    from losscli.io.readers import STDIN

    if sum(p == STDIN for p in paths) > 1:
        raise UsageError("only one input can be standard input ('-')")


def _stdin_copy(path: Path, fmt: str | None, folder: Path, option: str) -> Path:
    """``path``, or the copy in ``folder`` of standard input when ``path`` is ``-``."""
    from losscli.io.readers import stdin_to_file

    return stdin_to_file(path, fmt, folder, option)


def _open(real: Path, given: Path, key: str | None, chunk_rows: int) -> Source:
    """Open ``real`` (``given`` itself or its standard-input copy), named as the user sees it."""
    from losscli.io.readers import STDIN_NAME

    src = open_source(real, key=key, chunk_rows=chunk_rows)
    if real != given:
        src.name = STDIN_NAME
    return src


def check_files(settings: Settings, *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> CheckReport:
    """``losscli check`` as a function: ``losscli.ci.config.Settings`` in, a ``CheckReport`` out.

    Usage problems (no rules, a rule naming no loss, a tolerance without a baseline) are
    raised before any file is read.
    """
    import json

    from losscli.ci.baseline import Comparability, judge
    from losscli.ci.checks import (
        ALL,
        ZERO,
        CheckReport,
        Rules,
        baseline_from_json,
        baseline_from_results,
        evaluate_rules,
    )
    from losscli.ci.compare import welch_difference
    from losscli.errors import InputError

    s = settings
    if s.preds is None or s.labels is None:
        raise UsageError(
            "give PREDS and LABELS, or set preds and labels in [tool.losscli] of "
            "pyproject.toml (or in losscli.toml)"
        )
    if s.baseline is not None and s.baseline_preds is not None:
        raise UsageError("give --baseline or --baseline-preds, not both")
    has_baseline = s.baseline is not None or s.baseline_preds is not None
    increase = dict(s.max_increase) or ({ALL: ZERO} if has_baseline else {})
    rules = Rules(dict(s.max), increase, bool(s.significant))
    if rules.max_increase and not has_baseline:
        raise UsageError("--max-increase needs --baseline FILE.json or --baseline-preds OLD")
    if not rules.max and not has_baseline:
        raise UsageError(
            "nothing to check: give --max SPEC=VALUE, or --baseline FILE.json "
            "(or --baseline-preds OLD) with --max-increase"
        )
    if rules.significant and not has_baseline:
        raise UsageError(
            "--significant judges an increase over a baseline; give --baseline or --baseline-preds"
        )
    _one_stdin([s.preds, s.labels, s.baseline_preds])
    baseline_doc = None
    if s.baseline is not None:
        try:
            baseline_doc = json.loads(s.baseline.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{s.baseline}: no such file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(
                f"{s.baseline}: not a JSON file ({exc}); write it with "
                "'losscli compute ... --format json > FILE'"
            ) from None
    baseline = None if baseline_doc is None else baseline_from_json(baseline_doc, str(s.baseline))
    losses = list(s.loss) or rules.keys() or list(baseline or ())
    specs = parse_specs(losses, "mean")
    names = [spec.label for spec in specs]
    rules.check_losses(names)
    options = settings_options(s)
    differences: dict[str, Difference] = {}
    with temp_dir(prefix="losscli-") as folder:
        labels_path = _stdin_copy(s.labels, s.labels_format, folder, "--labels-format")
        preds_path = _stdin_copy(s.preds, s.preds_format, folder, "--preds-format")
        preds_src = _open(preds_path, s.preds, s.preds_key, chunk_rows)
        labels_src = _open(labels_path, s.labels, s.labels_key, chunk_rows)
        if s.baseline_preds is None:
            report = run(preds_src, labels_src, specs, options, top=0, chunk_rows=chunk_rows)
        else:
            old_path = _stdin_copy(s.baseline_preds, s.preds_format, folder, "--preds-format")
            old_src = _open(old_path, s.baseline_preds, s.preds_key, chunk_rows)
            old_labels = _open(labels_path, s.labels, s.labels_key, chunk_rows)
            if rules.significant:
                report, now = collect(preds_src, labels_src, specs, options, chunk_rows=chunk_rows)
                old_report, old = collect(
                    old_src, old_labels, specs, options, chunk_rows=chunk_rows
                )
                differences = _paired(specs, old_report, old, report, now)
            else:
                report = run(preds_src, labels_src, specs, options, top=0, chunk_rows=chunk_rows)
                old_report = run(old_src, old_labels, specs, options, top=0, chunk_rows=chunk_rows)
            baseline = baseline_from_results(old_report.results)
    if s.baseline_preds is None and baseline is not None and rules.significant:
        for r in report.results:
            b = baseline.get(r.loss)
            if b is not None and b.std is not None and b.n > 1 and r.n > 1:
                differences[r.loss] = welch_difference(b.value, b.std, b.n, r.value, r.std, r.n)
    source = str(s.baseline if s.baseline is not None else s.baseline_preds)
    comparable = Comparability()
    if baseline is not None:
        comparable = judge(
            {loss: b.signature for loss, b in baseline.items()},
            report.results,
            source=source,
            allow_different_data=bool(s.allow_different_data),
        )
    outcomes = evaluate_rules(report.results, rules, baseline, differences, baseline_source=source)
    method = None
    if rules.significant and differences:
        method = next(iter(differences.values())).method
    return CheckReport(
        report.preds.path,
        report.labels.path,
        source if has_baseline else None,
        report.n_samples,
        tuple(outcomes),
        report.results,
        rules.significant,
        method,
        data_differences=comparable.data_differences,
        warnings=comparable.warnings,
    )


def _paired(
    specs: list[LossSpec], old_report: Report, old: Samples, report: Report, now: Samples
) -> dict[str, Difference]:
    """Per loss, the paired difference (current - baseline) on the samples both runs have."""
    from losscli.ci.compare import align, paired_difference

    idx_old, idx_now = align([old.keys, now.keys])
    old, now = old.take(idx_old), now.take(idx_now)
    complete = idx_old is None and idx_now is None
    out = {}
    for j, (spec, r, o) in enumerate(zip(specs, report.results, old_report.results, strict=True)):
        out[r.loss] = paired_difference(
            (old.values[j], old.weights[j]),
            (now.values[j], now.weights[j]),
            spec.loss.reduce,
            exact=(o.value, r.value) if complete else None,
        )
    return out


def compare_files(
    preds: Sequence[Path],
    settings: Settings,
    *,
    top: int = 10,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Comparison:
    """``losscli compare`` as a function: every model against the first on the same labels."""
    from losscli.ci.baseline import same_labels
    from losscli.ci.compare import compare_models

    s = settings
    if len(preds) < 2:
        raise UsageError(f"compare needs at least two prediction files, got {len(preds)}")
    if s.labels is None:
        raise UsageError("give --labels LABELS (or set labels in [tool.losscli])")
    specs = parse_specs(list(s.loss), "mean")
    _one_stdin([*preds, s.labels])
    options = settings_options(s)
    reports, samples = [], []
    with temp_dir(prefix="losscli-") as folder:
        labels_path = _stdin_copy(s.labels, s.labels_format, folder, "--labels-format")
        for path in preds:
            src = _open(
                _stdin_copy(path, s.preds_format, folder, "--preds-format"),
                path,
                s.preds_key,
                chunk_rows,
            )
            labels_src = _open(labels_path, s.labels, s.labels_key, chunk_rows)
            report, sample = collect(src, labels_src, specs, options, chunk_rows=chunk_rows)
            reports.append(report)
            samples.append(sample)
    paths = [r.preds.path for r in reports]
    same_labels(paths, [rep.results for rep in reports])
    return compare_models(
        paths,
        reports[0].labels.path,
        [(spec.label, spec.loss.reduce) for spec in specs],
        [[r.value for r in rep.results] for rep in reports],
        samples,
        top=top,
        key_name="id" if s.id_col is not None else "row",
        signatures=[[r.signature for r in rep.results] for rep in reports],
    )
