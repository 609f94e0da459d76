"""``check`` per slice (``--group-by``): ``--slice-max`` ceilings for every slice, and
``--max-increase`` for every slice the baseline holds too.

The baseline of a slice is either a baseline JSON's slice (``compute --group-by ... --format
json``: value, n and std, so ``--significant`` is Welch's test) or, with ``--baseline-preds``,
the old model's predictions on the slice's samples, paired sample by sample with the compared
run's (the per-slice paired statistics of ``compare --group-by``,
``losscli.ci.compare_slices``: ``--significant`` is the paired test that ``--test`` names).
Either way the p-values are adjusted by Holm–Bonferroni across every (slice, loss) test, and
each rule's MDE is the slice's own (its n and std, or its paired or Welch standard error).

A slice on one side only (in this run or in the baseline) is a warning, never a pass or a
fail; so is a slice under ``--min-slice-size``, whose values are hidden. Outcomes name the
slice: ``ce [lang=de]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from losscli.ci.checks import (
    Baseline,
    Outcome,
    Rules,
    _ceiling,
    _increase,
    _value_mde,
    baseline_from_json,
)
from losscli.ci.compare_slices import SliceRow
from losscli.ci.config import Settings
from losscli.engine.results import LossResult, Report, SliceResult
from losscli.engine.slices import SliceValue, key_text
from losscli.errors import InputError, UsageError
from losscli.stats import Difference, holm, welch_difference

SLICE_MAX = "slice_max"
SliceBaselines = dict[str, dict[str, Baseline]]
SliceItems = tuple[tuple[str, SliceValue], ...]  # (group column, value) of one slice


def slice_baselines_from_json(doc: Any, source: str) -> SliceBaselines | None:
    """A baseline JSON's slices, by slice name (``lang=de``) and loss; None without slices."""
    if not isinstance(doc, dict) or not isinstance(doc.get("slices"), list):
        return None
    columns = doc.get("group_by")
    if not isinstance(columns, list):
        raise InputError(f"{source}: 'slices' without 'group_by'; recompute the baseline")
    out: SliceBaselines = {}
    for item in doc["slices"]:
        if not isinstance(item, dict) or not isinstance(item.get("slice"), dict):
            raise InputError(f"{source}: a slice without its 'slice' values; recompute it")
        if item.get("hidden"):
            continue
        values = tuple(item["slice"].get(c) for c in columns)
        doc_like = {"schema_version": doc.get("schema_version"), "results": item.get("results")}
        out[key_text(columns, values)] = baseline_from_json(doc_like, source)
    return out


def check_slice_rules(s: Settings, losses: list[str]) -> None:
    """Usage errors of the per-slice settings, before any file is read."""
    for key in s.slice_max:
        if key not in losses:
            raise UsageError(
                f"--slice-max names {key!r}, which is not among the losses ({', '.join(losses)}); "
                "the key is the spec exactly as given to --loss"
            )


@dataclass(frozen=True, slots=True)
class SliceIncrease:
    """One (slice, loss) increase to judge: the slice's value, its baseline and the
    difference with its spread (paired, or Welch's; None when there is no spread)."""

    name: str  # lang=de
    items: SliceItems
    loss: str
    value: float
    base: Baseline
    difference: Difference | None


def _slice_max(name: str, items: SliceItems, r: LossResult, ceiling: float) -> Outcome:
    outcome = _ceiling(f"{r.loss} [{name}]", r.value, ceiling, str(ceiling))
    return replace(outcome, rule=SLICE_MAX, mde=_value_mde(r), slice=items)


def slice_outcomes(
    report: Report,
    rules: Rules,
    slice_max: Mapping[str, float],
    baseline_doc: Any,
    source: str,
    paired: Sequence[SliceRow] | None = None,
) -> tuple[list[Outcome], list[str]]:
    """Every per-slice rule's outcome, and the warnings (one-sided or hidden slices).

    ``paired``: the slices of ``--baseline-preds`` paired with this run's (``compare``'s
    slice rows, this run the second model); else the baseline JSON ``baseline_doc``'s."""
    if not report.group_by:
        return [], []
    warnings: list[str] = []
    current: dict[str, SliceResult] = {}
    for s in report.slices:
        name = key_text(report.group_by, s.values)
        if s.hidden:
            warnings.append(f"slice {name} ({s.n} rows) is under --min-slice-size: not checked")
        else:
            current[name] = s
    outcomes = [
        _slice_max(name, _items(report.group_by, s), r, slice_max[r.loss])
        for name, s in current.items()
        for r in s.results
        if r.loss in slice_max
    ]
    if not rules.max_increase:
        return outcomes, warnings
    if paired is not None:
        increases, more = _paired_increases(report.group_by, current, paired, source)
    else:
        increases, more = _json_increases(report.group_by, current, baseline_doc, source)
    return outcomes + _increases(increases, rules), warnings + more


def _items(columns: Sequence[str], s: SliceResult | SliceRow) -> SliceItems:
    return tuple(zip(columns, s.values, strict=True))


def _json_increases(
    columns: Sequence[str], current: Mapping[str, SliceResult], doc: Any, source: str
) -> tuple[list[SliceIncrease], list[str]]:
    """The slices of a baseline JSON against this run's: Welch's difference from n and std."""
    baselines = None if doc is None else slice_baselines_from_json(doc, source)
    if baselines is None:
        return [], [f"{source} has no slices: increases are checked overall only"]
    warnings = [
        f"slice {name} is only in {source}: not checked"
        for name in baselines
        if name not in current
    ]
    out = []
    for name, s in current.items():
        base = baselines.get(name)
        if base is None:
            warnings.append(f"slice {name} is not in {source}: its increase is not checked")
            continue
        for r in s.results:
            b = base.get(r.loss)
            if b is None:
                continue
            d = None
            if b.std is not None and b.n > 1 and r.n > 1:
                d = welch_difference(b.value, b.std, b.n, r.value, r.std, r.n)
            out.append(SliceIncrease(name, _items(columns, s), r.loss, r.value, b, d))
    return out, warnings


def _paired_increases(
    columns: Sequence[str],
    current: Mapping[str, SliceResult],
    rows: Sequence[SliceRow],
    source: str,
) -> tuple[list[SliceIncrease], list[str]]:
    """The slices of ``--baseline-preds`` paired with this run's, sample by sample."""
    warnings, out, seen = [], [], set()
    for row in rows:
        name = key_text(columns, row.values)
        seen.add(name)
        if row.hidden:
            if name in current:
                warnings.append(
                    f"slice {name} has {row.n} paired rows, under --min-slice-size: "
                    "its increase is not checked"
                )
            continue
        if name not in current:
            warnings.append(f"slice {name} is only in {source}: not checked")
            continue
        for d in row.diffs:
            base = Baseline(d.loss, d.baseline, d.difference.n, None)
            diff = d.difference
            out.append(SliceIncrease(name, _items(columns, row), d.loss, d.candidate, base, diff))
    warnings += [
        f"slice {name} is not in {source}: its increase is not checked"
        for name in current
        if name not in seen
    ]
    return out, warnings


def _increases(items: Sequence[SliceIncrease], rules: Rules) -> list[Outcome]:
    """Increase rules per (slice, loss); with --significant, each pair's test and
    Holm–Bonferroni across all of them."""
    ruled = [(x, tol) for x in items if (tol := rules.tolerance(x.loss)) is not None]
    if rules.significant:
        for x, _ in ruled:
            if x.difference is None or math.isnan(x.difference.se):
                raise InputError(
                    f"{x.loss} [{x.name}]: the slice has fewer than 2 rows or no std, so its "
                    "increase cannot be tested; raise --min-slice-size or drop --significant"
                )
    p = [
        x.difference.test(tol.allowed(x.base.value)).p_value
        for x, tol in ruled
        if rules.significant and x.difference is not None
    ]
    adjusted = iter(holm(p))
    out = []
    for x, tol in ruled:
        d = x.difference if rules.significant else None
        p_holm = next(adjusted) if d is not None else math.nan
        outcome = _increase(f"{x.loss} [{x.name}]", x.value, x.base, tol, d, p_holm)
        mde = math.nan if x.difference is None else x.difference.mde
        out.append(replace(outcome, mde=mde, slice=x.items))
    return out
