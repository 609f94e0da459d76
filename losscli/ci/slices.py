"""``check`` per slice (``--group-by``): ``--slice-max`` ceilings for every slice, and
``--max-increase`` for every slice the baseline holds too, with ``--significant`` judged by
Welch's test per slice and Holm–Bonferroni across every (slice, loss) test.

A slice on one side only (in this run or in the baseline) is a warning, never a pass or a
fail; so is a slice under ``--min-slice-size``, whose values are hidden. Outcomes name the
slice: ``ce [lang=de]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from losscli.ci.checks import (
    Baseline,
    Outcome,
    Rules,
    _ceiling,
    _increase,
    baseline_from_json,
)
from losscli.ci.config import Settings
from losscli.engine.results import LossResult, Report
from losscli.engine.slices import key_text
from losscli.errors import InputError, UsageError
from losscli.stats import Difference, holm, welch_difference

SLICE_MAX = "slice_max"
SliceBaselines = dict[str, dict[str, Baseline]]


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
    if s.group_by and s.baseline_preds is not None:
        raise UsageError(
            "--group-by with --baseline-preds is not supported; compute the baseline with "
            "'losscli compute OLD LABELS --group-by ... --format json' and pass --baseline"
        )


def _slice_max(name: str, r: LossResult, ceiling: float) -> Outcome:
    outcome = _ceiling(f"{r.loss} [{name}]", r.value, ceiling, str(ceiling))
    return replace(outcome, rule=SLICE_MAX)


def slice_outcomes(
    report: Report,
    rules: Rules,
    slice_max: Mapping[str, float],
    baseline_doc: Any,
    source: str,
) -> tuple[list[Outcome], list[str]]:
    """Every per-slice rule's outcome, and the warnings (one-sided or hidden slices)."""
    if not report.group_by:
        return [], []
    baselines = None if baseline_doc is None else slice_baselines_from_json(baseline_doc, source)
    warnings: list[str] = []
    current = {}
    for s in report.slices:
        name = key_text(report.group_by, s.values)
        if s.hidden:
            warnings.append(f"slice {name} ({s.n} rows) is under --min-slice-size: not checked")
        else:
            current[name] = s
    outcomes = [
        _slice_max(name, r, slice_max[r.loss])
        for name, s in current.items()
        for r in s.results
        if r.loss in slice_max
    ]
    if baselines is None or not rules.max_increase:
        if rules.max_increase and report.slices:
            warnings.append(f"{source} has no slices: increases are checked overall only")
        return outcomes, warnings
    warnings += [
        f"slice {n} is only in {source}: not checked" for n in baselines if n not in current
    ]
    pairs = []
    for name, s in current.items():
        base = baselines.get(name)
        if base is None:
            warnings.append(f"slice {name} is not in {source}: its increase is not checked")
            continue
        pairs += [(name, r, base[r.loss]) for r in s.results if r.loss in base]
    outcomes += _increases(pairs, rules)
    return outcomes, warnings


def _increases(pairs: list[tuple[str, LossResult, Baseline]], rules: Rules) -> list[Outcome]:
    """Increase rules per (slice, loss); with --significant, Welch's test per pair and
    Holm–Bonferroni across all of them."""
    tests: list[Difference | None] = []
    for _, r, b in pairs:
        tol = rules.tolerance(r.loss)
        if tol is None or not rules.significant:
            tests.append(None)
            continue
        if b.std is None or b.n < 2 or r.n < 2:
            raise InputError(
                f"{r.loss}: a slice has fewer than 2 rows or no std, so its increase "
                "cannot be tested; raise --min-slice-size or drop --significant"
            )
        tests.append(welch_difference(b.value, b.std, b.n, r.value, r.std, r.n))
    p = [
        d.test(tol.allowed(b.value)).p_value
        for d, (_, r, b) in zip(tests, pairs, strict=True)
        if d is not None and (tol := rules.tolerance(r.loss)) is not None
    ]
    adjusted = iter(holm(p)) if p else iter(())
    out = []
    for d, (name, r, b) in zip(tests, pairs, strict=True):
        tol = rules.tolerance(r.loss)
        if tol is None:
            continue
        p_holm = next(adjusted) if d is not None else math.nan
        out.append(_increase(f"{r.loss} [{name}]", r.value, b, tol, d, p_holm))
    return out
