"""How reports keep every number and name: table widths, counts and Markdown escaping.

- Off a terminal (a pipe, a file, a CI log) a report is rendered at its tables' natural width,
  however narrow ``COLUMNS`` says the console is: nothing is cut, nothing folds.
- On a terminal, tables that do not fit give up width in their text columns (ids, labels, loss
  and model names), which fold onto more lines; a value column never gets narrower than its
  widest value, and no cell is ever cut with "…".
- Markdown: user text (ids, class and model names, paths, loss specs) is escaped so that it
  cannot format, link, mention or inject HTML in a pull-request comment; in JUnit XML it is
  escaped by the XML writer, and characters XML cannot hold are replaced.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

from rich.console import Console, ConsoleOptions, Group
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text


def count(n: int) -> str:
    """A count for people: thousands separated by commas (1,234,567)."""
    return f"{n:,}"


def fit(table: Table, values: Collection[int]) -> Table:
    """Column settings so a table that is too wide folds text and never cuts a value.

    Columns whose index is in ``values`` hold numbers: they never get narrower than their
    widest value (their header may fold), and width comes from the text columns, widest
    first. Every column folds (breaks a long word over lines) instead of ending it with "…".
    """
    for i, column in enumerate(table.columns):
        column.overflow = "fold"
        column.no_wrap = False
        if i in values:
            column.min_width = max((_width(c) for c in column.cells), default=1)
    table.__class__ = FittedTable  # the same table; only how widths are settled changes
    table.value_columns = frozenset(values)  # type: ignore[attr-defined]
    return table


class FittedTable(Table):
    """A table that, once Rich has settled its widths, still fits the console.

    Rich shrinks wrapping columns first but then widens any column back to its
    ``min_width``, which can leave the table wider than the console (the terminal then wraps
    every line). The excess is taken here from the widest text column, one cell at a time.
    """

    value_columns: frozenset[int] = frozenset()
    _NARROWEST = 4  # a text column keeps at least this many cells, padding included

    def _calculate_column_widths(self, console: Console, options: ConsoleOptions) -> list[int]:
        widths = super()._calculate_column_widths(console, options)
        excess = sum(widths) - options.max_width
        while excess > 0:
            text = [
                i
                for i, w in enumerate(widths)
                if i not in self.value_columns and w > self._NARROWEST
            ]
            if not text:
                break
            widest = max(text, key=lambda i: widths[i])
            widths[widest] -= 1
            excess -= 1
        return widths


def _width(cell: object) -> int:
    text = cell if isinstance(cell, Text) else Text(str(cell))
    return max((line.cell_len for line in text.split()), default=0)


def _tables(renderable: object) -> Iterator[Table]:
    if isinstance(renderable, Group):
        for part in renderable.renderables:
            yield from _tables(part)
    elif isinstance(renderable, Table) and renderable.box is not None:  # not layout grids
        yield renderable


def natural_width(renderable: object, floor: int) -> int:
    """The width at which every table of ``renderable`` shows every cell on one line.

    Prose (``Text``, layout grids) does not count: it wraps at ``floor`` without losing words.
    """
    console = Console(width=1 << 16, color_system=None)
    widths = [
        Measurement.get(console, console.options, table).maximum for table in _tables(renderable)
    ]
    return max([floor, *widths])


# --------------------------------------------------------------------------- Markdown

# CommonMark backslash-escapes any ASCII punctuation; these are the ones that can start
# emphasis, code, links, HTML, entities or strikethrough inside a line.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&~])")


def md_text(text: str) -> str:
    """User text as literal Markdown inline text (a table cell, a list item).

    Formatting characters are backslash-escaped; ``@`` gets an empty HTML comment after it so
    that GitHub does not turn ``@name`` into a mention (a backslash does not stop that), while
    the rendered text still reads ``@name``. ``|`` is escaped by the table writer.
    """
    escaped = _MD_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))
    return escaped.replace("@", "@<!-- -->")


def md_code(text: str) -> str:
    """User text as a Markdown code span, whatever backticks it holds (CommonMark 6.1)."""
    text = " ".join(text.splitlines())
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    # One space each side is stripped when rendered: pad when the text starts or ends with a
    # backtick, or has a space at both ends that would be stripped otherwise.
    edge_tick = text.startswith("`") or text.endswith("`")
    both_spaces = text.startswith(" ") and text.endswith(" ") and text.strip() != ""
    pad = " " if edge_tick or both_spaces else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# XML 1.0 allows tab, newline, carriage return and these ranges; nothing else, escaped or not.
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """User text for an XML document: characters XML cannot hold become U+FFFD.

    ``<``, ``&`` and quotes are escaped by the XML writer; control characters would make the
    document unreadable by any parser, so they are replaced instead.
    """
    return _XML_INVALID.sub("\ufffd", text)
