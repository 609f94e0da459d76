"""Result types: frozen dataclasses of plain Python values, ready for any renderer."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from losscli.engine.histogram import Distribution
from losscli.engine.intervals import Intervals

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """One confidence bin of a calibration loss: its range, how many samples fell in it, their
    mean confidence and accuracy (None when empty) and the gap |accuracy − confidence|."""

    low: float
    high: float
    count: int
    confidence: float | None
    accuracy: float | None
    gap: float | None


@dataclass(frozen=True, slots=True)
class LossResult:
    """One loss's outcome. ``loss`` is the spec as the user wrote it."""

    loss: str
    name: str
    value: float
    n: int
    std: float
    ci_low: float
    ci_high: float
    reduction: str
    reference: str
    params: dict[str, Any]
    ignored: int = 0
    convention: str = "losscli"
    # How this convention differs from losscli's default ('' when it does not).
    convention_note: str = ""
    # Everything that changes the value, one line (see losscli.engine.signature).
    signature: str = ""
    # The reliability table of a calibration loss (ece, mce); empty for every other loss.
    bins: tuple[CalibrationBin, ...] = ()
    # With sample weights: Kish's effective sample size (Σw)²/Σw² (None without weights).
    n_eff: float | None = None
    # Quantiles and a histogram of the per-sample values (None when no sample has one).
    distribution: Distribution | None = None

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON keys: its fields, with the per-sample distribution as
        ``quantiles`` (p50, p90, p99 within 0.5% relative) and ``histogram`` (count, min,
        max, and exact counts between edges)."""
        entry = asdict(self)
        dist = entry.pop("distribution")
        entry["quantiles"] = None if dist is None else dist.pop("quantiles")
        entry["histogram"] = dist
        return entry


@dataclass(frozen=True, slots=True)
class Estimate:
    """A loss's reduced value, the per-sample std and a 95% interval."""

    value: float
    std: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class WorstRow:
    """One of the worst rows, as numbers: the row, its label, its prediction, its losses.

    Which fields are set depends on the task:
    - binary: ``label_class`` (0 or 1), ``prediction`` (the score), ``p_true`` when scores
      are logits or probabilities;
    - multiclass: ``label_class`` (as given, so an ignored label may be out of range),
      ``predicted_class`` (the argmax) and ``p_true``;
    - soft labels: ``label_class`` and ``predicted_class``, the argmax of each row, and
      ``label`` when every value of the row is 0 or 1 (one-hot or multi-hot);
    - dense maps: ``positions`` (counted positions) and ``accuracy`` (the share of them
      predicted right, None when none is counted);
    - numeric labels: ``label`` and ``prediction``, the value or values of the row.
    ``losses`` holds the row's own loss for every ``--loss``, in order.
    """

    row: int
    id: str | None
    losses: tuple[float, ...]
    label_class: int | None = None
    predicted_class: int | None = None
    p_true: float | None = None
    label: tuple[float, ...] | None = None
    prediction: tuple[float, ...] | None = None
    positions: int | None = None
    accuracy: float | None = None


@dataclass(frozen=True, slots=True)
class ClassRow:
    """One true class: per loss, its counted samples, mean loss and share of the total."""

    name: str
    count: tuple[int, ...]
    mean: tuple[float, ...]
    share: tuple[float, ...]
    # Per loss, the 95% interval of the class's mean (with --ci bootstrap; else empty).
    ci_low: tuple[float, ...] = ()
    ci_high: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class SliceResult:
    """One slice of --group-by: its value per group column, its rows and its results.

    ``values[i]`` is the slice's value of the i-th group column (None: missing). A slice with
    fewer rows than --min-slice-size is ``hidden``: its count is reported, its results are not.
    """

    values: tuple[str | int | bool | None, ...]
    n: int
    results: tuple[LossResult, ...]
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class GroupedResult(LossResult):
    """``losscli.compute(..., groups=...)``: the overall result and one per slice."""

    slices: tuple[SliceResult, ...] = ()


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    format: str
    columns: tuple[str, ...] | None
    sha256: str | None = None  # of the file's content (None when not hashed)


@dataclass(frozen=True, slots=True)
class Report:
    """Everything ``compute`` finds: inputs, interpretation, results, worst rows (no text:
    ``losscli.report`` writes it)."""

    preds: FileInfo
    labels: FileInfo
    n_samples: int
    n_skipped: int
    task: str
    classes: tuple[str, ...]
    kind: str | None
    interpretation: tuple[tuple[str, str], ...]
    results: tuple[LossResult, ...]
    worst: tuple[WorstRow, ...]
    by_class: tuple[ClassRow, ...] = ()
    version: str = ""  # the losscli version that made the report
    intervals: Intervals = field(default_factory=Intervals)
    # --group-by columns and their slices, worst first by the first loss (hidden ones last).
    group_by: tuple[str, ...] = ()
    slices: tuple[SliceResult, ...] = ()
    weight_col: str | None = None
    # Regression: the histogram of residuals, prediction − label (None for other tasks).
    residuals: Distribution | None = None


def json_safe(obj: Any) -> Any:
    """JSON has no NaN or infinity: write them as null (strict parsers reject the rest)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj
