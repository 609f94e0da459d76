"""Rendering reports: Rich tables for people, JSON / CSV / Markdown for machines.

The only module that imports Rich. Functions return renderables or strings; the CLI prints.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from losscli.engine.results import Report
from losscli.report.compute import report_json, worst_cells
from losscli.report.distribution import difference_charts, mermaid_chart, spark
from losscli.report.slices import markdown as slices_markdown
from losscli.report.slices import slice_parts
from losscli.report.text import count, fit, md_code, md_text, natural_width, xml_text


def print_error(message: str) -> None:
    """One ``error: ...`` line on stderr, never wrapped; the message is shown literally."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(message)}", markup=True
    )


def print_warning(message: str) -> None:
    """One ``warning: ...`` line on stderr, never wrapped; the message is shown literally."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold yellow]warning:[/] {escape(message)}", markup=True
    )


def number(x: float | None, digits: int) -> str:
    """A float with ``digits`` significant digits; inf/nan spelled out, None as a dash."""
    if x is None:
        return "—"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def _ci(lo: float, hi: float, digits: int) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return "—"
    return f"[{number(lo, digits)}, {number(hi, digits)}]"


def _where(report: Report) -> str:
    return "id" if any(w.id is not None for w in report.worst) else "row"


def _describe_file(role: str, info: Any) -> str:
    cols = f" ({', '.join(info.columns)})" if info.columns else ""
    if info.columns and len(info.columns) > 6:
        cols = f" ({', '.join(info.columns[:5])}, … {len(info.columns)} columns)"
    return f"{role}: {info.path} [{info.format}]{cols}"


def _summary_table(report: Report, precision: int) -> Table:
    """The losses: value, n, std, interval and a bar sketch of the per-sample values."""
    summary = Table(title="Losses", title_justify="left", show_edge=False, pad_edge=False)
    summary.add_column("loss", style="cyan")
    summary.add_column("value", justify="right", style="bold")
    summary.add_column("n", justify="right")
    summary.add_column("std", justify="right")
    summary.add_column(_ci_header(report), justify="right")
    summary.add_column("distribution")
    for r in report.results:
        summary.add_row(
            Text(r.loss),
            number(r.value, precision),
            count(r.n),
            number(r.std, 4),
            _ci(r.ci_low, r.ci_high, 4),
            spark(r.distribution),
        )
    return fit(summary, values={1, 2, 3, 4, 5})


def report_table(report: Report, precision: int) -> RenderableType:
    """Header, summary table and worst-samples table for a terminal."""
    head = Text()
    head.append(_describe_file("predictions", report.preds) + "\n", style="bold")
    head.append(_describe_file("labels", report.labels) + "\n", style="bold")
    task = f"task: {report.task}, {count(report.n_samples)} samples"
    if report.task in ("binary", "multiclass", "dense", "distribution"):
        shown = ", ".join(report.classes[:10]) + (" …" if len(report.classes) > 10 else "")
        task += f", classes: {shown}"
    head.append(task + "\n")
    for decision, reason in report.interpretation:
        head.append("  • ", style="dim")
        head.append(decision)
        head.append(f"  ({reason})\n", style="dim")

    parts: list[RenderableType] = [head, _summary_table(report, precision)]
    notes = _convention_notes(report)
    if notes:
        parts.append(Text("\n".join(notes), style="dim"))
    parts.append(_signature_footer(report.results))
    if report.by_class:
        parts += [Text(""), _class_table(report)]
    parts += slice_parts(report, min(precision, 6)) if report.slices else []
    if report.worst:
        first = report.results[0].loss
        worst = Table(
            title=Text(f"Worst samples by {first}"),
            title_justify="left",
            show_edge=False,
            pad_edge=False,
        )
        worst.add_column(_where(report), justify="right")
        worst.add_column("label")
        worst.add_column("prediction")
        show_p = any(w.p_true is not None for w in report.worst)
        if show_p:
            worst.add_column("p(true)", justify="right")
        for r in report.results:
            worst.add_column(Text(r.loss), justify="right")
        for w in report.worst:
            cells = [w.id if w.id is not None else str(w.row), *worst_cells(report, w)]
            if show_p:
                cells.append(number(w.p_true, 4))
            cells += [number(v, min(precision, 6)) for v in w.losses]
            worst.add_row(*(Text(c) for c in cells))
        parts += [Text(""), fit(worst, values=range(3, len(worst.columns)))]
    return Group(*parts)


def _signature_footer(results: Any) -> Text:
    """One dim line per result naming everything behind its value (never wrapped or cut)."""
    lines = [f"signature {r.loss}: {r.signature}" for r in results if r.signature]
    return Text("\n".join(lines), style="dim", no_wrap=True, overflow="ignore")


def signature_details(results: Any) -> list[str]:
    """The signatures as a collapsed Markdown ``<details>`` block (empty without any)."""
    rows = [f"- {md_code(r.loss)}: {md_code(r.signature)}" for r in results if r.signature]
    if not rows:
        return []
    return ["", "<details><summary>Signatures</summary>", "", *rows, "", "</details>"]


def _class_table(report: Report) -> Table:
    """Per true class: counted samples, then each loss's mean and share of the total."""
    table = Table(title="By true class", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("class")
    table.add_column("n", justify="right")
    with_ci = any(row.ci_low for row in report.by_class)
    for r in report.results:
        table.add_column(Text(f"{r.loss} mean"), justify="right")
        if with_ci:
            table.add_column("95% CI", justify="right")
        table.add_column("share", justify="right")
    for row in report.by_class:
        cells = [row.name, count(row.count[0])]
        for i, (mean, share) in enumerate(zip(row.mean, row.share, strict=True)):
            cells.append(number(mean, 4))
            if with_ci:
                cells.append(_ci(row.ci_low[i], row.ci_high[i], 4))
            cells.append("—" if math.isnan(share) else f"{share:.1%}")
        table.add_row(*(Text(c) for c in cells))
    return fit(table, values=range(1, len(table.columns)))


def _ci_header(report: Report) -> str:
    """The interval column's title: how the interval was made, and of what."""
    if report.intervals.method == "bootstrap":
        return "95% bootstrap CI"
    mean = report.results and report.results[0].reduction == "mean"
    return "95% CI of the mean" if mean else "95% CI"


def _convention_notes(report: Report) -> list[str]:
    """One line per result computed under a library's convention, saying what differs."""
    return [
        f"{r.loss}: {r.convention_note}"
        for r in report.results
        if r.convention != "losscli" and r.convention_note
    ]


_CSV_FIELDS = ("loss", "value", "n", "std", "ci_low", "ci_high", "reduction", "reference")


def report_csv(report: Report, precision: int) -> str:
    """One row per loss, full precision (machines parse this)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    grouped = bool(report.group_by)
    extra = ("scope", *report.group_by, "difference") if grouped else ()
    writer.writerow((*_CSV_FIELDS, *extra))
    for r in report.results:
        writer.writerow(
            [
                r.loss,
                repr(r.value),
                r.n,
                repr(r.std),
                repr(r.ci_low),
                repr(r.ci_high),
                r.reduction,
                r.reference,
                *(["overall", *([""] * len(report.group_by)), "0.0"] if grouped else []),
            ]
        )
    if grouped:
        from losscli.report.slices import csv_rows

        writer.writerows(csv_rows(report))
    return buf.getvalue()


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def markdown_table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    """A GitHub Markdown table; columns in ``right`` are right-aligned."""
    align = ["---:" if i in right else "---" for i in range(len(header))]
    return "\n".join([_md_row(header), _md_row(align), *(_md_row(r) for r in rows)])


def _md_summary(report: Report, precision: int) -> str:
    return markdown_table(
        ["loss", "value", "n", "std", "95% CI"],
        [
            [
                md_code(r.loss),
                number(r.value, precision),
                count(r.n),
                number(r.std, 4),
                _ci(r.ci_low, r.ci_high, 4),
            ]
            for r in report.results
        ],
        right={1, 2, 3, 4},
    )


def _md_by_class(report: Report) -> list[str]:
    """The ``--by-class`` table, as the table format shows it."""
    header = ["class", "n"]
    for r in report.results:
        header += [f"{md_code(r.loss)} mean", "share"]
    rows = []
    for row in report.by_class:
        cells = [md_text(row.name), count(row.count[0])]
        for mean, share in zip(row.mean, row.share, strict=True):
            cells += [number(mean, 4), _share(share)]
        rows.append(cells)
    table = markdown_table(header, rows, right=set(range(1, len(header))))
    return ["", "By true class:", "", table]


def _md_worst(report: Report, precision: int) -> list[str]:
    show_p = any(w.p_true is not None for w in report.worst)
    header = [_where(report), "label", "prediction", *(["p(true)"] if show_p else [])]
    header += [md_code(r.loss) for r in report.results]
    rows = []
    for w in report.worst:
        label, prediction = worst_cells(report, w)
        cells = [md_code(w.id) if w.id is not None else str(w.row)]
        cells += [md_text(label), md_text(prediction)]
        cells += [number(w.p_true, 4)] if show_p else []
        rows.append(cells + [number(v, min(precision, 6)) for v in w.losses])
    table = markdown_table(header, rows, right={0, *range(3, len(header))})
    return ["", f"Worst samples by {md_code(report.results[0].loss)}:", "", table]


def report_markdown(report: Report, precision: int) -> str:
    """Every table of the table format as Markdown (fits a pull-request comment); user text
    (paths, ids, class names, loss specs) is escaped."""
    notes = _convention_notes(report)
    lines = [
        f"**losscli** · {count(report.n_samples)} samples · task: {md_text(report.task)}",
        "",
        f"- predictions: {md_code(str(report.preds.path))}",
        f"- labels: {md_code(str(report.labels.path))}",
        *(f"- {md_text(d)} ({md_text(r)})" for d, r in report.interpretation),
        "",
        _md_summary(report, precision),
        *(["", *(f"- {md_text(n)}" for n in notes)] if notes else []),
        *signature_details(report.results),
    ]
    if report.by_class:
        lines += _md_by_class(report)
    if report.slices:
        lines += ["", *slices_markdown(report, min(precision, 6))]
    if report.worst:
        lines += _md_worst(report, precision)
    return "\n".join(lines + _md_distributions(report)) + "\n"


def _md_distributions(report: Report) -> list[str]:
    """Each loss's per-sample distribution as a mermaid chart, folded away."""
    charts = [line for r in report.results for line in ["", *mermaid_chart(r)]]
    if not charts:
        return []
    return ["", "<details><summary>Per-sample distributions</summary>", *charts, "", "</details>"]


def report_html(report: Report, precision: int) -> str:
    """One self-contained HTML page (``losscli.report.html``; charts need matplotlib)."""
    from losscli.report.html import compute_html

    return compute_html(report, precision)


FORMATS: dict[str, Callable[[Report, int], RenderableType | str]] = {
    "table": report_table,
    "json": report_json,
    "csv": report_csv,
    "markdown": report_markdown,
    "html": report_html,
}


def _param_text(loss: Any) -> str:
    return ", ".join(f"{p.name}={p.default}" for p in loss.params) or "—"


def loss_table(losses: Any) -> RenderableType:
    """Every registered loss as a table (the README's loss table is made the same way)."""
    table = Table(show_edge=False, pad_edge=False)
    for col in ("loss", "aliases", "tasks", "parameters", "reference"):
        table.add_column(col, style="cyan" if col == "loss" else None)
    for loss in losses:
        table.add_row(
            *(
                Text(c)
                for c in (
                    loss.name,
                    ", ".join(loss.aliases) or "—",
                    ", ".join(loss.task_names()),
                    _param_text(loss),
                    loss.reference,
                )
            )
        )
    return fit(table, values={0})


def loss_json(losses: Any) -> str:
    """The registry as JSON: what tools need to offer the losses and their parameters."""
    return json.dumps(
        [
            {
                "name": loss.name,
                "aliases": list(loss.aliases),
                "summary": loss.summary,
                "formula": loss.formula,
                "tasks": loss.task_names(),
                "parameters": [
                    {
                        "name": p.name,
                        "type": p.type.__name__,
                        "default": p.default,
                        "rule": p.rule.text if p.rule else None,
                        "help": p.help,
                    }
                    for p in loss.params
                ],
                "reference": loss.reference,
                "conventions": dict(loss.conventions),
            }
            for loss in losses
        ],
        indent=2,
        ensure_ascii=False,
    )


def loss_markdown(losses: Any) -> str:
    """The loss table in Markdown, for the README."""
    rows = [
        [
            f"`{loss.name}`",
            ", ".join(f"`{a}`" for a in loss.aliases) or "—",
            ", ".join(loss.task_names()),
            _param_text(loss),
            loss.summary,
            loss.reference,
        ]
        for loss in losses
    ]
    return (
        markdown_table(
            ["loss", "aliases", "tasks", "parameters", "what", "reference"], rows, right=set()
        )
        + "\n"
    )


LOSS_FORMATS: dict[str, Callable[[Any], RenderableType | str]] = {
    "table": loss_table,
    "markdown": loss_markdown,
    "json": loss_json,
}


def explain_view(loss: Any, explanation: Any) -> RenderableType:
    """``losscli explain``: formula, meaning, trade-offs, parameters and library differences."""
    head = Text()
    head.append(loss.name, style="bold cyan")
    head.append(f" — {loss.summary}\n", style="bold")
    if loss.aliases:
        head.append(f"aliases: {', '.join(loss.aliases)}\n", style="dim")
    head.append(f"tasks: {', '.join(loss.task_names())}", style="dim")
    parts: list[RenderableType] = [head]

    def section(title: str, items: Any) -> None:
        if not items:
            return
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=3, justify="right")
        grid.add_column()
        for item in [items] if isinstance(items, str) else items:
            grid.add_row("•", Text(item))
        parts.extend([Text(f"\n{title}", style="bold"), grid])

    section("Formula", loss.formula)
    if explanation is not None:
        section("What it measures", explanation.measures)
        section("Strengths", explanation.strengths)
        section("Weaknesses", explanation.weaknesses)
        section("When to use it", explanation.use)
    section(
        "Parameters",
        [
            f"{p.name} (default {p.default}{', ' + p.rule.text if p.rule else ''}): {p.help}"
            for p in loss.params
        ]
        or "none",
    )
    section("Reference", loss.reference)
    differences = list(explanation.differences) if explanation is not None else []
    differences += [f"--convention {name}: {note}" for name, note in loss.conventions.items()]
    section("How libraries differ", differences)
    if explanation is not None:
        section("Where the original article is wrong or incomplete", explanation.corrections)
    return Group(*parts)


# --------------------------------------------------------------------------- check and compare

# GitHub keeps at most 1 MiB of job summary per step (GITHUB_STEP_SUMMARY).
STEP_SUMMARY_LIMIT = 1 << 20
_SUMMARY_CUT = (
    "\n_…cut to stay under GitHub's 1 MiB step summary; the -o reports hold everything._\n"
)


def fit_step_summary(markdown: str, used: int, limit: int = STEP_SUMMARY_LIMIT) -> str:
    """``markdown`` (plus a newline) cut at a line so that, appended to a summary file already
    holding ``used`` bytes, the file stays under ``limit`` bytes; '' when nothing fits."""
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    room = limit - 1 - used  # strictly under the limit
    data = text.encode("utf-8")
    if len(data) <= room:
        return text
    note = _SUMMARY_CUT.encode("utf-8")
    if room < len(note):
        return ""
    head = data[: room - len(note)]
    head = head[: head.rfind(b"\n") + 1]  # whole lines only (never half a character)
    return head.decode("utf-8") + _SUMMARY_CUT


# A GitHub comment holds at most 65,536 characters; stay clearly below.
COMMENT_LIMIT = 65_000


def plain_text(rendered: RenderableType | str, width: int = 100) -> str:
    """A renderable as plain text (no colour, fixed width), for ``.txt`` outputs."""
    if isinstance(rendered, str):
        return rendered if rendered.endswith("\n") else rendered + "\n"
    from rich.console import Console

    buf = io.StringIO()
    Console(
        file=buf,
        width=natural_width(rendered, width),
        color_system=None,
        force_terminal=False,
        highlight=False,
        soft_wrap=False,
    ).print(rendered, crop=False)
    return buf.getvalue()


def _signed(x: float | None, digits: int = 4) -> str:
    if x is None:
        return "—"
    if not math.isfinite(x):
        return number(x, digits)
    return f"{x:+.{digits}g}"


def _share(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:.1%}"


_CHECK_HEADER = ["loss", "rule", "value", "limit", "margin", "MDE (80%)", "result"]
_TEST_HEADER = [
    "loss",
    "baseline",
    "increase",
    "95% CI of the increase",
    "p",
    "p (Holm)",
    "significant",
]
_MDE_NOTE = (
    "MDE (80%): the smallest true change the data would detect 4 times in 5 (two-sided 5% "
    "test); a PASS with a margin below it is weak evidence."
)


_SIGNIFICANT_MARGIN = (
    "margin of a rule judged by significance: the allowed increase minus the lower end of "
    "the increase's 95% CI (the room left before the increase is significant)."
)


def _notes(report: Any) -> str:
    """What the MDE column and, with --significant, the margin column mean."""
    tested = any(o.test is not None for o in report.outcomes)
    return _MDE_NOTE + (f"\n{_SIGNIFICANT_MARGIN}" if tested else "")


def _check_cells(o: Any) -> list[str]:
    """rule, value, limit, margin, result for one outcome; digits enough to tell them apart."""
    from losscli.ci.checks import digits

    d = digits(o.value, o.limit)
    rule = (
        f"{o.rule.replace('_', ' ')} {o.tolerance}"
        if o.baseline is None
        else f"baseline {number(o.baseline, d)} + {o.tolerance}"
    )
    mde = number(o.mde, 4) if math.isfinite(o.mde) else "—"
    margin = o.shown_margin
    # Holm can keep an increase whose interval lies above the allowed one from failing.
    shown = "n.s. (Holm)" if o.passed and margin < 0 else _signed(margin)
    return [rule, number(o.value, d), number(o.limit, d), shown, mde, o.status]


def _test_rows(report: Any) -> list[list[str]]:
    """loss, baseline, increase, its 95% CI, p and the verdict for every tested rule."""
    rows = []
    for o in report.outcomes:
        if o.identical:
            rows.append([o.loss, number(o.baseline, 6), "0", "—", "—", "—", "no difference"])
        elif o.test is not None:
            x = o.test.difference
            rows.append(
                [
                    o.loss,
                    number(o.baseline, 6),
                    _signed(x.diff),
                    _ci(x.ci_low, x.ci_high, 4),
                    number(o.test.p_value, 3),
                    number(o.test.p_holm, 3),
                    "yes" if o.test.above else "no",
                ]
            )
    return rows


def _check_title(report: Any) -> str:
    n, bad = len(report.outcomes), len(report.failures)
    if bad:
        return f"FAILED, {bad} of {n} rule{'s' if n != 1 else ''} failed"
    return f"PASSED, all {n} rules hold" if n != 1 else "PASSED, the rule holds"


def _check_inputs(report: Any, code: Callable[[str], str] = str) -> str:
    text = f"{code(str(report.preds))} against {code(str(report.labels))}, "
    text += f"{count(report.n_samples)} samples"
    if report.baseline is not None:
        text += f"; baseline {code(str(report.baseline))}"
    if report.significant and report.method:
        text += f"; an increase fails only when significant ({report.method}, 95%)"
    return text


def data_differ_line(report: Any) -> str | None:
    """The first line of a check report whose baseline was computed on other data."""
    if not report.data_differences:
        return None
    return "the data differ from the baseline's (--allow-different-data): " + "; ".join(
        report.data_differences
    )


def check_table(report: Any) -> RenderableType:
    """Every rule with value, limit, margin and PASS/FAIL; the tests; the failures spelled out."""
    head = Text()
    differ = data_differ_line(report)
    parts: list[RenderableType] = []
    if differ:  # one line, never wrapped: it names every difference
        parts.append(
            Text(f"warning: {differ}", style="bold yellow", no_wrap=True, overflow="ignore")
        )
    head.append("losscli check: ", style="bold")
    head.append(
        _check_title(report) + "\n", style="bold red" if not report.passed else "bold green"
    )
    head.append(_check_inputs(report) + "\n", style="dim")
    table = Table(show_edge=False, pad_edge=False)
    for name in _CHECK_HEADER:
        table.add_column(
            name,
            justify="left" if name in ("loss", "rule", "result") else "right",
            style="cyan" if name == "loss" else None,
        )
    for o in report.outcomes:
        *cells, status = _check_cells(o)
        table.add_row(
            Text(o.loss),
            *(Text(c) for c in cells),
            Text(status, style="bold green" if o.passed else "bold red"),
        )
    parts += [head, fit(table, values={2, 3, 4, 5, 6}), Text(_notes(report), style="dim")]
    tests = _test_rows(report)
    if tests:
        tested = Table(
            title=f"Increases tested for significance ({report.method}, 95%)",
            title_justify="left",
            show_edge=False,
            pad_edge=False,
        )
        for name in _TEST_HEADER:
            tested.add_column(
                name,
                justify="left" if name == "loss" else "right",
                style="cyan" if name == "loss" else None,
            )
        for row in tests:
            tested.add_row(*(Text(c) for c in row))
        parts += [Text(""), fit(tested, values={1, 2, 3, 4, 5, 6})]
    if report.failures:
        fail = Text("\n")
        for o in report.failures:
            fail.append("✗ ", style="bold red")
            fail.append(f"{o.message}\n")
        parts.append(fail)
    return Group(*parts)


def check_json(report: Any) -> str:
    """The check report as JSON (full precision; ``passed`` and one entry per rule)."""
    return json.dumps(report.to_dict(), indent=2, allow_nan=False)


def check_markdown(report: Any) -> str:
    """The check report for a pull request or a GitHub step summary."""
    mark = "✅" if report.passed else "❌"
    rows = []
    for o in report.outcomes:
        rule, *cells, _ = _check_cells(o)
        rows.append([md_code(o.loss), md_text(rule), *cells, "PASS" if o.passed else "**FAIL**"])
    differ = data_differ_line(report)
    lines = [
        *([f"> ⚠️ **Warning:** {md_text(differ)}", ""] if differ else []),
        f"### {mark} losscli check: {_check_title(report)}",
        "",
        _check_inputs(report, md_code),
        "",
        markdown_table(_CHECK_HEADER, rows, right={2, 3, 4, 5}),
        "",
        _notes(report),
    ]
    tests = _test_rows(report)
    if tests:
        lines += [
            "",
            f"Increases tested for significance ({md_text(report.method)}, 95%):",
            "",
            markdown_table(
                _TEST_HEADER, [[md_code(r[0]), *r[1:]] for r in tests], right={1, 2, 3, 4, 5}
            ),
        ]
    if report.failures:
        lines += ["", *(f"- ❌ {md_text(o.message)}" for o in report.failures)]
    return "\n".join(lines) + "\n"


def check_junit(report: Any) -> str:
    """JUnit XML: one test case per rule, a failure element for each rule that failed."""
    import xml.etree.ElementTree as ET

    n, bad = str(len(report.outcomes)), str(len(report.failures))
    root = ET.Element("testsuites", name="losscli", tests=n, failures=bad, errors="0")
    suite = ET.SubElement(
        root, "testsuite", name="losscli check", tests=n, failures=bad, errors="0", skipped="0"
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("predictions", report.preds),
        ("labels", report.labels),
        ("baseline", report.baseline),
        ("method", report.method),
        ("data_differ", data_differ_line(report)),
    ):
        if value is not None:
            ET.SubElement(props, "property", name=key, value=xml_text(str(value)))
    for o in report.outcomes:
        name, message = xml_text(o.loss), xml_text(o.message)
        case = ET.SubElement(suite, "testcase", classname=f"losscli.check.{o.rule}", name=name)
        if not o.passed:
            failure = ET.SubElement(case, "failure", message=message, type="CheckFailed")
            failure.text = message
        out = ET.SubElement(case, "system-out")
        out.text = message
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def check_html(report: Any) -> str:
    """One self-contained HTML page (``losscli.report.html_ci``; charts need matplotlib)."""
    from losscli.report.html_ci import check_html

    return check_html(report)


CHECK_FORMATS: dict[str, Callable[[Any], RenderableType | str]] = {
    "table": check_table,
    "json": check_json,
    "markdown": check_markdown,
    "junit": check_junit,
    "html": check_html,
}


def _best(values: tuple[float, ...], best: int, i: int, digits: int) -> str:
    return number(values[i], digits) + (" ★" if i == best else "")


def _diff_rows(cmp: Any, digits: int, code: Callable[[str], str]) -> list[list[str]]:
    rows = []
    for row in cmp.losses:
        for model, d in zip(cmp.models[1:], row.diffs[1:], strict=True):
            x = d.difference
            rows.append(
                [
                    code(row.loss),
                    code(model),
                    _signed(x.diff, digits),
                    _ci(x.ci_low, x.ci_high, 4),
                    number(d.p_value, 2),
                    number(d.p_holm, 2),
                    _share(d.better),
                    _share(d.worse),
                ]
            )
    return rows


_DIFF_HEADER = ["loss", "model", "Δ", "95% CI of Δ", "p", "p (Holm)", "better on", "worse on"]


def compare_table(cmp: Any, precision: int) -> RenderableType:
    """A column per model (best marked ★), differences to the first, disagreeing samples."""
    head = Text()
    head.append(f"Comparing {len(cmp.models)} models on {cmp.labels}", style="bold")
    head.append(
        f"  ({count(cmp.n_paired)} paired samples; lower is better, ★ marks the best)\n",
        style="dim",
    )
    values = Table(title="Losses", title_justify="left", show_edge=False, pad_edge=False)
    values.add_column("loss", style="cyan")
    for model in cmp.models:
        values.add_column(Text(model), justify="right")
    for row in cmp.losses:
        values.add_row(
            Text(row.loss),
            *(
                Text(
                    _best(row.values, row.best, i, precision),
                    style="bold green" if i == row.best else "",
                )
                for i in range(len(cmp.models))
            ),
        )
    diffs = Table(
        title=f"Against {escape(cmp.models[0])}: {escape(cmp.method)}, 95% interval; "
        "p (Holm) adjusted over every row; better / worse on = share of samples",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    for i, name in enumerate(_DIFF_HEADER):
        diffs.add_column(
            name, justify="right" if i >= 2 else "left", style="cyan" if i == 0 else None
        )
    for cells in _diff_rows(cmp, min(precision, 4), str):
        diffs.add_row(*(Text(c) for c in cells))
    parts: list[RenderableType] = [
        head,
        fit(values, values=range(1, len(values.columns))),
        Text(""),
        fit(diffs, values=range(2, len(diffs.columns))),
    ]
    if cmp.disagreements:
        worst = _disagreement_table(cmp)
        parts += [Text(""), fit(worst, values=range(1, len(worst.columns)))]
    if cmp.group_by:
        from losscli.report.compare_slices import table_parts

        parts += table_parts(cmp, precision)
    return Group(*parts)


def _disagreement_table(cmp: Any) -> Table:
    worst = Table(
        title=f"Samples where the models disagree most (by {cmp.losses[0].loss})",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    worst.add_column(cmp.key_name, justify="right")
    for model in cmp.models:
        worst.add_column(Text(model), justify="right")
    worst.add_column("spread", justify="right")
    for s in cmp.disagreements:
        worst.add_row(Text(s.key), *(number(v, 6) for v in s.values), number(s.spread, 6))
    return worst


def compare_json(cmp: Any, precision: int) -> str:
    """The comparison as JSON, full precision."""
    return json.dumps(cmp.to_dict(), indent=2, allow_nan=False)


def _compare_markdown(cmp: Any, precision: int, shown: int) -> str:
    code = md_code
    models = [code(m) for m in cmp.models]
    lines = [
        f"### losscli compare: {len(cmp.models)} models on {code(cmp.labels)}",
        "",
        f"{count(cmp.n_paired)} paired samples. Lower is better; ★ marks the best value.",
        "",
        markdown_table(
            ["loss", *models],
            [
                [
                    code(r.loss),
                    *(
                        ("**" + _best(r.values, r.best, i, precision) + "**")
                        if i == r.best
                        else _best(r.values, r.best, i, precision)
                        for i in range(len(models))
                    ),
                ]
                for r in cmp.losses
            ],
            right=set(range(1, len(models) + 1)),
        ),
        "",
        f"Against {models[0]} ({md_text(cmp.method)}; 95% interval; share of samples where the "
        "model's loss is lower / higher):",
        "",
        markdown_table(
            _DIFF_HEADER, _diff_rows(cmp, min(precision, 4), code), right={2, 3, 4, 5, 6, 7}
        ),
        *difference_charts(cmp),
    ]
    if cmp.group_by:
        from losscli.report.compare_slices import markdown as slice_markdown

        lines += slice_markdown(cmp, precision)
    return "\n".join(lines + _markdown_samples(cmp, shown, models)) + "\n"


def _markdown_samples(cmp: Any, shown: int, models: list[str]) -> list[str]:
    """The first ``shown`` disagreeing samples, in a collapsed block."""
    samples = cmp.disagreements[:shown]
    if not samples:
        n = len(cmp.disagreements)
        return ["", f"_{n} disagreeing samples left out to fit a comment._"] if n else []
    by = f"<code>{html.escape(cmp.losses[0].loss)}</code>"  # inside HTML: no Markdown
    note = (
        ""
        if shown >= len(cmp.disagreements)
        else f" (the first {shown} of {len(cmp.disagreements)}, shortened to fit a comment)"
    )
    return [
        "",
        f"<details><summary>Samples where the models disagree most (by {by}){note}</summary>",
        "",
        markdown_table(
            [md_text(cmp.key_name), *models, "spread"],
            [
                [md_code(s.key), *(number(v, 6) for v in s.values), number(s.spread, 6)]
                for s in samples
            ],
            right=set(range(len(models) + 2)),
        ),
        "",
        "</details>",
    ]


def compare_markdown(cmp: Any, precision: int, limit: int = COMMENT_LIMIT) -> str:
    """Markdown for a pull-request comment, under ``limit`` characters.

    The sample list is shortened first (halved until the text fits); only then is the text
    itself cut, at a line boundary, with a note.
    """
    shown = len(cmp.disagreements)
    text = _compare_markdown(cmp, precision, shown)
    while len(text) > limit and shown > 0:
        shown //= 2
        text = _compare_markdown(cmp, precision, shown)
    if len(text) > limit:
        note = "\n_…cut to fit a comment; see `--format json` for everything._\n"
        text = text[: text.rfind("\n", 0, limit - len(note))] + note
    return text


def compare_csv(cmp: Any, precision: int) -> str:
    """The differences as CSV (overall and per slice), full precision."""
    from losscli.report.compare_slices import compare_csv as csv_text

    return csv_text(cmp, precision)


def compare_html(cmp: Any, precision: int) -> str:
    """One self-contained HTML page (``losscli.report.html_ci``; charts need matplotlib)."""
    from losscli.report.html_ci import compare_html

    return compare_html(cmp, precision)


COMPARE_FORMATS: dict[str, Callable[[Any, int], RenderableType | str]] = {
    "table": compare_table,
    "json": compare_json,
    "markdown": compare_markdown,
    "csv": compare_csv,
    "html": compare_html,
}
