"""``compare --group-by``'s outputs: a "Paired differences by COL" table, Markdown, and the
CSV of a comparison (its overall rows, then one row per slice, loss and model).

Rows follow ``Comparison.slices``: worst-regressing slice first, hidden slices (under
``--min-slice-size``) last with their count only. p (Holm) is adjusted over every shown
(slice, loss, model).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from losscli.report.slices import value_text
from losscli.report.text import count, fit, md_code, md_text

HEADER = ["slice", "n", "loss", "model", "baseline", "candidate", "Δ", "95% CI of Δ", "p"]
HEADER += ["p (Holm)"]
_CSV = ["scope", "loss", "model", "n", "baseline", "candidate", "diff", "se", "ci_low"]
_CSV += ["ci_high", "p_value", "p_holm", "share_better", "share_worse"]


def _num(x: float, digits: int) -> str:
    from losscli.report.render import number

    return number(x, digits)


def slice_name(cmp: Any, values: tuple[Any, ...]) -> str:
    """The slice's value, or COL=value, ... when several columns are crossed."""
    if len(cmp.group_by) == 1:
        return value_text(values[0])
    return ", ".join(f"{c}={value_text(v)}" for c, v in zip(cmp.group_by, values, strict=True))


def title(cmp: Any) -> str:
    return f"Paired differences by {' × '.join(cmp.group_by)} (against {cmp.models[0]})"


def rows(cmp: Any, precision: int) -> list[list[str]]:
    """One row per slice, loss and model; a hidden slice is one row with its count."""
    from losscli.report.render import _ci, _signed

    out = []
    for row in cmp.slices:
        name = slice_name(cmp, row.values)
        if row.hidden:
            out.append([name, count(row.n), *(["—"] * (len(HEADER) - 2))])
            continue
        for d in row.diffs:
            x = d.difference
            out.append(
                [
                    name,
                    count(row.n),
                    d.loss,
                    d.model,
                    _num(d.baseline, precision),
                    _num(d.candidate, precision),
                    _signed(x.diff, min(precision, 4)),
                    _ci(x.ci_low, x.ci_high, 4),
                    _num(d.p_value, 2),
                    _num(d.p_holm, 2),
                ]
            )
    return out


def hidden_note(cmp: Any) -> str | None:
    hidden = sum(r.hidden for r in cmp.slices)
    if not hidden:
        return None
    return (
        f"{hidden} slice{'s' if hidden > 1 else ''} with too few paired samples "
        "(--min-slice-size): count shown, values hidden"
    )


def table_parts(cmp: Any, precision: int) -> list[RenderableType]:
    """The table format's per-slice table (with its note on hidden slices)."""
    table = Table(title=Text(title(cmp)), title_justify="left", show_edge=False, pad_edge=False)
    for i, name in enumerate(HEADER):
        table.add_column(Text(name), justify="left" if i in (0, 2, 3) else "right")
    for cells in rows(cmp, precision):
        table.add_row(*(Text(c) for c in cells))
    note = hidden_note(cmp)
    return [
        Text(""),
        fit(table, {1, *range(4, len(HEADER))}),
        *([Text(note, style="dim")] if note else []),
    ]


def markdown(cmp: Any, precision: int) -> list[str]:
    """The per-slice table in Markdown, slice values and names escaped."""
    from losscli.report.render import markdown_table

    body = []
    for cells in rows(cmp, precision):
        name, n, loss, model, *rest = cells
        text = [md_code(x) if x != "—" else x for x in (loss, model)]
        body.append([md_text(name), n, *text, *rest])
    table = markdown_table([md_text(h) for h in HEADER], body, right={1, *range(4, len(HEADER))})
    note = hidden_note(cmp)
    return ["", f"{md_text(title(cmp))}:", "", table, *(["", note] if note else [])]


def compare_csv(cmp: Any, precision: int) -> str:
    """The comparison as CSV, full precision: one row per loss and model after the first
    (``scope`` overall), then per slice, loss and model (``scope`` slice, the group columns
    filled; a hidden slice has one row with its count only)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    groups = list(cmp.group_by)
    writer.writerow([_CSV[0], *groups, *_CSV[1:]])
    blank = [""] * len(groups)
    for r in cmp.losses:
        for m, d in enumerate(r.diffs[1:], 1):
            cells = _fields(r.loss, cmp.models[m], cmp.n_paired, r.values[0], r.values[m], d)
            writer.writerow(["overall", *blank, *cells])
    for row in cmp.slices:
        values = ["" if v is None else value_text(v) for v in row.values]
        if row.hidden:
            writer.writerow(["slice", *values, "", "", row.n, *([""] * (len(_CSV) - 4))])
            continue
        for d in row.diffs:
            cells = _fields(d.loss, d.model, row.n, d.baseline, d.candidate, d)
            writer.writerow(["slice", *values, *cells])
    return buf.getvalue()


def _fields(loss: str, model: str, n: int, baseline: float, candidate: float, d: Any) -> list[Any]:
    x = d.difference
    numbers = (baseline, candidate, x.diff, x.se, x.ci_low, x.ci_high, d.p_value, d.p_holm)
    return [loss, model, n, *(repr(float(v)) for v in (*numbers, d.better, d.worse))]
