"""Per-sample loss distributions as text: a bar column for the losses table, a full terminal
histogram (``--hist``) and a mermaid ``xychart-beta`` for Markdown (GitHub renders it)."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from losscli.engine.histogram import Distribution
from losscli.engine.results import LossResult

_LEVELS = " ▁▂▃▄▅▆▇█"  # an empty bar is a blank: an empty bin reads apart from a small one
SPARK_BARS = 10
BAR_WIDTH = 40


def _short(x: float) -> str:
    return f"{x:.3g}"


def spark(dist: Distribution | None, bars: int = SPARK_BARS) -> str:
    """The distribution as at most ``bars`` unicode bars, low to high losses ('' if none)."""
    if dist is None:
        return ""
    counts = np.array([part.sum() for part in np.array_split(dist.counts, bars) if len(part)])
    top = counts.max()
    levels = np.ceil(counts / top * (len(_LEVELS) - 1)).astype(int)
    return "".join(_LEVELS[k] for k in levels)


def histogram_table(result: LossResult) -> RenderableType:
    """One loss's full histogram: a row per bin with its range, count and a bar."""
    dist = result.distribution
    title = Text(f"Distribution of {result.loss} per sample")
    if dist is None:
        return Text.assemble(title, " — no per-sample values")
    q = ", ".join(f"{k} {_short(v)}" for k, v in dist.quantiles.items())
    table = Table(
        title=Text.assemble(title, f"  ({q}; min {_short(dist.min)}, max {_short(dist.max)})"),
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    table.add_column("from", justify="right", no_wrap=True)
    table.add_column("to", justify="right", no_wrap=True)
    table.add_column("samples", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, overflow="crop")
    top = max(dist.counts)
    for i, c in enumerate(dist.counts):
        bar = "█" * max(round(c / top * BAR_WIDTH), 1 if c else 0)
        table.add_row(_short(dist.edges[i]), _short(dist.edges[i + 1]), f"{c:,}", bar)
    return table


def with_histograms(
    rendered: RenderableType | str, results: tuple[LossResult, ...]
) -> RenderableType:
    """``--hist``: the report, then every loss's histogram, one after the other."""
    parts: list[RenderableType] = [rendered]
    for r in results:
        parts += [Text(""), histogram_table(r)]
    return Group(*parts)


# Mermaid's entity codes (decoded when the chart is drawn): user text can neither end a quoted
# string nor read as markup. '#' first, so that a '#lt;' typed by a user stays as typed.
_MERMAID_CODES = (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("&", "#amp;"))


def mermaid_text(text: str) -> str:
    """User text inside a mermaid double-quoted string: on one line, with ``# " < > &`` as
    mermaid's entity codes."""
    for char, code in _MERMAID_CODES:
        text = text.replace(char, code)
    return " ".join(text.splitlines())


def mermaid_histogram(title: str, dist: Distribution) -> list[str]:
    """A fenced ``xychart-beta`` bar chart of a histogram: a bar per bin, labelled by its
    lower edge."""
    labels = ", ".join(f'"{_short(lo)}"' for lo in dist.edges[:-1])
    counts = ", ".join(str(c) for c in dist.counts)
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "{mermaid_text(title)}"',
        f"    x-axis [{labels}]",
        '    y-axis "samples"',
        f"    bar [{counts}]",
        "```",
    ]


def mermaid_chart(result: LossResult) -> list[str]:
    """A fenced ``xychart-beta`` bar chart of one loss's distribution ([] without one)."""
    dist = result.distribution
    if dist is None:
        return []
    return mermaid_histogram(f"{result.loss} per sample", dist)


def difference_charts(cmp: Any) -> list[str]:
    """``compare``'s Markdown: per loss and model, a chart of the paired per-sample
    differences to the first model (negative: lower loss), folded away ([] without any)."""
    lines = []
    for row in cmp.losses:
        for model, d in zip(cmp.models[1:], row.diffs[1:], strict=True):
            if d is not None and d.distribution is not None:
                title = f"{row.loss}: {model} minus {cmp.models[0]}, per sample"
                lines += ["", *mermaid_histogram(title, d.distribution)]
    if not lines:
        return []
    summary = "Paired per-sample differences to the first model"
    return ["", f"<details><summary>{summary}</summary>", *lines, "", "</details>"]
