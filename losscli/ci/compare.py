"""Comparing models on the same labels: paired differences, shares of samples, disagreements.

Every number here comes from per-sample loss terms (``values`` and ``weights`` as the losses
return them, see ``losscli.losses.PerSample``), so the statistics follow the engine's
reductions exactly:

- A loss value is the ratio ``R = Σv / Σw`` (a plain mean when the weights are 1), or its
  square root for RMSE. Its linearised per-sample influence is ``z_i = (v_i - R·w_i) / w̄``
  (times ``1 / (2·√R)`` for a root), which sums to zero; for unweighted losses it is just
  ``v_i - mean(v)``.
- The difference of two models on the same samples, ``value_B - value_A``, has per-sample
  influence ``u_i = z_B,i - z_A,i``; its standard error is ``sd(u) / √n`` with ``n - 1``
  degrees of freedom. For an unweighted mean this *is* the paired t-test on the per-sample
  differences (``scipy.stats.ttest_rel``).
- Without per-sample values (a baseline JSON holds only ``value``, ``n`` and ``std``) the
  difference is judged by Welch's two-sample t-test on those statistics
  (``scipy.stats.ttest_ind_from_stats(..., equal_var=False)``).

Intervals are two-sided 95% Student-t intervals. The t distribution is computed here (a
regularised incomplete beta function) so that losscli needs no SciPy at run time.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from losscli.ci.baseline import same_labels
from losscli.ci.compare_slices import SliceDiff, SlicedPairs, SliceRow, slice_rows, update_pairs
from losscli.ci.config import Settings, settings_options
from losscli.ci.paired import PairedStats, Testing
from losscli.engine.evaluate import EvaluatedChunk
from losscli.engine.histogram import Distribution, Histogram
from losscli.engine.paired import Aligned, Disagreements, NotAligned, Samples
from losscli.engine.results import Report
from losscli.engine.run import OpenRun, collect, open_run, samples_of
from losscli.engine.slices import SliceKey
from losscli.interpret.onefile import Model, compare_models_of, model_name, model_options
from losscli.interpret.plan import Options
from losscli.io.paths import one_stdin, open_path, spill_folder, stdin_copy
from losscli.io.readers import DEFAULT_CHUNK_ROWS, Source, check_dialect, open_source
from losscli.losses import Reduce
from losscli.spec import LossSpec, parse_specs
from losscli.stats import LEVEL, PAIRED, Difference, holm

_LOG = logging.getLogger("losscli")

# --------------------------------------------------------------------------- samples


def align(keys: Sequence[np.ndarray]) -> list[np.ndarray | None]:
    """Index arrays selecting the samples present in every key array, in the same order.

    ``None`` for every model when the keys are already identical (the usual case).
    """
    first = keys[0]
    if all(len(k) == len(first) and np.array_equal(k, first) for k in keys[1:]):
        return [None] * len(keys)
    common = first
    for k in keys[1:]:
        common = np.intersect1d(common, k)
    out: list[np.ndarray | None] = []
    for k in keys:
        _, _, idx = np.intersect1d(common, k, assume_unique=True, return_indices=True)
        out.append(idx)
    return out


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True, slots=True)
class ModelDiff:
    """One model against the first, for one loss."""

    difference: Difference
    p_value: float
    better: float  # share of samples with a lower per-sample loss than the first model
    worse: float  # share with a higher one (the rest are ties)
    p_holm: float = math.nan  # p adjusted by Holm over every loss and model compared
    # Histogram of the per-sample differences (this model's loss minus the first's).
    distribution: Distribution | None = None


@dataclass(frozen=True, slots=True)
class LossRow:
    loss: str
    values: tuple[float, ...]  # one per model, unrounded
    best: int  # index of the lowest value
    diffs: tuple[ModelDiff | None, ...]  # None for the first model
    signatures: tuple[str, ...] = ()  # one per model (see losscli.engine.signature)


@dataclass(frozen=True, slots=True)
class Disagreement:
    key: str
    values: tuple[float, ...]  # each model's loss on this sample (the first loss)
    spread: float  # max - min over models


@dataclass(frozen=True, slots=True)
class Comparison:
    """Models side by side on the same labels (everything ``losscli compare`` shows)."""

    models: tuple[str, ...]  # short names (unique file names), in the order given
    labels: str
    n_samples: tuple[int, ...]  # per model
    n_paired: int  # samples present for every model
    key_name: str  # "id" or "row"
    losses: tuple[LossRow, ...]
    disagreements: tuple[Disagreement, ...]
    method: str = PAIRED
    paths: tuple[str, ...] = ()  # the prediction files as given
    testing: dict[str, object] = field(default_factory=dict)  # --test, samples, seed
    group_by: tuple[str, ...] = ()  # --group-by columns
    slices: tuple[SliceRow, ...] = ()  # per slice, worst-regressing first
    # How the inputs were read (the first model's plan: decision, reason).
    interpretation: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The JSON document of ``compare --format json`` (values at full precision)."""
        from losscli.engine.results import SCHEMA_VERSION, json_safe
        from losscli.engine.signature import losscli_version

        def diff(d: ModelDiff | SliceDiff | None) -> dict[str, object] | None:
            return None if d is None else diff_dict(d)

        doc = {
            "schema_version": SCHEMA_VERSION,
            "losscli_version": losscli_version(),
            "models": list(self.models),
            "paths": list(self.paths or self.models),
            "labels": self.labels,
            "n_samples": list(self.n_samples),
            "n_paired": self.n_paired,
            "method": self.method,
            **self.testing,
            "confidence": LEVEL,
            "losses": [
                {
                    "loss": r.loss,
                    "values": list(r.values),
                    "best": self.models[r.best],
                    "vs_first": [diff(d) for d in r.diffs],
                    "signatures": list(r.signatures),
                }
                for r in self.losses
            ],
            "disagreements": {
                "by": self.losses[0].loss if self.losses else None,
                "key": self.key_name,
                "samples": [
                    {"key": d.key, "values": list(d.values), "spread": d.spread}
                    for d in self.disagreements
                ],
            },
        }
        if self.group_by:
            doc["group_by"] = list(self.group_by)
            doc["slices"] = [self._slice_dict(r, diff) for r in self.slices]
        return dict(json_safe(doc))

    def _slice_dict(self, row: SliceRow, diff: Callable[[SliceDiff], object]) -> dict[str, object]:
        """One slice in the JSON: its values, n, and per loss the models' values and the
        differences to the first (the layout of ``losses``)."""
        n_other = len(self.models) - 1
        losses = []
        for j in range(len(row.diffs) // max(n_other, 1)):
            part = row.diffs[j * n_other : (j + 1) * n_other]
            losses.append(
                {
                    "loss": part[0].loss,
                    "values": [part[0].baseline, *(d.candidate for d in part)],
                    "vs_first": [None, *(diff(d) for d in part)],
                }
            )
        return {
            "slice": dict(zip(self.group_by, row.values, strict=True)),
            "n": row.n,
            "hidden": row.hidden,
            "losses": losses,
        }


def diff_dict(d: ModelDiff | SliceDiff) -> dict[str, object]:
    """A tested difference as JSON fields (overall rows and slices alike)."""
    x = d.difference
    return {
        "diff": x.diff,
        "se": x.se,
        "df": x.df,
        "ci_low": x.ci_low,
        "ci_high": x.ci_high,
        "p_value": d.p_value,
        "p_holm": d.p_holm,
        "mde": x.mde,
        "n": x.n,
        "share_better": d.better,
        "share_worse": d.worse,
    }


def model_names(paths: Sequence[str]) -> list[str]:
    """Short names for models: file names, with as many parent folders as make them unique."""
    from pathlib import PurePath

    parts = [PurePath(p).parts for p in paths]
    longest = max((len(x) for x in parts), default=0)
    for depth in range(1, longest + 1):
        names = [str(PurePath(*x[-depth:])) if x else "" for x in parts]
        if len(set(names)) == len(names):
            return names
    return list(paths)


@dataclass
class Pairing:
    """What pairing the models' samples leaves: per model after the first and per loss, the
    paired statistics against the first; the largest disagreements; the paired count."""

    stats: list[list[PairedStats]]
    disagreements: Disagreements
    n_paired: int = 0
    sliced: SlicedPairs | None = None  # --group-by: the same per slice
    # Per model after the first and per loss: a histogram of the per-sample differences.
    differences: list[list[Histogram]] = field(default_factory=list)


def pair(
    streams: Sequence[Iterator[Samples]],
    n_losses: int,
    testing: Testing,
    top: int,
    *,
    by_row: bool,
    groups: tuple[str, ...] = (),
) -> Pairing:
    """Pair the models' streams of samples chunk by chunk (``losscli.engine.paired.Aligned``:
    memory bounded by the chunks, not the rows), overall and per slice of the ``groups``
    columns. Raises ``NotAligned`` when ids come in different orders."""
    out = Pairing(
        [[PairedStats(testing) for _ in range(n_losses)] for _ in streams[1:]],
        Disagreements(top if n_losses else 0),
        sliced=SlicedPairs(groups, len(streams), n_losses, testing) if groups else None,
        differences=[[Histogram() for _ in range(n_losses)] for _ in streams[1:]],
    )
    for parts in Aligned(streams, n_losses, by_row):
        if out.sliced is not None:
            out.sliced.add(parts)
        first = parts[0]
        for stats, hists, other in zip(out.stats, out.differences, parts[1:], strict=True):
            update_pairs(stats, first, other)
            for j, hist in enumerate(hists):
                hist.update(other.shown[j] - first.shown[j])
        if n_losses:
            out.disagreements.update(first.keys, [p.shown[0] for p in parts], out.n_paired)
        out.n_paired += len(first)
    return out


def pair_in_memory(samples: Sequence[Samples], testing: Testing, top: int) -> Pairing:
    """Pair the models' samples held in memory: by key, whatever their order."""
    index = align([s.keys for s in samples])
    aligned = [s.take(i) for s, i in zip(samples, index, strict=True)]
    n_losses = len(samples[0].values)
    groups = tuple(samples[0].groups)
    return pair([iter([s]) for s in aligned], n_losses, testing, top, by_row=False, groups=groups)


def compare_models(
    models: Sequence[str],
    labels: str,
    specs: Sequence[tuple[str, Reduce]],
    values: Sequence[Sequence[float]],
    samples: Sequence[Samples],
    *,
    top: int = 10,
    key_name: str = "row",
    signatures: Sequence[Sequence[str]] = (),
    testing: Testing | None = None,
) -> Comparison:
    """Compare every model with the first, loss by loss, from samples held in memory.

    ``specs`` are (spec text, reduction) per loss; ``values[m][l]`` is model m's reported value
    for loss l; ``samples[m]`` its per-sample terms. Samples are paired by key; the differences
    use the reported values when every model has every sample. ``signatures[m][l]``, when
    given, is the signature of ``values[m][l]``.
    """
    testing = testing or Testing()
    pairing = pair_in_memory(samples, testing, top)
    n_samples = [len(s.keys) for s in samples]
    return comparison(
        models, labels, specs, values, n_samples, pairing, key_name, signatures, testing
    )


def comparison(
    models: Sequence[str],
    labels: str,
    specs: Sequence[tuple[str, Reduce]],
    values: Sequence[Sequence[float]],
    n_samples: Sequence[int],
    pairing: Pairing,
    key_name: str,
    signatures: Sequence[Sequence[str]],
    testing: Testing,
    *,
    slice_values: Sequence[Mapping[SliceKey, tuple[float, ...]]] = (),
    min_slice_size: int = 0,
    interpretation: tuple[tuple[str, str], ...] = (),
) -> Comparison:
    """The ``Comparison`` of models from their reported values and their pairing.

    ``slice_values[m][key]``: model m's reported values of a slice, one per loss (with
    ``--group-by``)."""
    complete = all(n == pairing.n_paired for n in n_samples)
    rows: list[LossRow] = []
    for j, (text, reduce) in enumerate(specs):
        vals = tuple(float(v[j]) for v in values)
        ranked = [math.inf if math.isnan(v) else v for v in vals]
        best = min(range(len(vals)), key=ranked.__getitem__)
        diffs: list[ModelDiff | None] = [None]
        for m, stats in enumerate(pairing.stats, 1):
            d = stats[j].finalize(reduce, exact=(vals[0], vals[m]) if complete else None)
            better, worse = stats[j].moments.shares()
            hist = pairing.differences[m - 1][j].finalize()
            diffs.append(ModelDiff(d, d.test(0.0).p_value, better, worse, distribution=hist))
        signed = tuple(sig[j] for sig in signatures)
        rows.append(LossRow(text, vals, best, tuple(diffs), signed))
    names = tuple(model_names(models))
    slices: tuple[SliceRow, ...] = ()
    if pairing.sliced is not None:
        slices = slice_rows(
            pairing.sliced.finalize(),
            specs,
            names,
            slice_values if complete and slice_values else None,
            min_slice_size,
        )
    return Comparison(
        names,
        labels,
        tuple(n_samples),
        pairing.n_paired,
        key_name,
        _holm_rows(rows),
        tuple(Disagreement(*d) for d in pairing.disagreements.finalize()),
        method=testing.name,
        paths=tuple(models),
        testing=testing.to_dict(),
        group_by=() if pairing.sliced is None else pairing.sliced.columns,
        slices=slices,
        interpretation=interpretation,
    )


def reported_slices(report: Report) -> dict[SliceKey, tuple[float, ...]]:
    """A run's per-slice values, one per loss, by slice key (the shown slices)."""
    return {s.values: tuple(r.value for r in s.results) for s in report.slices if s.results}


def _holm_rows(rows: list[LossRow]) -> tuple[LossRow, ...]:
    """The rows with every p-value adjusted by Holm over all of them (losses × models)."""
    diffs = [d for r in rows for d in r.diffs if d is not None]
    adjusted = iter(holm([d.p_value for d in diffs]))
    return tuple(
        replace(
            r,
            diffs=tuple(None if d is None else replace(d, p_holm=next(adjusted)) for d in r.diffs),
        )
        for r in rows
    )


# --------------------------------------------------------------------------- compare files


def compare_files(
    preds: Sequence[Path],
    settings: Settings,
    *,
    top: int = 10,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    model_cols: Sequence[tuple[str, ...]] = (),
) -> Comparison:
    """``losscli compare`` as a function: every model against the first on the same labels.

    The models are evaluated side by side in chunks and paired as they stream (memory
    bounded by the chunks); when ``--id-col`` ids come in different orders in the models'
    files, their per-sample terms are held in memory and paired by id instead. One-file
    mode and ``model_cols``: see ``losscli.interpret.onefile``.
    """
    s = settings
    models = compare_models_of(preds, s.labels, s.label_col, model_cols)
    specs = parse_specs(list(s.loss), "mean")
    one_stdin([*preds, s.labels])
    options = settings_options(s)
    testing = Testing.of(s.test, s.bootstrap_samples, s.seed)
    one = s.labels is None  # one-file mode: the first file holds the labels
    labels = preds[0] if s.labels is None else s.labels
    labels_key = s.preds_key if one else s.labels_key
    with spill_folder() as folder:
        copies, labels_path = _local_copies(preds, s, folder)

        def sources(i: int) -> Sources:
            path = models[i][0]
            return (
                open_path(copies[path], path, s.preds_key, chunk_rows, s.dialect),
                open_path(labels_path, labels, labels_key, chunk_rows, s.dialect),
                None if s.meta is None else open_source(s.meta, chunk_rows=chunk_rows),
            )

        reports, pairing = paired_runs(
            sources,
            len(models),
            specs,
            options,
            testing,
            top,
            chunk_rows,
            by_row=s.id_col is None,
            min_slice_size=s.min_slice_size or 0,
            options_for=lambda i, src: model_options(src, options, models[i][1], one_file=one),
        )
    reports = _named(reports, models)
    names = [r.preds.path for r in reports]
    same_labels(names, [rep.results for rep in reports])
    return comparison(
        names,
        reports[0].labels.path,
        [(spec.label, spec.loss.reduce) for spec in specs],
        [[r.value for r in rep.results] for rep in reports],
        [rep.n_samples for rep in reports],
        pairing,
        "id" if s.id_col is not None else "row",
        [[r.signature for r in rep.results] for rep in reports],
        testing,
        slice_values=[reported_slices(rep) for rep in reports],
        min_slice_size=s.min_slice_size or 0,
        interpretation=reports[0].interpretation,
    )


def _local_copies(
    preds: Sequence[Path], s: Settings, folder: Path
) -> tuple[dict[Path, Path], Path]:
    """The files to open for the predictions and the labels (standard input and remote
    files copied to ``folder``); text options checked against them."""
    copies = {p: stdin_copy(p, s.preds_format, folder, "--preds-format") for p in preds}
    labels_path = (
        copies[preds[0]]
        if s.labels is None
        else stdin_copy(s.labels, s.labels_format, folder, "--labels-format")
    )
    check_dialect(s.dialect, [*copies.values(), labels_path])
    return copies, labels_path


def _named(reports: list[Report], models: list[Model]) -> list[Report]:
    """Models of one file named by their columns: ``results.parquet[a0,a1,a2]``."""
    return [
        replace(r, preds=replace(r.preds, path=model_name(r.preds.path, cols))) if cols else r
        for r, (_, cols) in zip(reports, models, strict=True)
    ]


Sources = tuple[Source, Source, Source | None]  # predictions, labels, --meta


def paired_runs(
    sources: Callable[[int], Sources],
    n_models: int,
    specs: list[LossSpec],
    options: Options,
    testing: Testing,
    top: int,
    chunk_rows: int,
    *,
    by_row: bool,
    min_slice_size: int = 0,
    options_for: Callable[[int, Source], Options] | None = None,
) -> tuple[list[Report], Pairing]:
    """Evaluate models side by side and pair them: ``sources(m)`` opens model m's
    predictions, labels and ``--meta`` file. Streams; falls back to pairing in memory
    (opening the sources again) when ids come in different orders. ``options_for(m,
    predictions)``: model m's own options (compare's one-file mode), else ``options``."""

    def options_of(m: int, preds: Source) -> Options:
        return options if options_for is None else options_for(m, preds)

    groups = options.meta.groups

    def opened(m: int) -> OpenRun:
        preds, labels, meta = sources(m)
        return open_run(
            preds,
            labels,
            specs,
            options_of(m, preds),
            top=0,
            chunk_rows=chunk_rows,
            meta_src=meta,
            min_slice_size=min_slice_size,
        )

    runs = [opened(m) for m in range(n_models)]
    chunks: list[Generator[EvaluatedChunk, None, None]] = [r.chunks() for r in runs]
    try:
        streams = [(samples_of(chunk, groups) for chunk in c) for c in chunks]
        pairing = pair(streams, len(specs), testing, top, by_row=by_row, groups=groups)
        return [r.report() for r in runs], pairing
    except NotAligned as why:
        _LOG.info("pairing the models in memory: %s", why)
    finally:  # stop the other models' readers when one fails (or the pairing stops early)
        for c in chunks:
            c.close()
    reports, samples = [], []
    for m in range(n_models):
        preds, labels, meta = sources(m)
        report, sample = collect(
            preds,
            labels,
            specs,
            options_of(m, preds),
            chunk_rows=chunk_rows,
            meta_src=meta,
            min_slice_size=min_slice_size,
        )
        reports.append(report)
        samples.append(sample)
    return reports, pair_in_memory(samples, testing, top)
