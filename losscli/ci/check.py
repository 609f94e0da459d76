"""``losscli check`` as a function: rules, the baseline, how the runs are evaluated, and how
significance is judged, each a step of its own.

Usage problems (no rules, a rule naming no loss, a tolerance without a baseline) are raised
before any file is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from losscli.ci.baseline import Comparability, judge
from losscli.ci.checks import (
    ALL,
    ZERO,
    Baseline,
    CheckReport,
    Rules,
    baseline_from_json,
    baseline_from_results,
    evaluate_rules,
)
from losscli.ci.compare import Sources, paired_runs, reported_slices
from losscli.ci.compare_slices import SliceRow, slice_rows
from losscli.ci.config import Settings, settings_options
from losscli.ci.paired import Testing, TestMethod
from losscli.ci.slices import check_slice_rules, slice_outcomes
from losscli.engine.results import Report
from losscli.engine.run import run
from losscli.errors import InputError, UsageError
from losscli.interpret.onefile import one_file_options
from losscli.interpret.plan import Options
from losscli.io.paths import one_stdin, open_path, spill_folder, stdin_copy
from losscli.io.readers import DEFAULT_CHUNK_ROWS, Source, check_dialect
from losscli.io.remote import read_bytes, remote_url
from losscli.spec import LossSpec, parse_specs
from losscli.stats import Difference, welch_difference

if TYPE_CHECKING:
    from losscli.engine.distributed import DaskEngine


def check_rules(s: Settings, *, from_states: bool = False) -> Rules:
    """The rules the settings ask for, or a usage error when they cannot be checked.

    ``from_states``: the values come from saved states (``--state``), not from files."""
    one_file = bool(s.label_col) or s.labels_key is not None
    if not from_states and (s.preds is None or (s.labels is None and not one_file)):
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
    if s.slice_max and not s.group_by:
        raise UsageError("--slice-max needs --group-by COL: the slices it applies to")
    if not rules.max and not has_baseline and not s.slice_max:
        raise UsageError(
            "nothing to check: give --max SPEC=VALUE, or --baseline FILE.json "
            "(or --baseline-preds OLD) with --max-increase"
        )
    if rules.significant and not has_baseline:
        raise UsageError(
            "--significant judges an increase over a baseline; give --baseline or --baseline-preds"
        )
    return rules


def read_baseline(path: Path) -> dict[str, Baseline]:
    """A baseline JSON file written by ``losscli compute --format json``."""
    return baseline_from_json(_baseline_doc(path), _shown(path))


def _shown(path: Path | None) -> str:
    """A path as the user wrote it (a URL keeps its ``//``)."""
    return remote_url(path) or str(path)


def _baseline_doc(path: Path) -> Any:
    url = remote_url(path)
    try:
        text = path.read_text(encoding="utf-8") if url is None else read_bytes(url).decode()
        doc = json.loads(text)
    except FileNotFoundError:
        raise InputError(f"{_shown(path)}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{_shown(path)}: not a JSON file ({exc}); write it with "
            "'losscli compute ... --format json > FILE'"
        ) from None
    return doc


@dataclass
class Runs:
    """The current run, and the baseline's values and paired differences when the baseline
    is another predictions file."""

    report: Report
    baseline: dict[str, Baseline] | None = None
    differences: dict[str, Difference] = field(default_factory=dict)
    # --group-by with --baseline-preds: each slice's paired differences (compare's rows).
    slices: tuple[SliceRow, ...] | None = None


def _read_once(s: Settings, id_col: str | None, engine: DaskEngine | None) -> bool:
    """Whether each input is read in one pass (no baseline run, one-file mode, id join or
    Dask), so standard input streams instead of being copied."""
    return s.labels is not None and s.baseline_preds is None and id_col is None and not engine


def evaluate_runs(
    s: Settings,
    specs: list[LossSpec],
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    engine: DaskEngine | None = None,
) -> Runs:
    """Evaluate the predictions (and ``--baseline-preds`` on the same labels): one pass each,
    with both runs' per-sample terms when there are baseline predictions (for the paired
    test and each rule's minimum detectable effect)."""
    assert s.preds is not None  # check_rules made sure
    options = settings_options(s)
    with spill_folder() as folder:
        meta_path = None if s.meta is None else stdin_copy(s.meta, None, folder, "--meta")

        def meta() -> Source | None:  # a remote --meta is read from its local copy
            if meta_path is None or s.meta is None:
                return None
            return open_path(meta_path, s.meta, None, chunk_rows, s.dialect)

        meta_src = meta()
        once = _read_once(s, options.id_col, engine)
        preds_path = stdin_copy(s.preds, s.preds_format, folder, "--preds-format", stream=once)
        preds_src = open_path(preds_path, s.preds, s.preds_key, chunk_rows, s.dialect)
        labels = s.preds if s.labels is None else s.labels  # one-file mode: PREDS holds them
        labels_path = (
            preds_path
            if s.labels is None
            else stdin_copy(s.labels, s.labels_format, folder, "--labels-format", stream=once)
        )
        labels_src = open_path(labels_path, labels, s.labels_key, chunk_rows, s.dialect)
        check_dialect(s.dialect, [preds_path, labels_path])
        if s.labels is None:
            options = one_file_options(preds_src, options, s.labels_key)
        if s.baseline_preds is None:
            report = run(
                preds_src,
                labels_src,
                specs,
                options,
                top=0,
                chunk_rows=chunk_rows,
                meta_src=meta_src,
                min_slice_size=s.min_slice_size or 0,
                engine=engine,
            )
            return Runs(report)
        old_path = stdin_copy(s.baseline_preds, s.preds_format, folder, "--preds-format")
        paths = [(old_path, s.baseline_preds), (preds_path, s.preds)]

        def sources(m: int) -> Sources:
            return (
                open_path(*paths[m], s.preds_key, chunk_rows, s.dialect),
                open_path(labels_path, labels, s.labels_key, chunk_rows, s.dialect),
                meta(),
            )

        return _paired_runs(
            sources,
            specs,
            options,
            chunk_rows,
            Testing.of(s.test, s.bootstrap_samples, s.seed),
            by_row=s.id_col is None,
            min_slice_size=s.min_slice_size or 0,
        )


def _paired_runs(
    sources: Callable[[int], Sources],
    specs: list[LossSpec],
    options: Options,
    chunk_rows: int,
    testing: Testing,
    *,
    by_row: bool,
    min_slice_size: int = 0,
) -> Runs:
    """Both runs (``sources(0)`` the baseline, ``sources(1)`` the current one) side by side,
    and the paired difference (current − baseline) of every loss on the samples both have;
    with ``--group-by``, the same per slice (``compare --group-by``'s slice rows)."""
    (old_report, report), pairing = paired_runs(
        sources,
        2,
        specs,
        options,
        testing,
        0,
        chunk_rows,
        by_row=by_row,
        min_slice_size=min_slice_size,
    )
    complete = old_report.n_samples == report.n_samples == pairing.n_paired
    differences = {
        r.loss: stats.finalize(spec.loss.reduce, exact=(o.value, r.value) if complete else None)
        for spec, r, o, stats in zip(
            specs, report.results, old_report.results, pairing.stats[0], strict=True
        )
    }
    slices = None
    if pairing.sliced is not None:
        slices = slice_rows(
            pairing.sliced.finalize(),
            [(spec.label, spec.loss.reduce) for spec in specs],
            ("baseline", "current"),
            [reported_slices(old_report), reported_slices(report)] if complete else None,
            min_slice_size,
        )
    return Runs(report, baseline_from_results(old_report.results), differences, slices)


def welch_differences(report: Report, baseline: dict[str, Baseline]) -> dict[str, Difference]:
    """Per loss, Welch's difference from a baseline known only by value, std and n."""
    out = {}
    for r in report.results:
        b = baseline.get(r.loss)
        if b is not None and b.std is not None and b.n > 1 and r.n > 1:
            out[r.loss] = welch_difference(b.value, b.std, b.n, r.value, r.std, r.n)
    return out


# Settings that say how to read prediction files; a saved state was read already.
_READING = (
    *("preds", "labels", "baseline_preds", "id_col", "join", "pred_cols", "label_col"),
    *("kind", "nan", "preds_key", "labels_key", "preds_format", "labels_format"),
    *("weight_col", "meta", "min_slice_size", "dialect", "class_labels"),
)


def refuse_reading_options(flags: Settings) -> None:
    """``check --state``: the command line must not say how to read files (exit 2)."""
    given = [name for name in _READING if getattr(flags, name) not in (None, (), {})]
    if given:
        names = {"dialect": "delimiter/decimal/header"}
        shown = ", ".join(names.get(name, name.replace("_", "-")) for name in given)
        raise UsageError(
            f"--state gates on saved states, whose inputs were read when they were saved; "
            f"leave out {shown} (or check the files instead of --state)"
        )


def state_runs(states: Sequence[Path], specs: list[LossSpec], group_by: Sequence[str] = ()) -> Runs:
    """The merged report of saved states (``losscli merge``), with the results of ``specs``
    in their order, as ``evaluate_runs`` gives them for files; with ``group_by`` (the
    columns the states were grouped by when saved) their slices too, else none."""
    from losscli.engine.state import merge_states

    report = merge_states(list(states))
    held = {r.loss: r for r in report.results}
    missing = [spec.label for spec in specs if spec.label not in held]
    if missing:
        raise UsageError(
            f"the saved state{'s' if len(states) > 1 else ''} hold no {', '.join(missing)} "
            f"(they hold {', '.join(held)}); check those losses, or save a state with "
            f"--loss {missing[0]}"
        )
    if tuple(group_by) != report.group_by and group_by:
        held_by = f"slices by {', '.join(report.group_by)}" if report.group_by else "no slices"
        raise UsageError(
            f"--group-by {' '.join(group_by)}: the saved states hold {held_by}; give the "
            "--group-by the states were saved with (or save them with 'compute --group-by')"
        )
    labels = [spec.label for spec in specs]
    slices = tuple(
        replace(x, results=tuple(r for label in labels for r in x.results if r.loss == label))
        for x in (report.slices if group_by else ())
    )
    results = tuple(held[label] for label in labels)
    return Runs(replace(report, results=results, group_by=tuple(group_by), slices=slices))


def _state_settings(s: Settings) -> None:
    """What a config file may set that a saved state cannot give (exit 2)."""
    if s.baseline_preds is not None:
        raise UsageError(
            "--state holds no per-sample losses for a paired test with baseline_preds; "
            "give --baseline FILE.json (a 'losscli compute --format json' report)"
        )


def _testing(s: Settings, engine: DaskEngine | None) -> Testing:
    """How increases are tested (``--test``), refused where it cannot work (exit 2)."""
    testing = Testing.of(s.test, s.bootstrap_samples, s.seed)
    if testing.method is not TestMethod.T and s.baseline_preds is None:
        raise UsageError(
            f"--test {testing.method.value} resamples per-sample losses of both models; "
            "give --baseline-preds OLD (a baseline JSON holds only value, n and std: use --test t)"
        )
    # Paired per-sample terms whenever there are baseline predictions: the test, and the MDE.
    if engine is not None and s.baseline_preds is not None:
        raise UsageError(
            "--baseline-preds pairs every sample's losses in this process; "
            "use --engine local (a --baseline JSON works with --engine dask)"
        )
    return testing


def check_files(
    settings: Settings,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    engine: DaskEngine | None = None,
    states: Sequence[Path] = (),
) -> CheckReport:
    """``losscli check``: ``losscli.ci.config.Settings`` in, a ``CheckReport`` out;
    ``engine``: evaluate on Dask (``--engine dask``); ``states``: gate on saved states
    (merged when several) instead of PREDS and LABELS, whose settings are then not used."""
    s = settings
    if states:
        _state_settings(s)
    rules = check_rules(s, from_states=bool(states))
    if not states:
        one_stdin([s.preds, s.labels, s.baseline_preds])
    doc = None if s.baseline is None else _baseline_doc(s.baseline)
    baseline = None if doc is None else baseline_from_json(doc, _shown(s.baseline))
    losses = list(s.loss) or rules.keys() or list(s.slice_max) or list(baseline or ())
    specs = parse_specs(losses, "mean")
    rules.check_losses([spec.label for spec in specs])
    check_slice_rules(s, [spec.label for spec in specs])
    testing = _testing(s, engine)
    if states:
        runs = state_runs(states, specs, s.group_by)
    else:
        runs = evaluate_runs(s, specs, chunk_rows, engine)
    report, differences = runs.report, runs.differences
    if runs.baseline is not None:
        baseline = runs.baseline
    elif baseline is not None:
        differences = welch_differences(report, baseline)
    has_baseline = baseline is not None
    source = _shown(s.baseline if s.baseline is not None else s.baseline_preds)
    comparable = Comparability()
    if baseline is not None:
        comparable = judge(
            {loss: b.signature for loss, b in baseline.items()},
            report.results,
            source=source,
            allow_different_data=bool(s.allow_different_data),
        )
    outcomes = evaluate_rules(report.results, rules, baseline, differences, baseline_source=source)
    sliced, slice_warnings = slice_outcomes(report, rules, s.slice_max, doc, source, runs.slices)
    method = next(iter(differences.values())).method if rules.significant and differences else None
    return CheckReport(
        report.preds.path,
        report.labels.path,
        source if has_baseline else None,
        report.n_samples,
        tuple(outcomes + sliced),
        report.results,
        rules.significant,
        method,
        data_differences=comparable.data_differences,
        warnings=comparable.warnings + tuple(slice_warnings),
        testing=testing.to_dict() if s.baseline_preds is not None else {},
        interpretation=report.interpretation,
    )
