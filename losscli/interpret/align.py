"""Streaming the two inputs as aligned, converted ``Batch`` objects, by row order or by id.

Rows are matched by position (two streams read side by side in chunks, with a clear error
when the lengths differ) or by ``--id-col`` (``losscli.interpret.join``: an external hash
join in bounded memory). Each chunk is converted to the plan's label mode, NaN rows are
refused or skipped as the plan says.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from losscli.errors import InputError
from losscli.interpret.join import IdJoin
from losscli.interpret.meta import LABELS, META, PREDS, MetaPlan, MetaRows
from losscli.interpret.plan import (
    Batch,
    Chunk,
    Kind,
    LabelMode,
    NanPolicy,
    Note,
    Plan,
    chunk_len,
    classes_on_axis_1,
    one_column,
    stack_columns,
)
from losscli.io.prefetch import prefetch
from losscli.io.sources import ArraySource, Source, TableChunk, TableSource


def _chunk_slice(chunk: Chunk, start: int, stop: int | None = None) -> Chunk:
    if isinstance(chunk, dict):
        return {k: v[start:stop] for k, v in chunk.items()}
    return chunk[start:stop]


def _iter_chunks(src: Source, cols: list[str] | None) -> Iterator[Chunk]:
    if isinstance(src, ArraySource):
        yield from map(one_column, src.chunks())
    else:
        yield from src.chunks(cols or [])


def _next_nonempty(it: Iterator[Chunk]) -> Chunk | None:
    for chunk in it:
        if chunk_len(chunk):
            return chunk
    return None


def _row_aligned(
    a: Source, a_cols: list[str] | None, b: Source, b_cols: list[str] | None
) -> Iterator[tuple[Chunk, Chunk]]:
    """Pairs of equally long chunks of two sources read in row order; errors on a length gap."""
    if a.n_rows is not None and b.n_rows is not None and a.n_rows != b.n_rows:
        raise InputError(_length_message(a, a.n_rows, b, b.n_rows))
    it_a, it_b = prefetch(_iter_chunks(a, a_cols)), prefetch(_iter_chunks(b, b_cols))
    left_a: Chunk | None = None
    left_b: Chunk | None = None
    seen = 0
    while True:
        left_a = left_a if left_a is not None and chunk_len(left_a) else _next_nonempty(it_a)
        left_b = left_b if left_b is not None and chunk_len(left_b) else _next_nonempty(it_b)
        if left_a is None and left_b is None:
            return
        if left_a is None or left_b is None:
            rest_a = sum(map(chunk_len, it_a)) + (chunk_len(left_a) if left_a is not None else 0)
            rest_b = sum(map(chunk_len, it_b)) + (chunk_len(left_b) if left_b is not None else 0)
            raise InputError(_length_message(a, seen + rest_a, b, seen + rest_b))
        take = min(chunk_len(left_a), chunk_len(left_b))
        yield _chunk_slice(left_a, 0, take), _chunk_slice(left_b, 0, take)
        seen += take
        left_a, left_b = _chunk_slice(left_a, take), _chunk_slice(left_b, take)


def _length_message(a: Source, n_a: int, b: Source, n_b: int) -> str:
    hint = ""
    for src, n, other in ((a, n_a, n_b), (b, n_b, n_a)):
        if isinstance(src, TableSource) and src.header.ambiguous and n == other + 1:
            hint = f"; if the first row of {src.name} is a header, pass --header"
    return (
        f"{a.name} has {n_a} rows but {b.name} has {n_b}; rows are matched by position, so "
        f"both files need one row per sample (or pass --id-col NAME to match by id){hint}"
    )


def _code_groups(meta: MetaPlan, preds_src: Source, labels_src: Source, plan: Plan) -> None:
    """Ask the readers for the group columns as ``Coded`` (decoded once per chunk), but a
    column that is also read as predictions or labels."""
    used = {*(plan.pred_cols or []), *(plan.label_cols or [])}
    for side, src in ((PREDS, preds_src), (LABELS, labels_src), (META, meta.meta_src)):
        if isinstance(src, TableSource):
            groups = set(meta.columns.groups) & set(meta.on(side))
            src.coded |= groups - used if side != META else groups


class BatchStream:
    """Iterates aligned ``Batch`` objects; ``skipped`` counts rows dropped by ``--nan skip``."""

    def __init__(
        self,
        preds_src: Source,
        labels_src: Source,
        plan: Plan,
        chunk_rows: int,
        meta: MetaPlan | None = None,
    ):
        self.preds_src, self.labels_src, self.plan = preds_src, labels_src, plan
        self.chunk_rows = chunk_rows
        self.skipped = 0
        self.n_rows = 0
        self._name_index = {name: i for i, name in enumerate(plan.classes)}
        self.meta = meta
        if meta is not None:
            _code_groups(meta, preds_src, labels_src, plan)

    def _read_cols(self, cols: list[str] | None, side: str) -> list[str] | None:
        """A file's columns to read: its predictions or labels and its per-row columns."""
        extra = self.meta.on(side) if self.meta is not None else []
        return [*(cols or []), *extra] if extra else cols

    def __iter__(self) -> Iterator[Batch]:
        plan = self.plan
        rest = (
            MetaRows(self.meta, plan.id_col)
            if self.meta is not None and self.meta.meta_src is not None
            else None
        )
        pred_cols = self._read_cols(plan.pred_cols, PREDS)
        label_cols = self._read_cols(plan.label_cols, LABELS)
        if plan.id_col is not None:
            assert pred_cols is not None and label_cols is not None
            assert isinstance(self.preds_src, TableSource)
            assert isinstance(self.labels_src, TableSource)
            join = IdJoin(
                self.preds_src,
                self.labels_src,
                plan.id_col,
                pred_cols,
                label_cols,
                plan.allow_unmatched,
            )
            for p_cols, l_cols, rows, ids in join.chunks(self.chunk_rows):
                yield from self._convert(p_cols, l_cols, rows, ids, rest)
            plan.notes.extend(Note(what, why) for what, why in join.notes)
            return
        start = 0
        for pc, lc in _row_aligned(self.preds_src, pred_cols, self.labels_src, label_cols):
            n = chunk_len(pc)
            yield from self._convert(pc, lc, np.arange(start, start + n), None, rest)
            start += n
        if rest is not None:
            rest.finish(start)

    def convert(
        self, pc: Chunk, lc: Chunk, rows: np.ndarray, ids: np.ndarray | None
    ) -> Iterator[Batch]:
        """Batches of rows already matched elsewhere (``--engine dask``: Dask's merge)."""
        return self._convert(pc, lc, rows, ids)

    def _meta(
        self, pc: Chunk, lc: Chunk, rows: np.ndarray, ids: np.ndarray | None, rest: MetaRows | None
    ) -> TableChunk | None:
        """The batch's per-row columns, from whichever file holds each."""
        if self.meta is None:
            return None
        out = {}
        for side, chunk in ((PREDS, pc), (LABELS, lc)):
            if isinstance(chunk, dict):
                out.update({c: chunk[c] for c in self.meta.on(side)})
        if rest is not None:
            out.update(rest.take(rows, ids))
        return out

    def _convert(
        self,
        pc: Chunk,
        lc: Chunk,
        rows: np.ndarray,
        ids: np.ndarray | None,
        rest: MetaRows | None = None,
    ) -> Iterator[Batch]:
        plan = self.plan
        meta = self._meta(pc, lc, rows, ids, rest)
        preds = stack_columns(pc, plan.pred_cols) if isinstance(pc, dict) and plan.pred_cols else pc
        preds = np.asarray(preds)
        if preds.dtype.kind not in "biuf":
            raise InputError(f"{self.preds_src.name}: predictions must be numbers")
        # float32 logits stay float32 (no cast of the chunk): the cross-entropy kernels read them
        # as they are, and the engine casts for the other losses (engine.prepare.on_kernels).
        keep = preds.dtype == np.float32 and plan.kind is Kind.LOGITS
        preds = classes_on_axis_1(
            preds.astype(np.float64, copy=False) if not keep else preds, plan.class_axis
        )
        if isinstance(lc, dict) and plan.label_cols:
            cols = plan.label_cols
            labels = lc[cols[0]] if len(cols) == 1 else np.column_stack([lc[c] for c in cols])
        else:
            labels = np.asarray(lc)
        numeric = labels.dtype.kind in "biuf"
        bad_pred = ~np.isfinite(preds.reshape(len(preds), -1)).all(axis=1)
        if numeric:
            labels = labels.astype(np.float64, copy=False)
            bad_label = ~np.isfinite(labels.reshape(len(labels), -1)).all(axis=1)
        else:
            labels = labels.astype(object, copy=False)
            bad_label = np.array([v is None for v in labels.reshape(len(labels), -1)[:, 0]])
        bad = bad_pred | bad_label
        batch = Batch(preds, labels, None, rows, ids, meta)
        if bad.any():
            if plan.nan is NanPolicy.ERROR:
                which = "predictions" if bad_pred.any() else "labels"
                first = bad_pred if bad_pred.any() else bad_label
                src = self.preds_src if bad_pred.any() else self.labels_src
                raise InputError(
                    f"{src.name}: NaN, infinite or empty {which} at {batch.where(first)}; fix "
                    "the file or pass --nan skip to leave those rows out"
                )
            self.skipped += int(bad.sum())
            keep = ~bad
            batch = Batch(
                preds[keep],
                labels[keep],
                None,
                rows[keep],
                None if ids is None else ids[keep],
                None if meta is None else {c: v[keep] for c, v in meta.items()},
            )
            if not len(batch):
                return
        self.n_rows += len(batch)
        yield self._labels(batch)

    def _labels(self, batch: Batch) -> Batch:
        """Convert labels to the plan's label mode (raw numbers kept for value losses)."""
        plan, labels = self.plan, batch.labels
        raw = labels if labels.dtype.kind == "f" else None
        mode = plan.label_mode
        if mode is LabelMode.BINARY:
            # A value other than the two seen in the file's head becomes NaN here: value
            # losses (mse on 0/1 labels) still read the raw labels, class losses refuse it.
            assert plan.binary_values is not None
            neg, pos = plan.binary_values
            converted: np.ndarray = np.where(
                labels == pos, 1.0, np.where(labels == neg, 0.0, np.nan)
            )
        elif mode is LabelMode.INDEX:
            fractional = labels != np.round(labels)
            if fractional.any():
                raise InputError(
                    f"{self.labels_src.name}: class labels must be whole numbers; "
                    f"{batch.where(fractional.reshape(len(labels), -1).any(axis=1))} "
                    f"holds {labels[fractional][0]!r}"
                )
            converted = labels.astype(np.int64)
        elif mode is LabelMode.NAME:
            index = self._name_index
            keys = labels.astype(np.int64).astype(str) if labels.dtype.kind == "f" else labels
            codes = np.fromiter(
                (index.get(str(v), -1) for v in keys), dtype=np.int64, count=len(labels)
            )
            unknown = codes < 0
            if unknown.any():
                name = labels[unknown][0]
                raise InputError(
                    f"{self.labels_src.name}: unknown class {name!r} at {batch.where(unknown)}; "
                    f"known classes (prediction columns): {', '.join(plan.classes)}"
                )
            converted = codes
        else:
            converted = labels
        return Batch(batch.preds, converted, raw, batch.rows, batch.ids, batch.meta)
