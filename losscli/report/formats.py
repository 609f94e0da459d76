"""The output formats' names and the ``-o`` suffixes, without the renderers: this module
imports nothing (no Rich, no NumPy), so the command line builds its choices from it and
``losscli --help`` stays fast. ``losscli.report.render`` maps each name to its renderer
(a test checks that the two agree)."""

from __future__ import annotations

COMPUTE_NAMES = ("table", "json", "csv", "markdown", "html")
LOSS_NAMES = ("table", "markdown", "json")
CHECK_NAMES = ("table", "json", "markdown", "junit", "html")
COMPARE_NAMES = ("table", "json", "markdown", "csv", "html")

# ``-o PATH``: the format its suffix names.
OUTPUT_SUFFIXES = {
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".xml": "junit",
    ".txt": "table",
    ".csv": "csv",
    ".html": "html",
    ".htm": "html",
}
