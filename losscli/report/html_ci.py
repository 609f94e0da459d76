"""``check --format html`` and ``compare --format html``: the gate's verdict rule by rule, and
models side by side with histograms of their paired per-sample differences.

Built from the same cells as the table and Markdown reports (``losscli.report.render``), so
the page says what they say; user text is escaped as in ``losscli.report.html``.
"""

from __future__ import annotations

import math
from typing import Any

from losscli.report import charts
from losscli.report.html import (
    code,
    distributions,
    esc,
    figure,
    interpretation,
    num,
    page,
    section,
    table,
)
from losscli.report.render import (
    _CHECK_HEADER,
    _DIFF_HEADER,
    _TEST_HEADER,
    _best,
    _check_cells,
    _check_title,
    _diff_rows,
    _notes,
    _test_rows,
    data_differ_line,
)

# --------------------------------------------------------------------------- check


def _badge(passed: bool, text: str | None = None) -> str:
    word = text or ("PASS" if passed else "FAIL")
    return f'<span class="badge {"pass" if passed else "fail"}">{esc(word)}</span>'


def _check_inputs(report: Any) -> str:
    items = [
        f"<li>predictions: {code(report.preds)}</li>",
        f"<li>labels: {code(report.labels)}</li>",
    ]
    if report.baseline is not None:
        items.append(f"<li>baseline: {code(report.baseline)}</li>")
    if report.significant and report.method:
        items.append(
            f"<li>an increase fails only when significant ({esc(report.method)}, 95%)</li>"
        )
    decisions = interpretation(report.interpretation)
    return section(
        "Inputs and how they were read", f'<ul class="plan">{"".join(items)}</ul>', decisions
    )


def _gates(report: Any) -> str:
    """Every rule: value, limit, margin, MDE and its result; a chart of values against limits."""
    rows = []
    for o in report.outcomes:
        rule, *cells, _ = _check_cells(o)
        rows.append([code(o.loss), esc(rule), *(esc(c) for c in cells), _badge(o.passed)])
    parts = [
        table(_CHECK_HEADER, rows, right={2, 3, 4, 5}),
        f'<p class="dim">{esc(_notes(report))}</p>',
    ]
    drawn = [o for o in report.outcomes if math.isfinite(o.value) and math.isfinite(o.limit)]
    if drawn:
        svg = charts.gates(
            [f"{o.loss} ({o.rule.replace('_', ' ')})" for o in drawn],
            [o.value for o in drawn],
            [o.limit for o in drawn],
            [o.passed for o in drawn],
        )
        parts.append(
            figure(svg, "Each rule's value (green: holds, red: fails) and its limit (black mark).")
        )
    tests = _test_rows(report)
    if tests:
        parts.append(f"<h3>Increases tested for significance ({esc(report.method)}, 95%)</h3>")
        parts.append(
            table(
                _TEST_HEADER, [[code(r[0]), *map(esc, r[1:])] for r in tests], right={1, 2, 3, 4, 5}
            )
        )
    if report.failures:
        items = "".join(f"<li>{esc(o.message)}</li>" for o in report.failures)
        parts.append(f"<h3>Failed</h3><ul>{items}</ul>")
    return section("Rules", *parts)


def check_html(report: Any) -> str:
    """``check --format html``: verdict, inputs, every rule, the tests, the distributions."""
    charts.require()
    differ = data_differ_line(report)
    warnings = [differ] if differ else []
    warnings += list(report.warnings)
    notes = "".join(f"<p><strong>warning:</strong> {esc(w)}</p>" for w in warnings)
    subtitle = f"{_badge(report.passed, _check_title(report))} · {report.n_samples:,} samples"
    return page(
        "losscli check",
        subtitle,
        [notes, _check_inputs(report), _gates(report), distributions(report.results)],
    )


# --------------------------------------------------------------------------- compare


def _values(cmp: Any, precision: int) -> str:
    rows = [
        [code(r.loss)]
        + [
            (f"<strong>{esc(_best(r.values, r.best, i, precision))}</strong>")
            if i == r.best
            else esc(_best(r.values, r.best, i, precision))
            for i in range(len(cmp.models))
        ]
        for r in cmp.losses
    ]
    header = ["loss", *(code(m) for m in cmp.models)]
    return table(header, rows, right=range(1, len(header)))


def _differences(cmp: Any, precision: int) -> str:
    """The paired differences to the first model: the table, then per loss and model the
    histogram of per-sample differences."""
    parts = [table(_DIFF_HEADER, _diff_rows(cmp, min(precision, 4), code), right=range(2, 8))]
    for row in cmp.losses:
        for model, d in zip(cmp.models[1:], row.diffs[1:], strict=True):
            dist = None if d is None else d.distribution
            if d is None or dist is None:
                continue
            what = f"{row.loss}: {model} − {cmp.models[0]} per sample"
            caption = (
                f"{code(row.loss)} of {code(model)} minus that of {code(cmp.models[0])}, per "
                f"sample ({dist.count:,} paired samples; green: lower loss, red: higher). "
                f"Median {num(dist.quantiles.get('p50'))}; {d.better:.1%} better, "
                f"{d.worse:.1%} worse."
            )
            parts.append(
                figure(charts.distribution(dist, what, signs=(charts.GREEN, charts.RED)), caption)
            )
    title = f"Against {code(cmp.models[0])} ({esc(cmp.method)}, 95% interval)"
    return section(title, *parts)


def _slices(cmp: Any, precision: int) -> str:
    """``compare --group-by``: per loss and model, each slice's difference to the first model
    with its 95% interval as bars (the overall difference dashed), then the table."""
    from losscli.report.compare_slices import HEADER, hidden_note, rows, slice_name, title

    if not cmp.slices:
        return ""
    shown = [r for r in cmp.slices if not r.hidden][: charts.MAX_BARS]
    parts = []
    for row in cmp.losses:
        for m, overall in enumerate(row.diffs[1:], 1):
            diffs = [
                next(d for d in s.diffs if d.loss == row.loss and d.model == cmp.models[m])
                for s in shown
            ]
            if not diffs or overall is None:
                continue
            svg = charts.bars(
                [slice_name(cmp, s.values) for s in shown],
                [d.difference.diff for d in diffs],
                xlabel=f"{row.loss}: {cmp.models[m]} − {cmp.models[0]}",
                low=[d.difference.ci_low for d in diffs],
                high=[d.difference.ci_high for d in diffs],
                reference=overall.difference.diff,
            )
            caption = (
                f"{code(row.loss)} of {code(cmp.models[m])} minus that of "
                f"{code(cmp.models[0])} per slice, with its 95% interval; the dashed line is "
                "the overall difference."
            )
            parts.append(figure(svg, caption))
    body = [
        [esc(c) if i not in (2, 3) or c == "—" else code(c) for i, c in enumerate(r)]
        for r in rows(cmp, precision)
    ]
    parts.append(table([esc(h) for h in HEADER], body, right={1, *range(4, len(HEADER))}))
    note = hidden_note(cmp)
    if note:
        parts.append(f'<p class="dim">{esc(note)}</p>')
    return section(esc(title(cmp)), *parts)


def _disagreements(cmp: Any) -> str:
    if not cmp.disagreements:
        return ""
    header = [esc(cmp.key_name), *(code(m) for m in cmp.models), "spread"]
    rows = [
        [code(s.key), *(num(v, 6) for v in s.values), num(s.spread, 6)] for s in cmp.disagreements
    ]
    title = f"Samples where the models disagree most (by {code(cmp.losses[0].loss)})"
    return section(title, table(header, rows, right=range(1, len(header))))


def compare_html(cmp: Any, precision: int) -> str:
    """``compare --format html``: values per model, paired differences with their
    histograms, and the samples where the models disagree most."""
    charts.require()
    paths = cmp.paths or cmp.models
    items = "".join(
        f"<li>{code(m)}: {code(p)}</li>" for m, p in zip(cmp.models, paths, strict=True)
    )
    inputs = section(
        "Inputs and how they were read",
        f'<ul class="plan">{items}<li>labels: {code(cmp.labels)}</li></ul>',
        interpretation(cmp.interpretation),
    )
    subtitle = (
        f"{len(cmp.models)} models · {cmp.n_paired:,} paired samples · lower is better, "
        "★ marks the best"
    )
    return page(
        "losscli compare",
        subtitle,
        [
            inputs,
            section("Losses", _values(cmp, precision)),
            _differences(cmp, precision),
            _slices(cmp, precision),
            _disagreements(cmp),
        ],
    )
