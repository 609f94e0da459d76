"""``compare --group-by COL``: paired differences of every model against the first, per slice.

The slices are those of ``compute --group-by`` (``losscli.engine.slices``: one value per group
column, several columns crossed, a missing value a slice of its own). Per slice key, the same
mergeable paired statistics as the overall comparison (``losscli.ci.paired.PairedStats``: the
paired moments, and the resampled sums for ``--test bootstrap|permutation``), so memory grows
with the number of slices, never with the rows. Every model must put a paired sample in the
same slice (they do when the group columns come from the labels or ``--meta``; columns read
from each model's own predictions file that disagree are an input error, exit 3).

Each slice's values are the models' values on the slice's paired samples: the engine's own
per-slice values (``compute --group-by``'s numbers) when every model has every sample, else
re-summed over the paired samples. Slices under ``--min-slice-size`` paired samples keep only
their count. Every shown (slice, loss, model) difference is tested; its p-value is adjusted
by Holm–Bonferroni over all of them (a family of its own, apart from the overall rows). The
worst-regressing slice comes first: the largest difference of the first loss, first model
compared.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from losscli.ci.paired import PairedStats, Testing
from losscli.engine.paired import Samples
from losscli.engine.slices import FLUSH_ROWS, SliceCoder, SliceKey, SliceValue, key_text
from losscli.errors import InputError
from losscli.losses import Reduce
from losscli.stats import Difference, holm


@dataclass
class SlicePairs:
    """One slice: its paired samples and, per model after the first and per loss, the paired
    statistics against the first model."""

    n: int
    stats: list[list[PairedStats]]

    def merge(self, other: SlicePairs) -> None:
        self.n += other.n
        for mine, theirs in zip(self.stats, other.stats, strict=True):
            for a, b in zip(mine, theirs, strict=True):
                a.merge(b)


@dataclass
class SlicedPairs:
    """Paired statistics per slice key; ``add`` aligned chunks, ``merge``, ``finalize``.

    Chunks are held until ``FLUSH_ROWS`` rows have come, then split by slice once (a stable
    sort of the slice numbers keeps each slice's samples in arrival order, so the resampled
    sums do not depend on the chunks)."""

    columns: tuple[str, ...]
    n_models: int
    n_losses: int
    testing: Testing = field(default_factory=Testing)
    slices: dict[SliceKey, SlicePairs] = field(default_factory=dict)
    coder: SliceCoder = field(init=False, repr=False)
    _pending: list[list[Samples]] = field(default_factory=list, repr=False)
    _rows: int = 0

    def __post_init__(self) -> None:
        self.coder = SliceCoder(self.columns)

    def add(self, parts: list[Samples]) -> None:
        """Add one chunk of aligned samples (one ``Samples`` per model, the same keys)."""
        self._pending.append(parts)
        self._rows += len(parts[0])
        if self._rows >= FLUSH_ROWS:
            self.flush()

    def _state(self, key: SliceKey) -> SlicePairs:
        state = self.slices.get(key)
        if state is None:
            stats = [
                [PairedStats(self.testing) for _ in range(self.n_losses)]
                for _ in range(self.n_models - 1)
            ]
            state = self.slices[key] = SlicePairs(0, stats)
        return state

    def flush(self) -> None:
        """Split the held chunks by slice and add each slice's samples to its statistics."""
        if not self._pending:
            return
        held, self._pending, self._rows = self._pending, [], 0
        models = [Samples.concat([p[m] for p in held], self.n_losses) for m in range(self.n_models)]
        codes = self.coder.codes(models[0].groups)
        for m, other in enumerate(models[1:], 1):
            self._same_slices(models[0], codes, other, m)
        order = np.argsort(codes, kind="stable")
        ranked = codes[order]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
        for start, stop in zip(starts, [*starts[1:], len(order)], strict=True):
            idx = order[start:stop]
            state = self._state(self.coder.keys[int(ranked[start])])
            state.n += len(idx)
            first = models[0].take(idx)
            for stats, other in zip(state.stats, models[1:], strict=True):
                update_pairs(stats, first, other.take(idx))

    def _same_slices(self, first: Samples, codes: np.ndarray, other: Samples, m: int) -> None:
        """Model m must put every paired sample in the first model's slice (a group column
        read from each model's own predictions file may say otherwise): else exit 3."""
        theirs = self.coder.codes(other.groups)
        differ = np.flatnonzero(theirs != codes)
        if not len(differ):
            return
        i = int(differ[0])
        a, b = (key_text(self.columns, self.coder.keys[int(c[i])]) for c in (codes, theirs))
        raise InputError(
            f"--group-by: sample {first.keys[i]} is in slice {a} by the first model's file "
            f"but in {b} by model {m + 1}'s (check --baseline-preds: the first is the "
            "baseline); the models must agree on the group columns: put them in LABELS or --meta"
        )

    def merge(self, other: SlicedPairs) -> None:
        """Add another part's slices (same models, losses and group columns), key by key."""
        self.flush()
        other.flush()
        for key, state in other.slices.items():
            self._state(key).merge(state)

    def finalize(self) -> dict[SliceKey, SlicePairs]:
        self.flush()
        return self.slices


def update_pairs(stats: list[PairedStats], first: Samples, other: Samples) -> None:
    """Each loss's paired accumulator given one model's samples against the first model's."""
    for j, acc in enumerate(stats):
        acc.update(
            first.keys,
            (first.values[j], first.weights[j]),
            (other.values[j], other.weights[j]),
            (first.shown[j], other.shown[j]),
        )


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class SliceDiff:
    """One model against the first on one slice and loss."""

    loss: str
    model: str
    baseline: float  # the first model's value on the slice
    candidate: float  # this model's value
    difference: Difference  # candidate − baseline, with its interval
    p_value: float
    better: float  # share of the slice's samples with a lower loss than the first model
    worse: float
    p_holm: float = math.nan  # adjusted by Holm over every (slice, loss, model)


@dataclass(frozen=True, slots=True)
class SliceRow:
    """One slice of the comparison: its group values, paired samples and differences
    (loss by loss, each model after the first); none when hidden (too few samples)."""

    values: tuple[SliceValue, ...]
    n: int
    diffs: tuple[SliceDiff, ...] = ()
    hidden: bool = False


def slice_rows(
    slices: Mapping[SliceKey, SlicePairs],
    specs: Sequence[tuple[str, Reduce]],
    models: Sequence[str],
    exact: Sequence[Mapping[SliceKey, tuple[float, ...]]] | None,
    min_size: int = 0,
) -> tuple[SliceRow, ...]:
    """The finished slice rows, worst-regressing first, Holm-adjusted, hidden ones last.

    ``exact[m][key]`` are model m's reported values of the slice (one per loss) when every
    model has every sample; None to re-sum them over the paired samples."""
    shown, hidden = [], []
    for key, state in slices.items():
        if state.n < min_size or state.n == 0:
            hidden.append(SliceRow(key, state.n, hidden=True))
            continue
        diffs = []
        for j, (loss, reduce) in enumerate(specs):
            for m, stats in enumerate(state.stats, 1):
                pair = None
                if exact is not None and key in exact[0] and key in exact[m]:
                    pair = (exact[0][key][j], exact[m][key][j])
                d = stats[j].finalize(reduce, exact=pair)
                base, cand = pair or stats[j].moments.values(reduce)
                better, worse = stats[j].moments.shares()
                p = d.test(0.0).p_value
                diffs.append(SliceDiff(loss, models[m], base, cand, d, p, better, worse))
        shown.append(SliceRow(key, state.n, tuple(diffs)))
    shown = _holm(shown)
    shown.sort(key=lambda r: (-_rank(r.diffs[0].difference.diff), _order(r.values)))
    hidden.sort(key=lambda r: (-r.n, _order(r.values)))
    return tuple(shown + hidden)


def _holm(rows: list[SliceRow]) -> list[SliceRow]:
    adjusted = iter(holm([d.p_value for r in rows for d in r.diffs]))
    return [
        replace(r, diffs=tuple(replace(d, p_holm=next(adjusted)) for d in r.diffs)) for r in rows
    ]


def _rank(value: float) -> float:
    return value if value == value else -math.inf  # NaN last


def _order(values: Sequence[SliceValue]) -> tuple[str, ...]:
    return tuple("" if v is None else f"~{v}" for v in values)
