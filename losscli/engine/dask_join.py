"""``--engine dask --id-col NAME``: the rows of the two inputs matched by Dask's own merge.

Each shard becomes a partition of a Dask DataFrame read by losscli's reader (the id as the
text the local join compares, the predictions' row numbers, the columns the plan reads);
``dask.dataframe.merge`` (an outer merge with an indicator) brings each id's rows into one
partition, and every merged partition runs the local evaluate loop on its matched rows in
row order. Duplicate ids and ids of one file only are counted in every partition and reported
as the local join reports them (exit 3, or a note with ``--join inner``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.engine.distributed import (
    DaskEngine,
    PartError,
    PartResult,
    Settings,
    client_of,
    combine,
    evaluated,
    first_rows,
    parts_of,
)
from losscli.engine.evaluate import Evaluation
from losscli.errors import InputError, LossCliError, UsageError
from losscli.interpret.align import BatchStream
from losscli.interpret.join import _key_strings, _only_parts, _Problems, _raise_problems, _shown_ids
from losscli.interpret.meta import LABELS, PREDS
from losscli.interpret.plan import Note
from losscli.io.shards import Part
from losscli.io.sources import ColumnKind, Header, Source, TableSource

KEY, ID, ROW, MERGE = "__key", "__id", "__row", "_merge"
# pandas' merge indicator values (what ``indicator=True`` writes in MERGE)
LEFT_ONLY, RIGHT_ONLY, BOTH = "left_only", "right_only", "both"
_SHOW = 5
# Conversions with a fixed dtype (module constants: mutmut leaves them alone; a dropped dtype
# gave the same DataFrame, tests/mutation/dask-engine.md): the id keys as Python strings,
# the prediction rows' numbers.
_objects = functools.partial(np.asarray, dtype=object)
# Dask's planning dtype of a column of each kind (text: object), and the options of a run.
_META_DTYPE = {ColumnKind.NUMBER: np.float64}
_DASK_CONFIG = {"dataframe.convert-string": False}
_int64_range = functools.partial(np.arange, dtype=np.int64)


@dataclass
class Joined:
    """A run of merged partitions: its result, and the id problems seen so far."""

    result: PartResult | PartError
    problems: _Problems = field(default_factory=_Problems)
    matched: int = 0


def _columns(settings: Settings, side: str) -> list[str]:
    plan = settings.plan
    cols = plan.pred_cols if side == PREDS else plan.label_cols
    extra = settings.meta_plan.on(side) if settings.meta_plan is not None else []
    return [*(cols or []), *extra]


def _frame(part: Part, first_row: int, side: str, settings: Settings) -> Any:
    """One shard as a pandas DataFrame: the id's key text, the id, (row numbers,) columns."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    src = part.open(settings.chunk_rows)
    assert isinstance(src, TableSource)
    id_col = settings.plan.id_col
    assert id_col is not None
    cols = _columns(settings, side)
    chunks = list(src.chunks([*cols, id_col]))
    if not chunks:  # a shard with a header and no rows
        return _meta(src, side, settings)
    joined = {c: np.concatenate([ch[c] for ch in chunks]) for c in [*cols, id_col]}
    ids = joined[id_col]
    keys = _key_strings(pa.array(ids, from_pandas=True))
    blank = pc.or_(pc.equal(pc.utf8_length(keys), 0), pc.utf8_is_space(keys)).fill_null(True)
    if pc.any(blank).as_py():
        bad = np.flatnonzero(np.asarray(blank))[:_SHOW] + first_row
        raise InputError(
            f"{src.name}: the id column {id_col!r} has empty values (rows "
            f"{', '.join(map(str, bad))}); every row needs an id to be matched"
        )
    frame = {KEY: _objects(keys.to_pylist())}
    if side == PREDS:
        frame[ID] = _shown_ids(ids).astype(object)  # whole-number float ids as integers
        frame[ROW] = _int64_range(first_row, first_row + len(ids))
    frame.update({f"{side}:{c}": joined[c] for c in cols})
    return pd.DataFrame(frame)


def _meta(src: TableSource, side: str, settings: Settings) -> Any:
    """The empty frame ``_frame`` returns, with its dtypes (Dask's ``meta``)."""
    import pandas as pd

    dtypes: dict[str, Any] = {KEY: object}
    if side == PREDS:
        dtypes |= {ID: object, ROW: np.int64}
    for c in _columns(settings, side):
        kind = src.kinds[c]
        if kind is ColumnKind.SCORES:
            raise UsageError(
                f"column {c!r} holds a list of scores per row; --engine dask --id-col reads "
                "one number or text per column (use --engine local)"
            )
        # Dask plans with these; enforce_metadata=False never checks them (the pragma: see
        # tests/mutation/dask-engine.md)
        dtypes[f"{side}:{c}"] = _META_DTYPE.get(kind, object)  # pragma: no mutate
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})


def _no_rows(_: Any) -> Any:
    """The stand-in source's row reader: never called (pragma: tests/mutation/dask-engine.md)."""
    return iter(())  # pragma: no mutate


def _named(name: str) -> TableSource:
    """A stand-in source that only names a side in messages (the rows come from the merge):
    its format, header and row count are never read (pragma: tests/mutation/dask-engine.md)."""
    return TableSource(name, "", [], {}, Header(True), 0, _no_rows, _no_rows)  # pragma: no mutate


def _problems(frame: Any, names: tuple[str, str]) -> tuple[_Problems, Any]:
    """The duplicate and one-sided ids of one merged partition, and its matched rows."""
    problems = _Problems()
    left = frame[frame[MERGE] != RIGHT_ONLY]
    rows_per_key = left.groupby(KEY)[ROW].nunique()  # >= 1: every left row has its row number
    dup_p = rows_per_key[rows_per_key > 1]
    if len(dup_p):
        problems.add("dup", names[0], list(dup_p.index[:_SHOW]), int((dup_p - 1).sum()))
    labelled = frame[frame[MERGE] != LEFT_ONLY]
    n_rows = labelled.groupby(KEY).size()
    # An outer merge gives a key of p prediction rows and l label rows p·l rows: l copies.
    copies = np.floor_divide(n_rows, rows_per_key.reindex(n_rows.index).fillna(1))
    dup_l = copies[copies > 1]
    if len(dup_l):
        problems.add("dup", names[1], list(dup_l.index[:_SHOW]), int((dup_l - 1).sum()))
    for side, kind in ((names[0], LEFT_ONLY), (names[1], RIGHT_ONLY)):
        only = frame.loc[frame[MERGE] == kind, KEY]
        if len(only):
            problems.add("only", side, list(only[:_SHOW]), len(only))
    # the matched rows' numbers are distinct (a duplicated id's partition is not evaluated)
    return problems, frame[frame[MERGE] == BOTH].sort_values(ROW)


def evaluate_merged(frame: Any, index: int, names: tuple[str, str], settings: Settings) -> Joined:
    """One merged partition through the local evaluate loop, on a worker."""
    try:
        problems, matched = _problems(frame, names)
        if problems.count.get(("dup", names[0])) or problems.count.get(("dup", names[1])):
            matched = matched.iloc[:0]  # reported as duplicates; nothing to evaluate
        sides = _named(names[0]), _named(names[1])
        # chunk rows and meta of the stand-ins: never read (meta is set next)
        stream = BatchStream(*sides, settings.plan, 0, None)  # pragma: no mutate
        stream.meta = settings.meta_plan
        batches = _batches(stream, matched, settings)
        result = evaluated(index, batches, settings, True, stream)
        return Joined(result, problems, len(matched))
    except LossCliError as exc:
        return Joined(PartError(int(exc.exit_code), str(exc)))


def _batches(stream: BatchStream, matched: Any, settings: Settings) -> Any:
    """The matched rows in chunks of ``chunk_rows``, converted as the local join's are."""
    p_cols, l_cols = _columns(settings, PREDS), _columns(settings, LABELS)
    step = settings.chunk_rows
    for start in range(0, len(matched), step):
        part = matched.iloc[start : start + step]
        pc = {c: part[f"{PREDS}:{c}"].to_numpy() for c in p_cols}
        lc = {c: part[f"{LABELS}:{c}"].to_numpy() for c in l_cols}
        ids = _shown_ids(np.asarray(part[ID].to_numpy()))
        yield from stream.convert(pc, lc, part[ROW].to_numpy(), ids)


def combine_joined(left: Joined, right: Joined) -> Joined:
    """Two runs of merged partitions as one (rows are the run's own: nothing to shift)."""
    for (kind, side), examples in right.problems.shown.items():
        left.problems.add(kind, side, examples, right.problems.count[kind, side])
    return Joined(combine(left.result, right.result), left.problems, left.matched + right.matched)


def run_joined(
    preds_src: Source, labels_src: Source, settings: Settings, engine: DaskEngine
) -> tuple[Evaluation, int]:
    """``--id-col`` on Dask: both inputs as Dask DataFrames, merged on the id's text."""
    import dask
    import dask.dataframe as dd

    assert isinstance(preds_src, TableSource) and isinstance(labels_src, TableSource)
    preds, labels = parts_of(preds_src, "predictions"), parts_of(labels_src, "labels")
    names = (preds_src.name, labels_src.name)
    # the pragma: Dask's string conversion off changes no value (tests/mutation/dask-engine.md)
    with client_of(engine) as client, dask.config.set(_DASK_CONFIG):  # pragma: no mutate
        starts = first_rows(client, preds_src, preds, settings, True)
        frames = [
            dd.from_map(
                _frame,
                parts,
                offsets,
                side=side,
                settings=settings,
                meta=_meta(src, side, settings),
                enforce_metadata=False,  # pragma: no mutate
            )
            for parts, side, offsets, src in (
                (preds, PREDS, starts, preds_src),
                (labels, LABELS, [0] * len(labels), labels_src),
            )
        ]
        merged = dd.merge(
            frames[0],
            frames[1],
            on=KEY,  # pragma: no mutate (the only column the two sides share)
            how="outer",
            indicator=True,
        )
        tasks = [
            dask.delayed(evaluate_merged)(part, i, names, settings)
            for i, part in enumerate(merged.to_delayed())
        ]
        while len(tasks) > 1:
            pairs = [tasks[i : i + 2] for i in range(0, len(tasks), 2)]
            tasks = [dask.delayed(combine_joined)(*p) if len(p) == 2 else p[0] for p in pairs]
        total: Joined = client.compute(tasks[0]).result()
    return _checked(total, names, settings)


def _checked(total: Joined, names: tuple[str, str], settings: Settings) -> tuple[Evaluation, int]:
    """The merged result, or the local join's error for duplicate and one-sided ids."""
    if isinstance(total.result, PartError):
        total.result.raise_it()
    assert isinstance(total.result, PartResult) and settings.plan.id_col is not None
    _raise_problems(total.problems, names, settings.plan.id_col)
    parts = _only_parts(total.problems, names)
    if parts and not settings.plan.allow_unmatched:
        raise InputError(
            f"{'; '.join(parts)}; pass --join inner to evaluate the ids present in both files"
        )
    if parts:
        what = f"evaluated the {total.matched} ids in both files"
        settings.plan.notes.append(Note(what, f"--join inner; {'; '.join(parts)}"))
    if not total.matched:
        raise InputError(f"no id appears in both {names[0]} and {names[1]}")
    return total.result.evaluation, total.result.skipped
