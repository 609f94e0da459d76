"""``compute --calibration``: the reliability table behind each calibration loss (ece, mce)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from losscli.engine.results import CalibrationBin, LossResult, Report
from losscli.report.render import markdown_table, number
from losscli.report.text import count, md_code

HEADER = ["bin", "count", "confidence", "accuracy", "gap"]


def _cells(b: CalibrationBin, precision: int) -> list[str]:
    # A confidence of exactly 1 has a bin of its own (TorchMetrics' edge rule): [1, 1].
    where = "[1, 1]" if b.low == 1.0 else f"[{b.low:.4g}, {b.high:.4g})"
    return [
        where,
        count(b.count),
        number(b.confidence, precision),
        number(b.accuracy, precision),
        number(b.gap, precision),
    ]


def _binned(report: Report) -> list[LossResult]:
    return [r for r in report.results if r.bins]


def reliability_table(report: Report, precision: int) -> RenderableType:
    """One table per calibration loss: bin, count, mean confidence, accuracy and gap."""
    parts: list[RenderableType] = []
    for result in _binned(report):
        table = Table(title=f"reliability: {result.loss}", title_justify="left")
        for i, col in enumerate(HEADER):
            table.add_column(col, justify="left" if i == 0 else "right")
        for b in result.bins:
            table.add_row(*(Text(c) for c in _cells(b, precision)))
        parts.append(table)
    return Group(*parts)


def reliability_markdown(report: Report, precision: int) -> str:
    """The reliability tables in Markdown."""
    blocks = [
        f"### Reliability: {md_code(r.loss)}\n\n"
        + markdown_table(HEADER, [_cells(b, precision) for b in r.bins], right={1, 2, 3, 4})
        for r in _binned(report)
    ]
    return "\n\n".join(blocks) + "\n"


RELIABILITY_FORMATS = {"table": reliability_table, "markdown": reliability_markdown}
