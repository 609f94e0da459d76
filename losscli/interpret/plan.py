"""Input interpretation: decide once how the two files are read, and say why.

``plan_inputs`` looks at both sources (their columns and first chunk) and returns a ``Plan``:
which columns are predictions and labels, the task, the classes, and whether scores are
logits or probabilities. ``batches`` then streams aligned, converted ``Batch`` objects.
Every decision is recorded as a ``Note`` with its reason, for the output to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

import numpy as np

from losscli.errors import InputError, UsageError
from losscli.interpret.choices import ClassLabels, NanPolicy
from losscli.interpret.meta import MetaColumns
from losscli.io.sources import ArraySource, ColumnKind, Source, TableChunk, TableSource, is_number
from losscli.losses.base import Task

# Rows of probabilities must sum to 1 within this absolute tolerance (values written to
# text with 6 decimals over many classes drift by ~1e-6 per class).
PROB_SUM_TOL = 1e-4
SHOW_ROWS = 5
T = TypeVar("T")


class Kind(StrEnum):
    LOGITS = "logits"
    PROBS = "probs"


class LabelMode(StrEnum):
    VALUES = "values"  # numbers, compared as they are
    INDEX = "index"  # integer class indices
    NAME = "name"  # class names matching prediction headers
    BINARY = "binary"  # two values mapped to 0 / 1
    SOFT = "soft"  # one column per class


@dataclass(frozen=True, slots=True)
class Note:
    """One interpretation decision and the reason for it."""

    what: str
    why: str


@dataclass(frozen=True, slots=True)
class Options:
    """The user's say over interpretation (all optional)."""

    pred_cols: tuple[str, ...] | None = None
    label_cols: tuple[str, ...] | None = None
    id_col: str | None = None
    kind: Kind | None = None
    nan: NanPolicy = NanPolicy.ERROR
    allow_unmatched: bool = False
    # Axis of the class scores in N-d prediction arrays (1 as in torch; -1 for channels-last).
    class_axis: int = 1
    # Whether the kind must be decided, and whether every loss that needs it reads columns as
    # independent probabilities (bce) rather than one distribution per row (ce, kl).
    needs_kind: bool = False
    independent_columns: bool = False
    # Whether a loss reads two prediction columns as a mean and a variance against one
    # numeric label column (gaussian_nll: Target.MEAN_VAR) rather than as two class scores.
    mean_var: bool = False
    # Whether every loss compares numbers (Target.VALUES): several label columns are then one
    # target per output (Task.MULTIOUTPUT), otherwise soft labels (Task.DISTRIBUTION).
    multioutput: bool = False
    # Whole-number labels against numbered columns: positions or names (None: decide, or ask).
    class_labels: ClassLabels | None = None
    # Per-row columns (--weight-col, --group-by): never predictions or labels.
    meta: MetaColumns = field(default_factory=MetaColumns)


@dataclass
class Plan:
    """How the inputs are read: the outcome of ``plan_inputs``."""

    task: Task
    label_mode: LabelMode
    pred_cols: list[str] | None  # None for array sources
    label_cols: list[str] | None
    id_col: str | None
    n_scores: int  # prediction columns (classes for classification)
    classes: list[str]
    kind: Kind | None
    kind_auto: bool
    nan: NanPolicy
    binary_values: tuple[Any, Any] | None = None  # (negative, positive) raw label values
    notes: list[Note] = field(default_factory=list)
    allow_unmatched: bool = False
    class_axis: int = 1
    # The dtype array predictions are stored in (float64 for tables): scikit-learn's
    # convention clips float32 probabilities at float32's eps.
    preds_dtype: str = "float64"


@dataclass
class Batch:
    """Aligned rows of both files, converted for the losses."""

    preds: np.ndarray  # float64: (n,), (n, C) or (n, C, d1, ...)
    labels: np.ndarray  # per the plan's label mode: float64 values, int64 indices, soft (n, C)
    raw: np.ndarray | None  # numeric labels as given (float64), for value losses
    rows: np.ndarray  # int64 row numbers in the predictions file (from 0)
    ids: np.ndarray | None
    meta: TableChunk | None = None  # --weight-col and --group-by columns, by name

    def __len__(self) -> int:
        return int(self.preds.shape[0])

    def where(self, rows: Any) -> str:
        """Names the rows of a boolean mask or index list: 'rows 3, 7' or 'ids a, b'."""
        rows = np.asarray(rows)
        idx = np.flatnonzero(rows) if rows.dtype == bool else rows
        count = len(idx)
        shown = idx[:SHOW_ROWS]
        if self.ids is not None:
            items = ", ".join(str(self.ids[i]) for i in shown)
            label = "id" if count == 1 else "ids"
        else:
            items = ", ".join(str(int(self.rows[i])) for i in shown)
            label = "row" if count == 1 else "rows"
        more = f" and {count - len(shown)} more" if count > len(shown) else ""
        return f"{label} {items}{more}"


# --------------------------------------------------------------------------- columns


def _table_pred_cols(src: TableSource, opts: Options, notes: list[Note]) -> list[str]:
    if opts.pred_cols:
        missing = [c for c in opts.pred_cols if c not in src.columns]
        if missing:
            raise UsageError(
                f"{src.name}: no column {', '.join(map(repr, missing))}; "
                f"columns are: {', '.join(src.columns)}"
            )
        text = [c for c in opts.pred_cols if not src.is_numeric(c)]
        if text:
            raise InputError(f"{src.name}: prediction column {text[0]!r} is not numeric")
        return list(opts.pred_cols)
    cols = _candidate_columns(src, opts, notes)
    text = [c for c in cols if not src.is_numeric(c)]
    numeric = [c for c in cols if src.is_numeric(c)]
    _refuse_mixed_columns(src, text)
    if not numeric:
        raise InputError(
            f"{src.name}: no numeric prediction column (found {', '.join(text) or 'none'}); "
            "predictions must be numbers"
        )
    if text:
        notes.append(
            Note(
                f"ignored non-numeric column {', '.join(text)} in {src.name}",
                "prediction columns are the numeric ones",
            )
        )
    return numeric


def _refuse_mixed_columns(src: TableSource, text: list[str]) -> None:
    """A text column whose values are mostly numbers is a broken prediction column."""
    if not text:
        return
    head = src.head(text) or {}
    for col in text:
        values = [v for v in head.get(col, ()) if v is not None]
        numbers = [is_number(v) for v in values]
        if values and all(numbers):  # numbers the reader's --decimal/--delimiter did not parse
            raise InputError(
                f"{src.name}: column {col!r} holds numbers such as {values[0]!r} that were not "
                "read as numbers; check --decimal and --delimiter"
            )
        if values and sum(numbers) * 2 >= len(values):
            bad = numbers.index(False)
            raise InputError(
                f"{src.name}: column {col!r} is not numeric: among its numbers it holds "
                f"{values[bad]!r} (row {bad}); predictions must be numbers (or choose the "
                "columns with --pred-cols)"
            )


def _candidate_columns(src: TableSource, opts: Options, notes: list[Note]) -> list[str]:
    """Every column but the id column and unnamed ones (a row index pandas saved)."""
    unnamed = [c for c in src.columns if src.has_header and not c.strip()]
    if unnamed and opts.id_col not in unnamed:
        notes.append(
            Note(
                f"ignored the unnamed column of {src.name}",
                "its header is empty, as in a row index saved by pandas' to_csv; "
                "name the column to use it",
            )
        )
    skip = {opts.id_col, *unnamed, *opts.meta.names}
    other = [c for c in src.columns if src.kinds[c] is ColumnKind.OTHER and c not in skip]
    if other:
        notes.append(
            Note(
                f"ignored column {', '.join(other)} of {src.name}",
                f"it holds {src.types.get(other[0], 'values')}, not numbers, text or a list "
                "of numbers per row",
            )
        )
    return [c for c in src.columns if c not in skip and c not in other]


def _table_label_cols(
    src: TableSource, opts: Options, n_scores: int, preds_columns: list[str], notes: list[Note]
) -> list[str]:
    if opts.label_cols:
        missing = [c for c in opts.label_cols if c not in src.columns]
        if missing:
            raise UsageError(
                f"{src.name}: no column {', '.join(map(repr, missing))}; "
                f"columns are: {', '.join(src.columns)}"
            )
        return list(opts.label_cols)
    cols = _candidate_columns(src, opts, notes)
    if not cols:
        raise InputError(f"{src.name}: no label column besides the id column {opts.id_col!r}")
    if len(cols) > 1 and (not all(src.is_numeric(c) for c in cols) or len(cols) != n_scores):
        shared = [c for c in cols if c in preds_columns]
        fix = (
            f"to match rows by the column both files have, pass --id-col {shared[0]}"
            if len(shared) == 1
            else "pass --label-col NAME (or --id-col NAME for an id column)"
        )
        raise UsageError(
            f"{src.name} has {len(cols)} columns ({', '.join(cols)}) and it is not clear which "
            f"is the label; {fix}"
        )
    return cols


def one_column(array: np.ndarray) -> np.ndarray:
    """An (N, 1) array as the (N,) array it stands for (a one-column table reads the same)."""
    return array[:, 0] if array.ndim == 2 and array.shape[1] == 1 else array


def _note_one_column(src: Source, what: str, notes: list[Note]) -> None:
    if isinstance(src, ArraySource) and src.ndim == 2 and src.shape[1] == 1:
        notes.append(
            Note(
                f"{what} of shape (N, 1) in {src.name} read as one column",
                "an (N, 1) array is read exactly as an (N,) array, like a one-column table",
            )
        )


def _first_chunk(src: Source, columns: list[str] | None) -> Any:
    if isinstance(src, ArraySource):
        array = src.head()
        head: Any = None if array is None else one_column(array)
    else:
        head = src.head(columns or [])
    if head is None or chunk_len(head) == 0:
        raise InputError(f"{src.name}: the file has no rows")
    return head


# --------------------------------------------------------------------------- planning


def stack_columns(chunk: TableChunk, cols: list[str]) -> np.ndarray:
    """Table columns as a float64 matrix (one column -> 1-D)."""
    if len(cols) == 1:
        return np.asarray(chunk[cols[0]], dtype=np.float64)
    return np.column_stack([np.asarray(chunk[c], dtype=np.float64) for c in cols])


def _decide_kind(preds: np.ndarray, opts: Options, notes: list[Note]) -> Kind:
    """Logits or probabilities, from the first chunk of predictions (see ARCHITECTURE.md)."""
    finite = preds[np.isfinite(preds)] if preds.size else preds
    outside = (finite < 0) | (finite > 1)
    if outside.any():
        notes.append(
            Note(
                "predictions read as logits",
                f"values outside [0, 1], e.g. {finite[outside][0]:.6g}",
            )
        )
        return Kind.LOGITS
    if preds.ndim == 1 or opts.independent_columns:
        notes.append(Note("predictions read as probabilities", "every value is in [0, 1]"))
        return Kind.PROBS
    sums = preds.reshape(preds.shape[0], preds.shape[1], -1).sum(axis=1)
    off = np.abs(sums - 1.0) > PROB_SUM_TOL
    if off.any():
        first = np.argwhere(off)[0]
        raise UsageError(
            "cannot tell whether the predictions are logits or probabilities: every value is "
            f"in [0, 1] but rows do not sum to 1 (row {first[0]} sums to "
            f"{sums[tuple(first)]:.6g}); pass --logits or --probs"
        )
    notes.append(
        Note(
            "predictions read as probabilities", "every value is in [0, 1] and every row sums to 1"
        )
    )
    return Kind.PROBS


def _binary_values(values: np.ndarray, name: str) -> tuple[Any, Any] | None:
    """(negative, positive) when labels take at most two values; None for regression."""
    distinct = np.unique(values[~_missing(values)]) if values.size else values
    if len(distinct) > 2:
        return None
    present = {float(v) for v in distinct} if values.dtype != object else set(distinct)
    if values.dtype != object:
        if present <= {0.0, 1.0}:
            return (0.0, 1.0)
        if present <= {-1.0, 1.0}:
            return (-1.0, 1.0)
    if len(distinct) == 2:
        if values.dtype != object:
            return (float(distinct[0]), float(distinct[1]))
        return (distinct[0], distinct[1])
    if values.dtype != object:
        return None  # one numeric value: a (degenerate) regression target
    raise InputError(
        f"{name}: every label is {distinct[0]!r}; a binary task needs to know both classes"
    )


def _missing(values: np.ndarray) -> np.ndarray:
    if values.dtype == object:
        return np.array([v is None for v in values], dtype=bool)
    return ~np.isfinite(values)


@dataclass(frozen=True, slots=True)
class Decided(Generic[T]):
    """One planning step's decision and the notes that explain it."""

    value: T
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class Head:
    """The first rows of one side as the planner sees them."""

    columns: list[str] | None  # None for arrays
    values: np.ndarray  # predictions: float64 (n,), (n, C), (n, C, d1, ...); labels as read
    numeric: bool

    @property
    def n_scores(self) -> int:
        return 1 if self.values.ndim == 1 else int(self.values.shape[1])


@dataclass(frozen=True, slots=True)
class TaskChoice:
    task: Task
    mode: LabelMode
    binary_values: tuple[Any, Any] | None = None


def _noted(step: Any, *args: Any) -> Decided[Any]:
    """Run a helper that appends to a notes list as a step returning ``Decided``."""
    notes: list[Note] = []
    value = step(*args, notes)
    return Decided(value, tuple(notes))


def check_id_column(preds_src: Source, labels_src: Source, opts: Options) -> None:
    """--id-col needs two tables that both hold the column."""
    if opts.id_col is None:
        return
    for src in (preds_src, labels_src):
        if not isinstance(src, TableSource):
            raise UsageError(f"--id-col needs tables; {src.name} is an array")
        if opts.id_col not in src.columns:
            raise UsageError(
                f"{src.name}: no id column {opts.id_col!r}; columns are: {', '.join(src.columns)}"
            )


def header_rows(*sources: Source) -> Decided[None]:
    """How each text table's first row was read, where there was a choice."""
    notes = tuple(
        Note(
            f"first row of {src.name} read as {'a header' if src.header.present else 'data'}",
            src.header.why,
        )
        for src in sources
        if isinstance(src, TableSource) and src.header.why is not None
    )
    return Decided(None, notes)


def prediction_head(src: Source, opts: Options) -> Decided[Head]:
    """The prediction columns (tables) or the class axis (arrays), and the first rows."""
    if isinstance(src, TableSource):
        if opts.class_axis != 1:
            raise UsageError(
                "--class-axis applies to N-d prediction arrays (.npy/.npz), not to tables"
            )
        cols = _noted(_table_pred_cols, src, opts)
        values = stack_columns(_first_chunk(src, cols.value), cols.value)
        return Decided(Head(cols.value, values, True), cols.notes)
    notes = _noted(_note_one_column, src, "predictions").notes
    values = np.asarray(_first_chunk(src, None))
    if values.dtype.kind not in "biuf":
        raise InputError(f"{src.name}: predictions must be numbers, got {values.dtype}")
    moved = _noted(classes_on_axis_1, values.astype(np.float64), opts.class_axis)
    return Decided(Head(None, moved.value, True), notes + moved.notes)


def label_head(src: Source, opts: Options, preds: Head, preds_src: Source) -> Decided[Head]:
    """The label columns (tables) and the first rows."""
    if isinstance(src, TableSource):
        shared = preds_src.columns if isinstance(preds_src, TableSource) else []
        cols = _noted(_table_label_cols, src, opts, preds.n_scores, shared)
        chunk = _first_chunk(src, cols.value)
        values = (
            chunk[cols.value[0]]
            if len(cols.value) == 1
            else np.column_stack([chunk[c] for c in cols.value])
        )
        numeric = all(src.is_numeric(c) for c in cols.value)
        return Decided(Head(cols.value, values, numeric), cols.notes)
    notes = _noted(_note_one_column, src, "labels").notes
    values = np.asarray(_first_chunk(src, None))
    numeric = values.dtype.kind in "biuf"
    return Decided(Head(None, values if numeric else values.astype(object), numeric), notes)


def row_alignment(preds_src: Source, labels_src: Source, opts: Options) -> Decided[None]:
    """Rows by position; said when two tables share a text column (an id by the look). One
    file holding predictions and labels is aligned with itself: nothing to say."""
    if (
        opts.id_col is not None
        or not (isinstance(preds_src, TableSource) and isinstance(labels_src, TableSource))
        or preds_src.name == labels_src.name
    ):
        return Decided(None)
    shared = [c for c in preds_src.columns if c in labels_src.columns]
    shared = [c for c in shared if not preds_src.is_numeric(c)]
    if not shared:
        return Decided(None)
    why = f"no --id-col given (both files have a column {shared[0]!r})"
    return Decided(None, (Note("rows aligned by position", why),))


def _soft_label_note(labels0: np.ndarray, n_label_cols: int) -> Note:
    """How several label columns are read: a distribution per row, or, when every value is
    0 or 1 and some row holds more or fewer than one 1, a 0/1 target per column (multi-hot,
    as multi-label classifiers are scored with bce). The losses are the same either way."""
    with np.errstate(invalid="ignore"):
        zero_one = bool(np.isin(labels0, (0, 1)).all())
        multi_hot = zero_one and bool((labels0.sum(axis=1) != 1).any())
    if multi_hot:
        return Note(
            f"{n_label_cols} label columns read as 0/1 targets, one per column (multi-hot)",
            "several label columns, every value 0 or 1, and rows with several or no 1s",
        )
    return Note(
        f"{n_label_cols} label columns read as a distribution per row (soft labels)",
        "several label columns",
    )


def task_of(preds: Head, labels: Head, opts: Options, name: str) -> Decided[TaskChoice]:
    """The task and how labels are read (see ARCHITECTURE.md, input interpretation)."""
    values = preds.values
    gaussian = opts.mean_var and values.ndim == 2 and preds.n_scores == 2
    if gaussian and labels.values.ndim == 1 and labels.numeric:
        note = Note(
            "regression task: prediction columns read as (mean, variance)",
            "a loss of a predicted Gaussian and one numeric label column",
        )
        return Decided(TaskChoice(Task.REGRESSION, LabelMode.VALUES), (note,))
    decided = _noted(
        lambda notes: _decide_task(
            values,
            labels.values,
            labels.numeric,
            preds.n_scores,
            preds.columns,
            labels.columns,
            name,
            notes,
            multioutput=opts.multioutput,
            class_labels=opts.class_labels,
        )
    )
    return Decided(TaskChoice(*decided.value), decided.notes)


def soft_label_order(
    choice: TaskChoice, preds: Head, labels: Head, labels_src: Source
) -> Decided[list[str] | None]:
    """Soft-label columns matched to the prediction columns by name."""
    pred_cols, label_cols = preds.columns, labels.columns
    if (
        choice.mode is not LabelMode.SOFT
        or not pred_cols
        or not label_cols
        or not (isinstance(labels_src, TableSource) and labels_src.has_header)
        or label_cols == pred_cols
    ):
        return Decided(label_cols)
    if set(label_cols) != set(pred_cols):
        raise InputError(
            f"label columns ({', '.join(label_cols)}) do not match the prediction columns "
            f"({', '.join(pred_cols)}); soft labels need one column per class, same names"
        )
    note = Note(
        "label columns reordered to the prediction columns' order",
        "soft labels are matched to classes by column name",
    )
    return Decided(list(pred_cols), (note,))


def kind_of(preds: Head, opts: Options) -> Decided[Kind | None]:
    """Logits or probabilities: given, decided from the first rows, or not needed."""
    if opts.kind is not None:
        what = "logits" if opts.kind is Kind.LOGITS else "probabilities"
        return Decided(
            opts.kind, (Note(f"predictions read as {what}", f"--{opts.kind.value} given"),)
        )
    if not opts.needs_kind:
        return Decided(None)
    return _noted(_decide_kind, preds.values, opts)


def class_names(choice: TaskChoice, preds: Head) -> list[str]:
    """Class names: the binary task's two label values, the columns, or 0..C-1."""
    if choice.task is Task.BINARY:
        return [f"{v:g}" if isinstance(v, float) else str(v) for v in choice.binary_values or ()]
    if preds.columns is not None and len(preds.columns) == preds.n_scores:
        return list(preds.columns)
    return [str(i) for i in range(preds.n_scores)]


def plan_inputs(preds_src: Source, labels_src: Source, opts: Options) -> Plan:
    """Decide how to read the two sources, from their columns and first chunks: a chain of
    steps, each returning one decision and the notes that explain it."""
    check_id_column(preds_src, labels_src, opts)
    notes: list[Note] = []

    def take(decided: Decided[T]) -> T:
        notes.extend(decided.notes)
        return decided.value

    take(header_rows(preds_src, labels_src))
    preds = take(prediction_head(preds_src, opts))
    labels = take(label_head(labels_src, opts, preds, preds_src))
    take(row_alignment(preds_src, labels_src, opts))
    choice = take(task_of(preds, labels, opts, labels_src.name))
    label_cols = take(soft_label_order(choice, preds, labels, labels_src))
    kind = take(kind_of(preds, opts))
    return Plan(
        task=choice.task,
        label_mode=choice.mode,
        pred_cols=preds.columns,
        label_cols=label_cols,
        id_col=opts.id_col,
        n_scores=preds.n_scores,
        classes=class_names(choice, preds),
        kind=kind,
        kind_auto=opts.kind is None,
        nan=opts.nan,
        binary_values=choice.binary_values,
        notes=notes,
        allow_unmatched=opts.allow_unmatched,
        class_axis=opts.class_axis,
    )


def classes_on_axis_1(preds: np.ndarray, axis: int, notes: list[Note] | None = None) -> np.ndarray:
    """Move the class axis of an N-d prediction array to position 1, torch's layout."""
    if axis == 1:
        return preds
    if preds.ndim < 3:
        raise UsageError(f"--class-axis applies to N-d predictions; these have shape {preds.shape}")
    if not -preds.ndim < axis < preds.ndim or axis in (0, -preds.ndim):
        raise UsageError(
            f"--class-axis {axis} is not a class axis of predictions with shape "
            f"{preds.shape}; give 1..{preds.ndim - 1} or -1 for the last"
        )
    if notes is not None:
        notes.append(
            Note(
                f"classes read from axis {axis}", "--class-axis given; moved to axis 1 as in torch"
            )
        )
    return np.moveaxis(preds, axis, 1)


def _decide_task(
    preds0: np.ndarray,
    labels0: np.ndarray,
    numeric: bool,
    n_scores: int,
    pred_cols: list[str] | None,
    label_cols: list[str] | None,
    name: str,
    notes: list[Note],
    *,
    multioutput: bool = False,
    class_labels: ClassLabels | None = None,
) -> tuple[Task, LabelMode, tuple[Any, Any] | None]:
    if preds0.ndim >= 3:
        if not numeric or labels0.shape[1:] != preds0.shape[2:]:
            hint = ""
            if labels0.shape[1:] == preds0.shape[1:-1]:
                hint = "; channels-last predictions (N, ..., C)? pass --class-axis -1"
            raise InputError(
                f"dense predictions {tuple(preds0.shape[1:])} per sample need integer class "
                f"maps of shape {tuple(preds0.shape[2:])} per sample; got labels of shape "
                f"{tuple(labels0.shape[1:])}{hint}"
            )
        notes.append(
            Note(
                f"dense task: {n_scores} classes on axis 1",
                "predictions (N, C, d1, ...) against labels (N, d1, ...), as in torch",
            )
        )
        return Task.DENSE, LabelMode.INDEX, None
    if labels0.ndim > 2:
        raise InputError(
            f"{name}: labels of shape {tuple(labels0.shape)} need predictions (N, C, d1, ...) "
            f"with classes on axis 1; these predictions are {tuple(preds0.shape)}. Give one label "
            "per row (N,) or one column per class (N, C)"
        )
    n_label_cols = 1 if labels0.ndim == 1 else int(labels0.shape[1])
    if n_label_cols > 1:
        if n_label_cols != n_scores:
            raise InputError(
                f"{n_label_cols} label columns against {n_scores} prediction columns; soft "
                "labels and multi-output targets need one label column per prediction column"
            )
        if not numeric:
            raise InputError(f"{name}: label columns must be numbers")
        if multioutput:
            notes.append(
                Note(
                    f"multioutput task: {n_label_cols} label columns, one target per output",
                    "several label columns and every loss compares numbers",
                )
            )
            return Task.MULTIOUTPUT, LabelMode.SOFT, None
        notes.append(_soft_label_note(labels0, n_label_cols))
        return Task.DISTRIBUTION, LabelMode.SOFT, None
    if not numeric:
        if n_scores == 1:
            values = _binary_values(labels0, name)
            if values is None:
                raise InputError(
                    f"{name}: labels are text with more than two values but there is one "
                    "prediction column; multiclass needs one prediction column per class"
                )
            notes.append(
                Note(
                    f"binary task: {values[1]!r} is the positive class",
                    "two label values; the larger in sorted order is positive (as scikit-learn)",
                )
            )
            return Task.BINARY, LabelMode.BINARY, values
        if pred_cols is None:
            raise InputError(
                f"{name}: labels are class names but the predictions have no column names to "
                "match them; give class indices 0..C-1 or a table with class-named columns"
            )
        notes.append(
            Note(
                f"multiclass task: {n_scores} classes",
                "labels are class names matched to the prediction columns",
            )
        )
        return Task.MULTICLASS, LabelMode.NAME, None
    if n_scores == 1:
        values = _binary_values(labels0.astype(np.float64), name)
        if values is None:
            distinct = np.unique(labels0[np.isfinite(labels0)])
            why = (
                f"one prediction column and every label is {distinct[0]:g}; a binary task "
                "needs two label values"
                if len(distinct) == 1
                else "one prediction column and labels with more than two values"
            )
            notes.append(Note("regression task", why))
            return Task.REGRESSION, LabelMode.VALUES, None
        why = "one prediction column and labels in {0, 1}"
        if values != (0.0, 1.0):
            why = (
                f"one prediction column and two label values; {values[0]:g} is negative, "
                f"{values[1]:g} positive"
            )
        notes.append(Note("binary task", why))
        return Task.BINARY, LabelMode.BINARY, values
    finite = labels0[np.isfinite(labels0)]
    if (finite != np.round(finite)).any():
        raise InputError(
            f"{name}: labels are not whole numbers but there are {n_scores} prediction columns; "
            f"give class indices 0..{n_scores - 1} or class names"
        )
    mode = _numeric_class_reading(finite, pred_cols, n_scores, class_labels, name)
    named = f" ({', '.join(pred_cols[:3])}{', ...' if n_scores > 3 else ''})" if pred_cols else ""
    how = (
        "labels are class indices into the prediction columns"
        if mode is LabelMode.INDEX
        else "labels are class names: the prediction columns' headers"
    )
    notes.append(Note(f"multiclass task: {n_scores} classes{named}", how))
    return Task.MULTICLASS, mode, None


def _numeric_class_reading(
    labels: np.ndarray,
    pred_cols: list[str] | None,
    n_scores: int,
    choice: ClassLabels | None,
    name: str,
) -> LabelMode:
    """Whole-number labels against columns: indices 0..C-1, or names when the headers are
    numbers too (scikit-learn's reading); asks when both readings fit the labels."""
    if choice is not None:
        if choice is ClassLabels.NAME and pred_cols is None:
            raise UsageError("--class-labels name needs prediction columns with headers")
        return LabelMode.NAME if choice is ClassLabels.NAME else LabelMode.INDEX
    numbered = pred_cols is not None and all(c.strip().lstrip("-").isdigit() for c in pred_cols)
    if not numbered or pred_cols == [str(i) for i in range(n_scores)]:
        return LabelMode.INDEX
    values = {int(v) for v in np.unique(labels)}
    as_names = {str(v) for v in values} <= {c.strip() for c in pred_cols or ()}
    as_index = all(0 <= v < n_scores for v in values)
    if as_names and as_index:
        raise UsageError(
            f"{name}: the labels ({', '.join(map(str, sorted(values)[:5]))}) are whole numbers "
            f"and the prediction columns are named by numbers ({', '.join((pred_cols or [])[:5])})"
            ": are the labels positions 0..C-1 or column names? pass --class-labels index or "
            "--class-labels name (scikit-learn reads them as names)"
        )
    return LabelMode.NAME if as_names else LabelMode.INDEX


Chunk = TableChunk | np.ndarray


def chunk_len(chunk: Chunk) -> int:
    """Rows in a chunk of a table (a dict of columns) or of an array."""
    if isinstance(chunk, dict):
        return len(next(iter(chunk.values())))
    return int(chunk.shape[0])
