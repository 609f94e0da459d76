"""``--format html``: one self-contained page per report (inline CSS, charts as inline SVG).

The page needs no network to be read: no script, no external style sheet, font, image or
link. Every piece of user text (paths, column and class names, ids, slice values, loss specs)
goes through ``esc`` (HTML escaping, quotes too); text inside charts is escaped by
matplotlib's SVG writer (see ``losscli.report.charts``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

from losscli.engine.results import Report
from losscli.report import charts
from losscli.report.compute import worst_cells

CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1d2330; background: #f6f7f9; margin: 0; }
main { max-width: 980px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e3e6eb; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 16px 0 4px; }
p.sub, .dim { color: #5d6675; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eceef2; text-align: left;
  vertical-align: top; }
th { background: #f1f3f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 12.5px ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  background: #f1f3f6; padding: 0 3px; border-radius: 3px; overflow-wrap: anywhere; }
ul.plan { padding-left: 20px; margin: 4px 0; }
ul.plan li span { color: #5d6675; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600;
  font-size: 12px; color: #fff; }
.pass { background: #2e8540; } .fail { background: #c0392b; }
figure { margin: 6px 0 14px; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #5d6675; font-size: 12.5px; }
details summary { cursor: pointer; color: #5d6675; }
footer { margin-top: 32px; color: #8a8f98; font-size: 12px; }
"""


def esc(text: object) -> str:
    """User text as HTML text or attribute value (``<``, ``>``, ``&`` and quotes escaped)."""
    return html.escape(str(text), quote=True)


def num(x: float | None, digits: int = 4) -> str:
    """A number with ``digits`` significant digits; nan, inf and None spelled out."""
    if x is None:
        return "—"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def interval(lo: float, hi: float, digits: int = 4) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return "—"
    return f"[{num(lo, digits)}, {num(hi, digits)}]"


def code(text: object) -> str:
    return f"<code>{esc(text)}</code>"


def table(header: Sequence[str], rows: Iterable[Sequence[str]], right: Iterable[int] = ()) -> str:
    """An HTML table; cells are HTML already (escape user text before); columns in ``right``
    are numbers, right-aligned."""
    nums = set(right)

    def cls(i: int) -> str:
        return ' class="num"' if i in nums else ""

    head = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(svg: str, caption: str = "") -> str:
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f"<figure>{svg}{cap}</figure>"


def page(title: str, subtitle: str, sections: Iterable[str]) -> str:
    """The whole document: head with the inline style sheet, then the sections."""
    from losscli.engine.signature import losscli_version

    body = "\n".join(s for s in sections if s)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<h1>{esc(title)}</h1>\n<p class="sub">{subtitle}</p>\n{body}\n'
        f"<footer>made by losscli {esc(losscli_version())}</footer>\n"
        "</main>\n</body>\n</html>\n"
    )


def section(title: str, *parts: str) -> str:
    inner = "\n".join(p for p in parts if p)
    return f"<section>\n<h2>{title}</h2>\n{inner}\n</section>" if inner else ""


# --------------------------------------------------------------------------- shared parts


def interpretation(decisions: Sequence[tuple[str, str]]) -> str:
    """How the inputs were read: each decision of the plan and its reason."""
    if not decisions:
        return ""
    items = "".join(f"<li>{esc(d)} <span>({esc(r)})</span></li>" for d, r in decisions)
    return f'<ul class="plan">{items}</ul>'


def distributions(results: Sequence[Any]) -> str:
    """Per loss: its per-sample histogram and quantiles (from the histogram accumulator)."""
    parts = []
    for r in results:
        d = r.distribution
        if d is None:
            continue
        q = ", ".join(f"{k} {num(v)}" for k, v in d.quantiles.items())
        caption = (
            f"{code(r.loss)} per sample: {d.count:,} samples, min {num(d.min)}, {q}, "
            f"max {num(d.max)}. Bars are bins of equal width on a log scale."
        )
        parts.append(f"<h3>{code(r.loss)}</h3>" + figure(charts.distribution(d, r.loss), caption))
    return section("Per-sample distributions", *parts)


def signatures(results: Sequence[Any]) -> str:
    rows = [[code(r.loss), code(r.signature)] for r in results if r.signature]
    if not rows:
        return ""
    return (
        "<details><summary>Signatures (everything behind each value)</summary>"
        + table(["loss", "signature"], rows)
        + "</details>"
    )


def reliability(results: Sequence[Any]) -> str:
    """A reliability diagram per calibration loss (ece, mce) with its bins."""
    parts = []
    for r in results:
        if not r.bins:
            continue
        caption = (
            f"{code(r.loss)} = {num(r.value)}: accuracy against confidence in "
            f"{len(r.bins)} bins; bars under the diagonal are over-confident."
        )
        parts.append(figure(charts.reliability(r.bins), caption))
    return section("Reliability", *parts)


# --------------------------------------------------------------------------- compute


def _file_line(role: str, info: Any) -> str:
    cols = ""
    if info.columns:
        shown = ", ".join(info.columns[:8]) + (" …" if len(info.columns) > 8 else "")
        cols = f" — columns {esc(shown)}"
    return f"<li>{role}: {code(info.path)} [{esc(info.format)}]{cols}</li>"


def _inputs(report: Report) -> str:
    files = (
        '<ul class="plan">'
        + _file_line("predictions", report.preds)
        + _file_line("labels", report.labels)
        + "</ul>"
    )
    classes = ""
    if report.classes and report.task in ("binary", "multiclass", "dense", "distribution"):
        shown = ", ".join(report.classes[:20]) + (" …" if len(report.classes) > 20 else "")
        classes = f"<p>{len(report.classes)} classes: {esc(shown)}</p>"
    return section(
        "Inputs and how they were read", files, classes, interpretation(report.interpretation)
    )


def _losses(report: Report, precision: int) -> str:
    rows = []
    for r in report.results:
        q = r.distribution.quantiles if r.distribution is not None else {}
        rows.append(
            [
                code(r.loss),
                num(r.value, precision),
                f"{r.n:,}",
                num(r.std),
                interval(r.ci_low, r.ci_high),
                *(num(q.get(k)) for k in ("p50", "p90", "p99")),
            ]
        )
    header = ["loss", "value", "n", "std", "95% CI", "p50", "p90", "p99"]
    return section("Losses", table(header, rows, right=range(1, 8)), signatures(report.results))


def _by_class(report: Report) -> str:
    """Per true class: a bar chart of each loss's mean (highest first) and the table."""
    if not report.by_class:
        return ""
    parts = []
    for i, r in enumerate(report.results):
        ranked = sorted(report.by_class, key=lambda row: -_finite(row.mean[i]))[: charts.MAX_BARS]
        with_ci = bool(ranked[0].ci_low)
        svg = charts.bars(
            [row.name for row in ranked],
            [_finite(row.mean[i]) for row in ranked],
            xlabel=f"mean {r.loss}",
            low=[row.ci_low[i] for row in ranked] if with_ci else (),
            high=[row.ci_high[i] for row in ranked] if with_ci else (),
            reference=r.value if r.reduction == "mean" else None,
        )
        more = len(report.by_class) - len(ranked)
        note = f" The {len(ranked)} highest of {len(report.by_class)} classes." if more else ""
        parts.append(figure(svg, f"Mean {code(r.loss)} per true class.{note}"))
    header = ["class", "n"] + [h for r in report.results for h in (f"{code(r.loss)} mean", "share")]
    rows = [
        [esc(row.name), f"{row.count[0]:,}"]
        + [c for m, s in zip(row.mean, row.share, strict=True) for c in (num(m), _share(s))]
        for row in report.by_class
    ]
    parts.append(table(header, rows, right=range(1, len(header))))
    return section("By true class", *parts)


def _finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0


def _share(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:.1%}"


def _slices(report: Report) -> str:
    """Per slice of --group-by: each loss's value with its interval (worst first)."""
    from losscli.report.slices import slice_text

    if not report.slices:
        return ""
    shown = [s for s in report.slices if not s.hidden][: charts.MAX_BARS]
    parts = []
    for i, r in enumerate(report.results):
        if not shown:
            break
        svg = charts.bars(
            [slice_text(report, s) for s in shown],
            [_finite(s.results[i].value) for s in shown],
            xlabel=r.loss,
            low=[s.results[i].ci_low for s in shown],
            high=[s.results[i].ci_high for s in shown],
            reference=r.value,
        )
        parts.append(
            figure(
                svg,
                f"{code(r.loss)} per slice with its 95% interval; the dashed "
                "line is the overall value.",
            )
        )
    rows = [
        [esc(slice_text(report, s)), f"{s.n:,}"]
        + [("—" if s.hidden else num(x.value)) for x in s.results]
        for s in report.slices
    ]
    header = ["slice", "n", *(code(r.loss) for r in report.results)]
    parts.append(table(header, rows, right=range(1, len(header))))
    title = "By " + " × ".join(esc(c) for c in report.group_by)
    return section(title, *parts)


def _residuals(report: Report) -> str:
    """Regression: the histogram of prediction − label (kept as a mergeable histogram, so
    no row is held; a scatter of prediction against label would need every row)."""
    d = report.residuals
    if d is None:
        return ""
    q = ", ".join(f"{k} {num(v)}" for k, v in d.quantiles.items())
    caption = (
        f"Prediction − label, {d.count:,} values: min {num(d.min)}, {q}, max {num(d.max)}. "
        "Blue: predictions below the label, orange: above; bars are bins of equal width on a "
        "log scale of the residual's size, each side of zero."
    )
    svg = charts.distribution(d, "prediction − label", signs=(charts.BLUE, charts.ORANGE))
    return section("Residuals", figure(svg, caption))


def _worst(report: Report, precision: int) -> str:
    if not report.worst:
        return ""
    by_id = any(w.id is not None for w in report.worst)
    show_p = any(w.p_true is not None for w in report.worst)
    header = ["id" if by_id else "row", "label", "prediction", *(["p(true)"] if show_p else [])]
    header += [code(r.loss) for r in report.results]
    rows = []
    for w in report.worst:
        label, prediction = worst_cells(report, w)
        cells = [code(w.id) if w.id is not None else str(w.row), esc(label), esc(prediction)]
        cells += [num(w.p_true)] if show_p else []
        rows.append(cells + [num(v, min(precision, 6)) for v in w.losses])
    right = {0, *range(3, len(header))}
    title = f"Worst samples by {code(report.results[0].loss)}"
    return section(title, table(header, rows, right=right))


def compute_html(report: Report, precision: int) -> str:
    """``compute --format html``: inputs and their reading, losses, distributions, classes,
    calibration, slices and the worst samples, as one self-contained page."""
    charts.require()
    subtitle = f"{report.n_samples:,} samples · task {esc(report.task)}" + (
        f" · {report.n_skipped:,} skipped" if report.n_skipped else ""
    )
    return page(
        "losscli compute",
        subtitle,
        [
            _inputs(report),
            _losses(report, precision),
            distributions(report.results),
            _by_class(report),
            reliability(report.results),
            _residuals(report),
            _slices(report),
            _worst(report, precision),
        ],
    )
