"""Rendering reports: Rich tables for people, JSON / CSV / Markdown for machines.

The only module that imports Rich. Functions return renderables or strings; the CLI prints.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from losscli.results import Report


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


def report_table(report: Report, precision: int) -> RenderableType:
    """Header, summary table and worst-samples table for a terminal."""
    head = Text()
    head.append(_describe_file("predictions", report.preds) + "\n", style="bold")
    head.append(_describe_file("labels", report.labels) + "\n", style="bold")
    task = f"task: {report.task}, {report.n_samples} samples"
    if report.task in ("binary", "multiclass", "dense", "distribution"):
        shown = ", ".join(report.classes[:10]) + (" …" if len(report.classes) > 10 else "")
        task += f", classes: {shown}"
    head.append(task + "\n")
    for decision, reason in report.interpretation:
        head.append("  • ", style="dim")
        head.append(decision)
        head.append(f"  ({reason})\n", style="dim")

    summary = Table(title="Losses", title_justify="left", show_edge=False, pad_edge=False)
    summary.add_column("loss", style="cyan", no_wrap=True)
    summary.add_column("value", justify="right", style="bold")
    summary.add_column("n", justify="right")
    summary.add_column("std", justify="right")
    summary.add_column("95% CI of the mean" if report.results and
                       report.results[0].reduction == "mean" else "95% CI", justify="right")
    for r in report.results:
        summary.add_row(Text(r.loss), number(r.value, precision), str(r.n), number(r.std, 4),
                        _ci(r.ci_low, r.ci_high, 4))
    parts: list[RenderableType] = [head, summary]
    notes = _convention_notes(report)
    if notes:
        parts.append(Text("\n".join(notes), style="dim"))
    if report.by_class:
        parts += [Text(""), _class_table(report)]
    if report.worst:
        first = report.results[0].loss
        worst = Table(title=Text(f"Worst samples by {first}"), title_justify="left",
                      show_edge=False, pad_edge=False)
        worst.add_column(_where(report), justify="right", no_wrap=True)
        worst.add_column("label")
        worst.add_column("prediction")
        show_p = any(w.p_true is not None for w in report.worst)
        if show_p:
            worst.add_column("p(true)", justify="right")
        for r in report.results:
            worst.add_column(Text(r.loss), justify="right")
        for w in report.worst:
            cells = [w.id if w.id is not None else str(w.row), w.label, w.prediction]
            if show_p:
                cells.append(number(w.p_true, 4))
            cells += [number(v, min(precision, 6)) for v in w.losses]
            worst.add_row(*(Text(c) for c in cells))
        parts += [Text(""), worst]
    return Group(*parts)


def _class_table(report: Report) -> Table:
    """Per true class: counted samples, then each loss's mean and share of the total."""
    table = Table(title="By true class", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("class")
    table.add_column("n", justify="right")
    for r in report.results:
        table.add_column(Text(f"{r.loss} mean"), justify="right")
        table.add_column("share", justify="right")
    for row in report.by_class:
        cells = [row.name, str(row.count[0])]
        for mean, share in zip(row.mean, row.share, strict=True):
            cells += [number(mean, 4), "—" if math.isnan(share) else f"{share:.1%}"]
        table.add_row(*(Text(c) for c in cells))
    return table


def _convention_notes(report: Report) -> list[str]:
    """One line per result computed under a library's convention, saying what differs."""
    return [f"{r.loss}: {r.convention_note}" for r in report.results
            if r.convention != "losscli" and r.convention_note]


def report_json(report: Report, precision: int) -> str:
    """The contract's JSON document; values keep full precision whatever ``precision`` says."""
    return json.dumps(report.to_dict(), indent=2, allow_nan=False)


_CSV_FIELDS = ("loss", "value", "n", "std", "ci_low", "ci_high", "reduction", "reference")


def report_csv(report: Report, precision: int) -> str:
    """One row per loss, full precision (machines parse this)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for r in report.results:
        writer.writerow([r.loss, repr(r.value), r.n, repr(r.std), repr(r.ci_low),
                         repr(r.ci_high), r.reduction, r.reference])
    return buf.getvalue()


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def markdown_table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    """A GitHub Markdown table; columns in ``right`` are right-aligned."""
    align = ["---:" if i in right else "---" for i in range(len(header))]
    return "\n".join([_md_row(header), _md_row(align), *(_md_row(r) for r in rows)])


def report_markdown(report: Report, precision: int) -> str:
    """Summary and worst samples as Markdown (fits a pull-request comment)."""
    lines = [
        f"**losscli** · {report.n_samples} samples · task: {report.task}",
        "",
        f"- predictions: `{report.preds.path}`",
        f"- labels: `{report.labels.path}`",
        *(f"- {d} ({r})" for d, r in report.interpretation),
        "",
        markdown_table(
            ["loss", "value", "n", "std", "95% CI"],
            [[f"`{r.loss}`", number(r.value, precision), str(r.n), number(r.std, 4),
              _ci(r.ci_low, r.ci_high, 4)] for r in report.results],
            right={1, 2, 3, 4},
        ),
        *(["", *(f"- {n}" for n in _convention_notes(report))] if _convention_notes(report)
          else []),
    ]
    if report.worst:
        header = [_where(report), "label", "prediction", *(f"`{r.loss}`" for r in report.results)]
        rows = [[w.id if w.id is not None else str(w.row), w.label, w.prediction,
                 *(number(v, min(precision, 6)) for v in w.losses)] for w in report.worst]
        lines += ["", f"Worst samples by `{report.results[0].loss}`:", "",
                  markdown_table(header, rows, right={0, *range(3, len(header))})]
    return "\n".join(lines) + "\n"


FORMATS: dict[str, Callable[[Report, int], RenderableType | str]] = {
    "table": report_table,
    "json": report_json,
    "csv": report_csv,
    "markdown": report_markdown,
}


def _param_text(loss: Any) -> str:
    return ", ".join(f"{p.name}={p.default}" for p in loss.params) or "—"


def loss_table(losses: Any) -> RenderableType:
    """Every registered loss as a table (the README's loss table is made the same way)."""
    table = Table(show_edge=False, pad_edge=False)
    for col in ("loss", "aliases", "tasks", "parameters", "reference"):
        table.add_column(col, style="cyan" if col == "loss" else None,
                         no_wrap=col in ("loss", "aliases"))
    for loss in losses:
        table.add_row(*(Text(c) for c in (loss.name, ", ".join(loss.aliases) or "—",
                                          ", ".join(loss.tasks), _param_text(loss),
                                          loss.reference)))
    return table


def loss_markdown(losses: Any) -> str:
    """The loss table in Markdown, for the README."""
    rows = [[f"`{loss.name}`", ", ".join(f"`{a}`" for a in loss.aliases) or "—",
             ", ".join(loss.tasks), _param_text(loss), loss.summary, loss.reference]
            for loss in losses]
    return markdown_table(["loss", "aliases", "tasks", "parameters", "what", "reference"],
                          rows, right=set()) + "\n"


def explain_view(loss: Any, explanation: Any) -> RenderableType:
    """``losscli explain``: formula, meaning, trade-offs, parameters and library differences."""
    head = Text()
    head.append(loss.name, style="bold cyan")
    head.append(f" — {loss.summary}\n", style="bold")
    if loss.aliases:
        head.append(f"aliases: {', '.join(loss.aliases)}\n", style="dim")
    head.append(f"tasks: {', '.join(loss.tasks)}", style="dim")
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
    section("Parameters", [f"{p.name} (default {p.default}"
                           f"{', ' + p.rule.text if p.rule else ''}): {p.help}"
                           for p in loss.params] or "none")
    section("Reference", loss.reference)
    differences = list(explanation.differences) if explanation is not None else []
    differences += [f"--convention {name}: {note}" for name, note in loss.conventions.items()]
    section("How libraries differ", differences)
    if explanation is not None:
        section("Where the original article is wrong or incomplete", explanation.corrections)
    return Group(*parts)
