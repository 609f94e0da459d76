"""``--format html``: one self-contained page (no URL to fetch), user text escaped everywhere
(SVG text included), exit codes, and matplotlib loaded only when HTML is asked for."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SAMPLE, invoke

ENTRY_POINT = Path(sys.executable).parent / "losscli"
IMAGES = [SAMPLE / "images_logits.csv", SAMPLE / "images_labels.csv", "--id-col", "image_id"]
HOUSES = [SAMPLE / "house_prices_preds.parquet", SAMPLE / "house_prices_labels.parquet"]
TICKETS = [SAMPLE / "tickets_probs_v2.csv", SAMPLE / "tickets_labels.csv", "--label-col", "intent"]


# --------------------------------------------------------------------------- the page's parts


class Page(HTMLParser):
    """Everything a test asks of a page: tags, attributes, text, style sheets, and every
    reference to something outside the page."""

    # Attributes that make a browser fetch (or navigate to) what they name.
    FETCHING = ("src", "href", "xlink:href", "action", "formaction", "poster", "data", "srcset")

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.texts: list[str] = []
        self.styles: list[str] = []
        self.external: list[str] = []
        self._in: list[str] = []
        self.feed(text)
        self.close()
        self.external += re.findall(r"(?:https?|ftp):[^\s\"'<>)]*", text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in.append(tag)
        if tag in ("script", "link", "iframe", "object", "embed", "img", "base"):
            self.external.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip()
            if name == "style":
                self.styles.append(value)
            if value.startswith("//") or re.match(r"(?i)(https?|ftp|file):", value):
                self.external.append(f"{tag} {name}={value}")
            if name in self.FETCHING and not value.startswith(("#", "data:")):
                self.external.append(f"{tag} {name}={value}")
            if name.startswith("on"):
                self.external.append(f"{tag} {name} (script)")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            while self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "style":
            self.styles.append(data)
        else:
            self.texts.append(data)

    def style_problems(self) -> list[str]:
        out = []
        for css in self.styles:
            out += [f"@import in {css[:40]!r}" for _ in re.findall(r"@import", css)]
            for target in re.findall(r"url\(\s*['\"]?([^'\")]*)", css):
                if not target.startswith(("#", "data:")):
                    out.append(f"url({target})")
        return out

    def problems(self) -> list[str]:
        return self.external + self.style_problems()

    @property
    def text(self) -> str:
        return "".join(self.texts)


def test_the_url_checker_finds_every_kind_of_reference() -> None:
    planted = {
        '<img src="x.png">': "img",
        '<a href="https://example.org">x</a>': "https",
        '<a href="//cdn.example.org/x">x</a>': "//",
        '<svg><use href="sprite.svg#a"/></svg>': "href=sprite",
        "<style>@import 'x.css';</style>": "@import",
        "<style>p { background: url(x.png) }</style>": "url(x.png)",
        "<p style=\"background: url('http://e.org/x')\">x</p>": "http",
        "<script>alert(1)</script>": "script",
        '<link rel="stylesheet" href="a.css">': "link",
        '<p onclick="f()">x</p>': "onclick",
    }
    for snippet, what in planted.items():
        assert Page(snippet).problems(), f"not found: {what}"
    fine = '<svg><g clip-path="url(#c1-p)"><use href="#c1-m"/></g></svg><style>a{}</style>'
    assert Page(fine).problems() == []


# --------------------------------------------------------------------------- compute


@pytest.fixture(scope="module")
def images_page(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("html") / "report.html"
    # No --by-class: the HTML report breaks the losses down by class whenever there are classes.
    args = ["compute", *IMAGES, "-l", "ce", "-l", "ece", "-o", out, "-q"]
    result = invoke(args)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_compute_page_is_self_contained(images_page: str) -> None:
    page = Page(images_page)
    assert page.problems() == []
    assert images_page.startswith("<!DOCTYPE html>")
    assert page.tags.count("svg") == 2 + 2 + 1  # 2 distributions, 2 class charts, reliability


def test_compute_page_content(images_page: str) -> None:
    text = Page(images_page).text
    for heading in (
        "Inputs and how they were read",
        "Per-sample distributions",
        "By true class",
        "Reliability",
        "Worst samples by ce",
    ):
        assert heading in text
    # The plan's decisions with their reasons, as the table format says them.
    assert "predictions read as logits" in text
    assert "labels are class names matched to the prediction columns" in text
    # The worst sample of the README gallery (sample_data/README.md: img_0019, bird, horse).
    assert re.search(r"img_0019\s*bird\s*horse", text)


def test_html_to_stdout_and_merge_states(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    result = invoke(["compute", *HOUSES, "-l", "mse", "-f", "html", "--save-state", state])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!DOCTYPE html>")
    assert Page(result.stdout).problems() == []
    assert "By true class" not in Page(result.stdout).text  # regression: no classes
    merged = invoke(["merge", state, "-f", "html"])
    assert merged.exit_code == 0, merged.output
    assert "Per-sample distributions" in Page(merged.stdout).text


def test_slices_get_bars(tmp_path: Path) -> None:
    result = invoke(["compute", *TICKETS, "-l", "ce", "--group-by", "lang", "-f", "html"])
    assert result.exit_code == 0, result.output
    page = Page(result.stdout)
    assert page.problems() == []
    assert "By lang" in page.text
    assert page.tags.count("svg") == 3  # the distribution, the class bars, the slice bars


# --------------------------------------------------------------------------- escaping

HOSTILE_CLASS = "<script>alert(1)</script>"
AMP_CLASS = "R&D $x$"
HOSTILE_ID = '<b>id&1"</b>'


def test_user_text_is_escaped_in_html_and_svg(write: Any) -> None:
    preds = write(
        "preds.csv",
        {
            "id": [HOSTILE_ID, "b", "c", "d"],
            HOSTILE_CLASS: [0.7, 0.2, 0.6, 0.1],
            AMP_CLASS: [0.3, 0.8, 0.4, 0.9],
        },
    )
    labels = write(
        "labels.csv",
        {
            "id": [HOSTILE_ID, "b", "c", "d"],
            "y": [AMP_CLASS, HOSTILE_CLASS, HOSTILE_CLASS, AMP_CLASS],
        },
    )
    result = invoke(
        ["compute", preds, labels, "--id-col", "id", "-l", "ce", "--by-class", "-f", "html"]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    page = Page(out)
    assert page.problems() == []
    assert "script" not in page.tags and "b" not in page.tags
    # Shown as text: in the classes, the class table, the worst rows, the chart labels.
    assert page.text.count(HOSTILE_CLASS) >= 3
    assert HOSTILE_ID in page.text
    svg_texts = re.findall(r"<text[^>]*>([^<]*)</text>", out)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg_texts  # a class bar's label
    assert "R&amp;D $x$" in svg_texts  # '$' kept literal, not read as mathtext
    assert "<script" not in out


# --------------------------------------------------------------------------- errors, exit codes


def test_bad_output_suffix_and_folder_exit_2(tmp_path: Path) -> None:
    result = invoke(["compute", *HOUSES, "-l", "mse", "-o", tmp_path / "r.pdf"])
    assert result.exit_code == 2
    assert "cannot tell the format from the suffix '.pdf'" in result.stderr
    assert ".html" in result.stderr
    missing = invoke(["compute", *HOUSES, "-l", "mse", "-o", tmp_path / "no" / "r.html"])
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


# Runs losscli's console entry point as `losscli ARGS`, with matplotlib unimportable when the
# first argument is "block", then says on stderr which matplotlib modules were loaded.
_RUN_MAIN = """
import sys
if sys.argv[1] == "block":
    sys.modules["matplotlib"] = None  # `import matplotlib` raises ImportError
sys.argv = ["losscli", *sys.argv[2:]]
from losscli.cli import main
try:
    main()
finally:
    loaded = sorted(m for m in sys.modules if m.split(".")[0] == "matplotlib"
                    and sys.modules[m] is not None)
    sys.stderr.write("LOADED " + repr(loaded) + "\\n")
"""


def test_without_matplotlib_exit_2_with_the_pip_command(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    for args in (["-f", "html"], ["-o", str(out)]):
        proc = _python(_RUN_MAIN, "block", "compute", *map(str, HOUSES), "-l", "mse", *args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        assert "pip install 'losscli[report]'" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["--help"],
        ["compute", "--help"],
        ["compute", *map(str, HOUSES), "-l", "mse"],
        ["compute", *map(str, HOUSES), "-l", "mse", "-f", "markdown"],
    ],
)
def test_no_matplotlib_unless_html(args: list[str]) -> None:
    proc = _python(_RUN_MAIN, "allow", *args)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stderr


def test_html_loads_matplotlib() -> None:
    # The control for the test above: the same probe sees matplotlib when HTML is drawn.
    proc = _python(_RUN_MAIN, "allow", "compute", *map(str, HOUSES), "-l", "mse", "-f", "html")
    assert proc.returncode == 0, proc.stderr
    assert "'matplotlib'" in proc.stderr


def test_html_through_the_installed_entry_point(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    proc = subprocess.run(
        [str(ENTRY_POINT), "compute", *map(str, IMAGES), "-l", "ce", "-o", str(out), "-f", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["loss"] == "ce"
    page = Page(out.read_text(encoding="utf-8"))
    assert page.problems() == []
    assert "Worst samples by ce" in page.text


# --------------------------------------------------------------------------- check and compare

TICKETS_CHECK = [*TICKETS, "-l", "ce", "--max", "ce=0.5", "--group-by", "lang"]
TICKETS_COMPARE = [
    SAMPLE / "tickets_probs_v1.csv",
    SAMPLE / "tickets_probs_v2.csv",
    "--labels",
    SAMPLE / "tickets_labels.csv",
    "--label-col",
    "intent",
    "-l",
    "ce",
]


def test_check_page_shows_each_rule_and_its_result(tmp_path: Path) -> None:
    out = tmp_path / "check.html"
    # The README's slice example: v2 holds ce <= 0.5 overall but not ce <= 0.6 on German
    # tickets (README gallery, "Slices and weights").
    result = invoke(["check", *TICKETS_CHECK, "--slice-max", "ce=0.6", "-o", out])
    assert result.exit_code == 1, result.output
    page = Page(out.read_text(encoding="utf-8"))
    assert page.problems() == []
    text = page.text
    assert "FAILED, 1 of 4 rules failed" in text
    # Values as in the README gallery's check of the tickets (its numbers are recomputed with
    # pandas by tests/test_snapshot_numbers.py).
    # The rows of the rules table: the overall ceiling holds, the German slice fails.
    assert re.search(r"ce\s*max 0\.5\s*0\.466791\s*0\.5\s*\+0\.03321\s*[\d.]+\s*PASS", text)
    # The slice's own MDE (0.2299, as in the README gallery, recomputed there too).
    assert re.search(
        r"ce \[lang=de\]\s*slice max 0\.6\s*1\.18222\s*0\.6\s*-0\.5822\s*0\.2299\s*FAIL", text
    )
    assert "predictions read as probabilities" in text  # the plan's decisions
    assert "Per-sample distributions" in text
    assert page.tags.count("svg") == 2  # the rules against their limits, the distribution


def test_check_html_passing_to_stdout() -> None:
    result = invoke(["check", *TICKETS_CHECK, "-f", "html"])
    assert result.exit_code == 0, result.output
    page = Page(result.stdout)
    assert page.problems() == []
    assert "PASSED" in page.text


def test_compare_page_has_paired_difference_histograms(tmp_path: Path) -> None:
    result = invoke(["compare", *TICKETS_COMPARE, "-f", "html"])
    assert result.exit_code == 0, result.output
    page = Page(result.stdout)
    assert page.problems() == []
    text = page.text
    assert "tickets_probs_v2.csv minus that of" in text
    assert "600 paired samples" in text
    assert page.tags.count("svg") == 1


def test_compare_differences_histogram_counts_every_pair() -> None:
    from losscli.ci.compare import compare_files
    from losscli.ci.config import Settings

    settings = Settings(labels=SAMPLE / "tickets_labels.csv", loss=("ce",), label_col=("intent",))
    cmp = compare_files(
        [SAMPLE / "tickets_probs_v1.csv", SAMPLE / "tickets_probs_v2.csv"], settings
    )
    dist = cmp.losses[0].diffs[1].distribution
    assert dist is not None and dist.count == 600 == sum(dist.counts)
    # Hand check: the median difference has the sign of the shares better / worse.
    d = cmp.losses[0].diffs[1]
    assert (dist.quantiles["p50"] < 0) == (d.better > d.worse)


def test_compare_markdown_has_a_mermaid_chart_of_the_differences() -> None:
    result = invoke(["compare", *TICKETS_COMPARE, "-f", "markdown"])
    assert result.exit_code == 0, result.output
    md = result.stdout
    assert "Paired per-sample differences to the first model" in md
    title = next(line for line in md.splitlines() if "minus" in line and "title" in line)
    assert "ce: tickets_probs_v2.csv minus tickets_probs_v1.csv, per sample" in title
    bars = [line for line in md.splitlines() if line.strip().startswith("bar [")]
    counts = [int(c) for c in bars[-1].strip()[len("bar [") : -1].split(",")]
    assert sum(counts) == 600


def test_mermaid_text_cannot_end_the_string_or_make_markup() -> None:
    from losscli.report.distribution import mermaid_text

    assert mermaid_text('a"b<script>&#lt;\nx') == "a#quot;b#lt;script#gt;#amp;#35;lt; x"


def test_check_and_compare_html_through_the_installed_entry_point(tmp_path: Path) -> None:
    out = tmp_path / "compare.html"
    args = [str(ENTRY_POINT), "compare", *map(str, TICKETS_COMPARE), "-o", str(out)]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Comparing 2 models" in proc.stdout  # the table on stdout, the page in the file
    assert Page(out.read_text(encoding="utf-8")).problems() == []
    blocked = _python(_RUN_MAIN, "block", "check", *map(str, TICKETS_CHECK), "-f", "html")
    assert blocked.returncode == 2
    assert "pip install 'losscli[report]'" in blocked.stderr


def test_regression_page_has_the_residual_histogram() -> None:
    import pyarrow.parquet as pq

    result = invoke(["compute", *HOUSES, "-l", "mse", "-f", "html"])
    assert result.exit_code == 0, result.output
    text = Page(result.stdout).text
    assert "Residuals" in text and "classes" not in text
    # Oracle: prediction − price from the files with pyarrow (min and max are kept exactly).
    pred = pq.read_table(HOUSES[0]).column("pred").to_numpy()
    price = pq.read_table(HOUSES[1]).column("price").to_numpy()
    r = pred - price
    assert f"Prediction − label, {len(r):,} values: min {r.min():.4g}," in text
    assert f"max {r.max():.4g}." in text


def test_model_names_are_escaped_in_compare_html_and_markdown(tmp_path: Path) -> None:
    hostile = tmp_path / '<b>v2&"x#lt;.csv'
    hostile.write_bytes((SAMPLE / "tickets_probs_v2.csv").read_bytes())
    args = ["compare", SAMPLE / "tickets_probs_v1.csv", hostile, *TICKETS_COMPARE[2:]]
    page_text = invoke([*args, "-f", "html"]).stdout
    page = Page(page_text)
    assert page.problems() == []
    assert "b" not in page.tags
    assert '<b>v2&"x#lt;.csv' in page.text
    svg_texts = re.findall(r"<text[^>]*>([^<]*)</text>", page_text)
    assert any("&lt;b&gt;v2&amp;" in t for t in svg_texts)  # the chart's axis label
    md = invoke([*args, "-f", "markdown"]).stdout
    title = next(line for line in md.splitlines() if "title" in line and "minus" in line)
    assert "#lt;b#gt;v2#amp;#quot;x#35;lt;.csv minus tickets_probs_v1.csv" in title


def test_readme_shows_each_screenshot_with_its_command() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "screenshots", ROOT / "scripts" / "screenshots.py"
    )
    assert spec is not None and spec.loader is not None
    screenshots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screenshots)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, (command, _) in screenshots.REPORTS.items():
        assert f"$ {command} -o {name}.html\n" in readme, name
        assert f"](docs/screenshots/{name}.png)" in readme, name
        png = ROOT / "docs" / "screenshots" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_compare_group_by_page_has_slice_bars() -> None:
    result = invoke(["compare", *TICKETS_COMPARE, "--group-by", "lang", "-f", "html"])
    assert result.exit_code == 0, result.output
    page = Page(result.stdout)
    assert page.problems() == []
    assert "Paired differences by lang (against tickets_probs_v1.csv)" in page.text
    assert page.tags.count("svg") == 2  # the overall differences, the slice bars
    # The slices' rows as the table format gives them (same cells, escaped).
    table = invoke(["compare", *TICKETS_COMPARE, "--group-by", "lang"]).stdout
    de = next(line for line in table.splitlines() if line.startswith("de "))
    cells = [c.strip() for c in de.split("│")]
    assert re.search(r"\s*".join(re.escape(c) for c in cells), page.text)
