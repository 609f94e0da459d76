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

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from losscli.ci.baseline import same_labels
from losscli.ci.config import Settings, settings_options
from losscli.ci.paired import Testing, paired_test
from losscli.engine.run import Samples, collect
from losscli.errors import UsageError
from losscli.io.paths import one_stdin, open_path, spill_folder, stdin_copy
from losscli.io.readers import DEFAULT_CHUNK_ROWS
from losscli.losses import Reduce
from losscli.spec import parse_specs
from losscli.stats import LEVEL, PAIRED, Difference, holm

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

    def to_dict(self) -> dict[str, object]:
        """The JSON document of ``compare --format json`` (values at full precision)."""
        from losscli.engine.results import SCHEMA_VERSION, json_safe
        from losscli.engine.signature import losscli_version

        def diff(d: ModelDiff | None) -> dict[str, object] | None:
            if d is None:
                return None
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
        return dict(json_safe(doc))


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


def _shares(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Shares of samples (both counted) where b's loss is lower / higher than a's."""
    both = ~(np.isnan(a) | np.isnan(b))
    n = int(both.sum())
    if n == 0:
        return math.nan, math.nan
    return float((b[both] < a[both]).sum()) / n, float((b[both] > a[both]).sum()) / n


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
    """Compare every model with the first, loss by loss.

    ``specs`` are (spec text, reduction) per loss; ``values[m][l]`` is model m's reported value
    for loss l; ``samples[m]`` its per-sample terms. Samples are paired by key; the differences
    use the reported values when every model has every sample. ``signatures[m][l]``, when
    given, is the signature of ``values[m][l]``.
    """
    testing = testing or Testing()
    index = align([s.keys for s in samples])
    aligned = [s.take(i) for s, i in zip(samples, index, strict=True)]
    complete = all(i is None for i in index)
    rows: list[LossRow] = []
    for j, (text, reduce) in enumerate(specs):
        vals = tuple(float(v[j]) for v in values)
        ranked = [math.inf if math.isnan(v) else v for v in vals]
        best = min(range(len(vals)), key=ranked.__getitem__)
        first = aligned[0]
        diffs: list[ModelDiff | None] = [None]
        for m in range(1, len(aligned)):
            other = aligned[m]
            d = paired_test(
                first.keys,
                (first.values[j], first.weights[j]),
                (other.values[j], other.weights[j]),
                reduce,
                testing,
                exact=(vals[0], vals[m]) if complete else None,
            )
            better, worse = _shares(first.shown[j], other.shown[j])
            diffs.append(ModelDiff(d, d.test(0.0).p_value, better, worse))
        signed = tuple(sig[j] for sig in signatures)
        rows.append(LossRow(text, vals, best, tuple(diffs), signed))
    return Comparison(
        tuple(model_names(models)),
        labels,
        tuple(len(s.keys) for s in samples),
        len(aligned[0].keys),
        key_name,
        _holm_rows(rows),
        disagreements(aligned, top),
        method=testing.name,
        paths=tuple(models),
        testing=testing.to_dict(),
    )


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


def disagreements(aligned: Sequence[Samples], top: int) -> tuple[Disagreement, ...]:
    """The ``top`` samples whose first-loss values differ most between models."""
    if top <= 0 or not aligned or not aligned[0].shown:
        return ()
    stack = np.column_stack([s.shown[0] for s in aligned])
    counted = ~np.isnan(stack).all(axis=1)
    with np.errstate(invalid="ignore"):
        spread = np.where(
            counted,
            np.nanmax(np.where(counted[:, None], stack, 0), axis=1)
            - np.nanmin(np.where(counted[:, None], stack, 0), axis=1),
            -np.inf,
        )
    k = min(top, len(spread))
    if k == 0:
        return ()
    idx = np.argpartition(-spread, k - 1)[:k] if k < len(spread) else np.arange(len(spread))
    idx = idx[np.lexsort((idx, -spread[idx]))]
    keys = aligned[0].keys
    return tuple(
        Disagreement(str(keys[i]), tuple(float(x) for x in stack[i]), float(spread[i]))
        for i in idx
        if counted[i]
    )


# --------------------------------------------------------------------------- compare files


def compare_files(
    preds: Sequence[Path],
    settings: Settings,
    *,
    top: int = 10,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Comparison:
    """``losscli compare`` as a function: every model against the first on the same labels."""
    s = settings
    if len(preds) < 2:
        raise UsageError(f"compare needs at least two prediction files, got {len(preds)}")
    if s.labels is None:
        raise UsageError("give --labels LABELS (or set labels in [tool.losscli])")
    specs = parse_specs(list(s.loss), "mean")
    one_stdin([*preds, s.labels])
    options = settings_options(s)
    reports, samples = [], []
    with spill_folder() as folder:
        labels_path = stdin_copy(s.labels, s.labels_format, folder, "--labels-format")
        for path in preds:
            src = open_path(
                stdin_copy(path, s.preds_format, folder, "--preds-format"),
                path,
                s.preds_key,
                chunk_rows,
            )
            labels_src = open_path(labels_path, s.labels, s.labels_key, chunk_rows)
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
        testing=Testing.of(s.test, s.bootstrap_samples, s.seed),
    )
