"""Charts of the HTML report, drawn by matplotlib as inline SVG (the ``losscli[report]`` extra).

matplotlib is imported here and only when a chart is drawn (``--format html``): the other
formats, ``--help`` and ``--version`` never load it. Figures are made with
``matplotlib.figure.Figure`` and the SVG canvas, so no GUI backend and no global pyplot state
are involved. Text stays text in the SVG (``svg.fonttype = none``): matplotlib escapes ``<``,
``&`` and ``>`` in it, and ``$`` is escaped here so that user text is never read as mathtext.
Each SVG's ids get a prefix of their own, so several charts live in one page.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Sequence
from typing import Any

from losscli.engine.histogram import Distribution
from losscli.engine.results import CalibrationBin
from losscli.errors import UsageError

PIP_COMMAND = "pip install 'losscli[report]'"
WIDTH = 7.2  # inches: the page's column at 100 dpi
BLUE, ORANGE, GREY, GREEN, RED = "#3b6ea8", "#d9822b", "#8a8f98", "#2e8540", "#c0392b"
MAX_BARS = 30  # classes or slices in one bar chart (the highest first)

_counter = itertools.count(1)


def require() -> None:
    """Stop with exit 2 and the pip command when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(
            f"--format html draws its charts with matplotlib, which is not installed; "
            f"install the report extra: {PIP_COMMAND}"
        ) from None


def plain(text: str) -> str:
    """User text for a matplotlib label: a ``$`` is a dollar sign, never mathtext."""
    return text.replace("$", r"\$")


def short(x: float) -> str:
    return f"{x:.3g}"


def _figure(height: float) -> Any:
    import matplotlib

    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",  # text stays text: small, selectable, escaped
            "svg.hashsalt": "losscli",  # the same report gives the same bytes
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH, height), dpi=100, layout="constrained")


def _svg(fig: Any) -> str:
    """The figure as an ``<svg>`` element for an HTML page: no XML prolog, no doctype, no
    namespace URLs (the HTML parser knows SVG), ids prefixed to be unique in the page."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    buf = io.StringIO()
    meta = {"Date": None, "Creator": None, "Format": None, "Type": None}
    FigureCanvasSVG(fig).print_svg(buf, metadata=meta)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = text.replace("xlink:href=", "href=")
    prefix = f"c{next(_counter)}-"
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}\1"', text)
    return text.replace("<svg ", '<svg role="img" ', 1)


def _edge_ticks(ax: Any, edges: Sequence[float]) -> None:
    """Bars sit at 0..k-1; ticks at their boundaries name the edges (at most ~12 shown)."""
    step = max(1, math.ceil(len(edges) / 12))
    ticks = list(range(0, len(edges), step))
    ax.set_xticks([t - 0.5 for t in ticks], [short(edges[t]) for t in ticks], rotation=45)


def distribution(dist: Distribution, what: str, *, signs: tuple[str, str] | None = None) -> str:
    """A histogram of per-sample values: one bar per bin of the log-binned histogram (bars
    are equally wide, so the x axis reads as logarithmic in each sign); ``signs`` colours the
    bars below and above zero (a paired difference: green below, red above)."""
    fig = _figure(2.6)
    ax = fig.add_subplot()
    x = range(len(dist.counts))
    mids = [(lo + hi) / 2 for lo, hi in itertools.pairwise(dist.edges)]
    colours = [BLUE] * len(mids)
    if signs is not None:
        below, above = signs
        colours = [below if m < 0 else (above if m > 0 else GREY) for m in mids]
    ax.bar(x, dist.counts, width=1.0, color=colours, edgecolor="white", linewidth=0.5)
    _edge_ticks(ax, dist.edges)
    ax.set_xlabel(plain(what))
    ax.set_ylabel("samples")
    return _svg(fig)


def bars(
    names: Sequence[str],
    values: Sequence[float],
    *,
    xlabel: str,
    low: Sequence[float] = (),
    high: Sequence[float] = (),
    reference: float | None = None,
) -> str:
    """Horizontal bars, the first name on top; ``low``/``high`` draw 95% intervals and
    ``reference`` a dashed line (the overall value)."""
    fig = _figure(0.6 + 0.24 * max(len(names), 2))
    ax = fig.add_subplot()
    y = list(range(len(names)))
    err = None
    if low and high:
        err = [
            [max(v - lo, 0) if math.isfinite(lo) else 0 for v, lo in zip(values, low, strict=True)],
            [max(h - v, 0) if math.isfinite(h) else 0 for v, h in zip(values, high, strict=True)],
        ]
    ax.barh(y, values, color=BLUE, xerr=err, ecolor=GREY, capsize=2)
    ax.set_yticks(y, [plain(n) for n in names])
    ax.invert_yaxis()
    if reference is not None and math.isfinite(reference):
        ax.axvline(reference, color=ORANGE, linestyle="--", linewidth=1, label="overall")
        ax.legend(loc="lower right", frameon=False)
    ax.set_xlabel(plain(xlabel))
    return _svg(fig)


def reliability(bins: Sequence[CalibrationBin]) -> str:
    """A reliability diagram: each confidence bin's accuracy as a bar over the bin, its mean
    confidence as a dot, and the diagonal of perfect calibration."""
    fig = _figure(3.4)
    ax = fig.add_subplot()
    used = [b for b in bins if b.count and b.accuracy is not None and b.confidence is not None]
    ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=1, label="calibrated")
    widths = [max(b.high - b.low, 0.01) for b in used]
    ax.bar(
        [b.low for b in used],
        [b.accuracy or 0.0 for b in used],
        width=widths,
        align="edge",
        color=BLUE,
        alpha=0.8,
        edgecolor="white",
        label="accuracy",
    )
    ax.plot(
        [b.confidence for b in used],
        [b.accuracy for b in used],
        "o",
        color=ORANGE,
        markersize=4,
        label="bin (mean confidence, accuracy)",
    )
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left", frameon=False)
    return _svg(fig)


def gates(
    names: Sequence[str], values: Sequence[float], limits: Sequence[float], passed: Sequence[bool]
) -> str:
    """Each rule's value as a bar (green when the rule holds, red when not) and its limit as
    a black mark."""
    fig = _figure(0.6 + 0.3 * max(len(names), 2))
    ax = fig.add_subplot()
    y = list(range(len(names)))
    ax.barh(y, values, color=[GREEN if ok else RED for ok in passed])
    ax.plot(limits, y, "|", color="black", markersize=14, markeredgewidth=2)
    ax.set_yticks(y, [plain(n) for n in names])
    ax.invert_yaxis()
    ax.set_xlabel("value (bar) and limit (black mark)")
    return _svg(fig)
