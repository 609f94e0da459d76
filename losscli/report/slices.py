"""The per-slice part of ``compute``'s outputs (``--group-by``): a "Losses by COL" table,
JSON ``slices``, CSV rows and a Markdown table.

Slices come worst first by the first loss (the order of ``Report.slices``); a slice under
``--min-slice-size`` shows its count and no values. Each value is shown beside its 95%
interval and its difference from the overall value of the same loss.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from losscli.engine.results import Report, SliceResult, json_safe
from losscli.report.text import count, fit, md_code, md_text

MISSING = "(missing)"


def value_text(value: Any) -> str:
    """A group value as shown: booleans as true/false, missing as (missing)."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def slice_text(report: Report, s: SliceResult) -> str:
    """The slice's name: its value, or COL=value, ... when several columns are crossed."""
    if len(report.group_by) == 1:
        return value_text(s.values[0])
    return ", ".join(f"{c}={value_text(v)}" for c, v in zip(report.group_by, s.values, strict=True))


def title(report: Report) -> str:
    return "Losses by " + " × ".join(report.group_by)


def _num(x: float | None, digits: int) -> str:
    if x is None or math.isnan(x):
        return "—"
    return f"{x:.{digits}g}"


def _ci(lo: float, hi: float, digits: int) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return "—"
    return f"[{_num(lo, digits)}, {_num(hi, digits)}]"


def _signed(x: float, digits: int) -> str:
    return "—" if math.isnan(x) else f"{x:+.{digits}g}"


def rows(report: Report, precision: int) -> list[list[str]]:
    """Per slice: name, n, then per loss its value, interval and difference from overall."""
    out = []
    for s in report.slices:
        cells = [slice_text(report, s), count(s.n)]
        if s.hidden:
            cells += ["—"] * (3 * len(report.results))
        else:
            for r, overall in zip(s.results, report.results, strict=True):
                cells += [
                    _num(r.value, precision),
                    _ci(r.ci_low, r.ci_high, 4),
                    _signed(r.value - overall.value, 4),
                ]
        out.append(cells)
    return out


def header(report: Report) -> list[str]:
    head = ["slice", "n"]
    for r in report.results:
        head += [r.loss, "95% CI", "Δ overall"]
    return head


def slice_table(report: Report, precision: int) -> Table:
    table = Table(title=Text(title(report)), title_justify="left", show_edge=False, pad_edge=False)
    for i, name in enumerate(header(report)):
        table.add_column(Text(name), justify="left" if i == 0 else "right")
    for cells in rows(report, precision):
        table.add_row(*(Text(c) for c in cells))
    return fit(table, set(range(1, len(table.columns))))


def slice_parts(report: Report, precision: int) -> list[RenderableType]:
    """The table format's "Losses by COL" table and its note on hidden slices."""
    note = hidden_note(report)
    return [Text(""), slice_table(report, precision), *([Text(note, style="dim")] if note else [])]


def hidden_note(report: Report) -> str | None:
    hidden = sum(s.hidden for s in report.slices)
    if not hidden:
        return None
    return (
        f"{hidden} slice{'s' if hidden > 1 else ''} with too few rows "
        "(--min-slice-size) or no counted rows: count shown, values hidden"
    )


def slices_json(report: Report) -> list[dict[str, Any]]:
    """JSON ``slices``: {"slice": {COL: value}, "n", "hidden", "results": [...]} per slice;
    each result as in ``results`` plus ``difference`` from the overall value."""
    out = []
    for s in report.slices:
        results = []
        for r, overall in zip(s.results, report.results, strict=False):
            item = json_safe(r.to_dict())
            item["difference"] = json_safe(r.value - overall.value)
            results.append(item)
        out.append(
            {
                "slice": dict(zip(report.group_by, s.values, strict=True)),
                "n": s.n,
                "hidden": s.hidden,
                "results": results,
            }
        )
    return out


def csv_rows(report: Report) -> list[list[str]]:
    """CSV rows per slice and loss: the compute fields, then the slice's group values (empty
    when missing) and the difference from overall; a hidden slice has one row per loss with
    its count only."""
    out = []
    for s in report.slices:
        values = ["" if v is None else value_text(v) for v in s.values]
        for i, overall in enumerate(report.results):
            if s.hidden:
                out.append([overall.loss, "", str(s.n), "", "", "", overall.reduction, ""])
                out[-1] += ["slice", *values, ""]
                continue
            r = s.results[i]
            out.append(
                [
                    r.loss,
                    repr(r.value),
                    str(r.n),
                    repr(r.std),
                    repr(r.ci_low),
                    repr(r.ci_high),
                    r.reduction,
                    r.reference,
                    "slice",
                    *values,
                    repr(r.value - overall.value),
                ]
            )
    return out


def markdown(report: Report, precision: int) -> list[str]:
    """A Markdown table of the slices, user text escaped."""
    from losscli.report.render import markdown_table

    head = ["slice", "n"]
    for r in report.results:
        head += [md_code(r.loss), "95% CI", "Δ overall"]
    body = [[md_text(cells[0]), *cells[1:]] for cells in rows(report, precision)]
    table = markdown_table(head, body, right=set(range(1, len(head))))
    note = hidden_note(report)
    return [f"{md_text(title(report))}:", "", table, *(["", note] if note else [])]
