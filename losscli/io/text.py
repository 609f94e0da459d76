"""CSV and TSV (optionally gzip-compressed), streamed by pyarrow in blocks.

Before pyarrow parses anything, the file's head is checked here: its encoding (UTF-8, with or
without Excel's byte-order mark; UTF-16 and other encodings are refused with the fix), its
header row (parsed with quoting rules, however wide) and whether that row is a header at all.
Every numeric column is read as float64 so a later block cannot change a column's type.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from losscli.errors import InputError, UsageError
from losscli.io.arrow import arrow_error, batch_to_chunk, column_kind
from losscli.io.replay import open_input, rereadable
from losscli.io.sources import (
    ColumnKind,
    Header,
    Source,
    TableChunk,
    TableSource,
    is_number,
    rechunked,
)
from losscli.io.wide import WIDE_COLUMNS, WideParser

# pyarrow parses in blocks of this many bytes and reads ahead about forty blocks per file:
# 128 KiB parses as fast as 1 MiB with an eighth of the buffers (5 MiB per file, not 40).
# A row must fit in a block: longer rows get larger blocks.
_BLOCK_BYTES = 1 << 17
_MAX_BLOCK_BYTES = 1 << 31
_SNIFF_BYTES = 1 << 16
_MAX_HEADER_BYTES = 1 << 28
_SNIFF_ROWS = 200
_WHOLE = re.compile(r"[+-]?\d+")
_UTF8_BOM = b"\xef\xbb\xbf"
# A row past the head of standard input that does not fit the parse block: the pass would
# have to start again with larger blocks, and the bytes before it are gone.
_LONG_ROW = (
    "{}: a row far into standard input is longer than the parse block sized from the first "
    "rows ({} KiB), and standard input can not be read again; write it to a file and pass its "
    "path"
)
_WIDE_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


@dataclass(frozen=True, slots=True)
class Dialect:
    """How a text table is written; None means the format's own default or a decision."""

    delimiter: str | None = None
    decimal: str = "."
    header: bool | None = None


def dialect_of(delimiter: str | None, decimal: str, header: bool | None) -> Dialect:
    """The dialect the options name, checked (--delimiter, --decimal, --header/--no-header)."""
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise UsageError(f"--delimiter {delimiter!r}: give one character, e.g. ';' or ','")
    if decimal not in (".", ","):
        raise UsageError(f"--decimal {decimal!r}: give '.' or ','")
    if decimal == (delimiter or ","):
        raise UsageError(
            f"--decimal {decimal!r} is also the field separator; pass --delimiter ';' as well"
        )
    return Dialect(delimiter, decimal, header)


def _read_head(path: Path) -> tuple[bytes, bool]:
    """The first bytes of the (decompressed) file: at least the whole first line and a few
    more, and whether that is the whole file."""
    import pyarrow as pa

    chunks: list[bytes] = []
    size, lines, done = 0, 0, False
    try:
        with open_input(path) as stream:
            while (lines < _SNIFF_ROWS and size < _SNIFF_BYTES) or lines < 2:
                block = stream.read(_SNIFF_BYTES)
                if not block:
                    done = True
                    break
                chunks.append(block)
                size, lines = size + len(block), lines + block.count(b"\n")
                if size > _MAX_HEADER_BYTES and lines < 1:
                    raise InputError(f"{path}: the first line is over 256 MiB; is this a CSV?")
    except (OSError, pa.ArrowInvalid) as exc:
        raise _stream_error(path, exc) from None
    return b"".join(chunks), done


def _stream_error(path: Path, exc: Exception) -> InputError:
    if path.name.lower().endswith(".gz"):
        return InputError(
            f"{path}: not a valid gzip file ({exc}); compress it with gzip, or drop the .gz suffix"
        )
    return arrow_error(str(path), exc)


def _decode_head(path: Path, raw: bytes) -> str:
    """The head as text, refusing encodings other than UTF-8 with the fix."""
    for bom, encoding in _WIDE_BOMS.items():
        if raw.startswith(bom):
            raise InputError(
                f"{path}: the file is {encoding} text; losscli reads UTF-8: convert it "
                f"(iconv -f {encoding} -t UTF-8, or Excel's 'CSV UTF-8' format)"
            )
    raw = raw.removeprefix(_UTF8_BOM)
    if b"\x00" in raw[:4096]:
        raise InputError(
            f"{path}: the file holds NUL bytes: binary data, or UTF-16 without a byte-order "
            "mark; losscli reads UTF-8 text"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: the text is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}, "
            "latin-1 or Windows-1252?); losscli reads UTF-8: convert it "
            "(iconv -f latin1 -t UTF-8, or Excel's 'CSV UTF-8' format)"
        ) from None


def _records(text: str, delimiter: str) -> list[list[str]]:
    """The head's rows as fields (quoting rules apply)."""
    lines = text.splitlines(keepends=True)
    csv.field_size_limit(_MAX_HEADER_BYTES)
    try:
        return [r for r in csv.reader(lines, delimiter=delimiter) if r]
    except csv.Error as exc:
        raise InputError(f"can not parse the first rows: {exc}") from None


def _as_number(field: str, decimal: str) -> bool:
    return is_number(field.replace(decimal, ".") if decimal != "." else field)


def decide_header(name: str, rows: list[list[str]], dialect: Dialect) -> Header:
    """Whether the first row is a header (see README, "What files losscli reads, and how")."""
    if dialect.header is not None:
        return Header(dialect.header, f"--{'' if dialect.header else 'no-'}header given")
    first = [f.strip() for f in rows[0]]
    if not all(_as_number(f, dialect.decimal) for f in first):
        return Header(True)
    numbered = all(_WHOLE.fullmatch(f) for f in first) and len(set(first)) == len(first)
    below = [f.strip() for row in rows[1:] for f in row if f.strip()]
    if numbered and below and not all(_WHOLE.fullmatch(f) for f in below):
        pandas = first == [str(i) for i in range(len(first))]
        return Header(
            True,
            f"the first row {_shown(first)} holds distinct whole numbers above values that are "
            "not: column names"
            + (" (pandas writes 0, 1, ... for unnamed columns)" if pandas else "")
            + " (pass --no-header if it is data)",
        )
    if first != [str(i) for i in range(len(first))]:
        return Header(
            False,
            "every field of the first row is a number, so it is data; columns are named "
            "0, 1, ... (pass --header if it is a header)",
        )
    return Header(
        False,
        f"every field of the first row {_shown(first)} is a whole number, as are the values "
        "below it, so it is read as data (pass --header if it is pandas' default header)",
        ambiguous=True,
    )


def _shown(fields: list[str]) -> str:
    return f"({', '.join(fields[:3])}{', ...' if len(fields) > 3 else ''})"


def read_delimited(
    path: Path, fmt: str, *, chunk_rows: int, dialect: Dialect | None
) -> TableSource:
    """A CSV/TSV file as a table source (the header and encoding checked first)."""
    d = dialect or Dialect()
    delimiter = d.delimiter or ("\t" if fmt == "tsv" else ",")
    raw, complete = _read_head(path)
    if not complete:  # the last line may be cut, even inside a character
        raw = raw[: raw.rfind(b"\n") + 1] or raw
    text = _decode_head(path, raw)
    if not text.strip():
        raise InputError(f"{path}: the file is empty; expected a header and one row per sample")
    rows = _records(text, delimiter)
    header = decide_header(str(path), rows, d)
    names = (
        [f.strip() for f in rows[0]] if header.present else [str(i) for i in range(len(rows[0]))]
    )
    dupes = sorted(n for n, k in Counter(names).items() if k > 1)
    if dupes:
        raise InputError(f"{path}: duplicate column names in the header: {', '.join(dupes)}")
    longest = max(map(len, raw.splitlines()), default=0)
    parser: _Parser | WideParser = (
        _Parser(path, names, header.present, delimiter, d.decimal, longest)
        if len(names) <= WIDE_COLUMNS
        else WideParser(path, names, header.present, delimiter, d.decimal)
    )
    kinds = parser.kinds()
    source = TableSource(
        str(path), fmt, names, kinds, header, None, parser.chunks(chunk_rows), parser.peek()
    )
    if isinstance(parser, _Parser):
        source.arrow = parser.arrow_batches
        source.position = parser.tell
        parser.coded = source.coded
    return source


class _Parser:
    """pyarrow's streaming CSV reader with the names, types and block size decided here."""

    def __init__(
        self, path: Path, names: list[str], skip: bool, delimiter: str, decimal: str, longest: int
    ) -> None:
        self.path, self.names, self.skip = path, names, skip
        self.delimiter, self.decimal = delimiter, decimal
        self.block = _BLOCK_BYTES
        while self.block < 4 * longest:
            self.block *= 2
        self.types: dict[str, Any] = {}
        # The file under the reader being streamed: its position is the pass's progress.
        self._file: Any = None
        self._read = 0

    def tell(self) -> int:
        """Bytes of the file (compressed, for .gz) read by the current or last pass."""
        try:
            if self._file is not None:
                self._read = max(self._read, self._file.tell())
        except (OSError, ValueError):  # closed
            pass
        return self._read

    def _input(self, main: bool = False) -> Any:
        """The file, decompressed if gzip, remembering the raw file for ``tell`` (``main``:
        the pass that reads a stream past its head, see ``losscli.io.replay``)."""
        import pyarrow as pa

        raw = open_input(self.path, main=main, decompress=False)
        self._file, self._read = raw, 0
        if self.path.name.lower().endswith(".gz"):
            return pa.CompressedInputStream(raw, "gzip")
        return raw
        self.coded: set[str] = set()  # the source's: columns given as Coded

    def _open(
        self,
        types: dict[str, Any] | None,
        include: list[str] | None,
        block: int,
        text_nulls: bool = False,
        main: bool = False,
    ) -> Any:
        """The streaming reader; ``text_nulls``: unquoted NA, null, ... in text columns are
        missing, as in numeric ones (R writes NA unquoted and quotes its text, so a quoted
        "NA" stays text); ``main``: see ``_input``."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        read = pacsv.ReadOptions(
            block_size=block, column_names=self.names, skip_rows=1 if self.skip else 0
        )
        # An empty line in a one-column file is a missing value, not nothing.
        parse = pacsv.ParseOptions(delimiter=self.delimiter, ignore_empty_lines=False)
        convert = pacsv.ConvertOptions(
            column_types=types,
            include_columns=include,
            decimal_point=self.decimal,
            strings_can_be_null=text_nulls,
            quoted_strings_can_be_null=False,
        )
        try:
            return pacsv.open_csv(
                self._input(main), read_options=read, parse_options=parse, convert_options=convert
            )
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                raise InputError(f"{self.path}: the file has a header but no rows") from None
            raise self._error(exc) from None
        except OSError as exc:
            raise _stream_error(self.path, exc) from None

    def _error(self, exc: Exception) -> InputError:
        return InputError(
            f"{self.path}: {exc}; every prediction and numeric label must be a number"
        )

    def kinds(self) -> dict[str, ColumnKind]:
        import pyarrow as pa

        schema = self._retrying(self._schema)
        kinds = {f.name: column_kind(f.type) for f in schema}
        # Numbers as float64 so a later block cannot change a column's type; booleans
        # (True/false/TRUE as pandas and R write them) stay booleans.
        self.types = {
            f.name: pa.bool_()
            if pa.types.is_boolean(f.type)
            else pa.float64()
            if kinds[f.name] is ColumnKind.NUMBER
            else pa.string()
            for f in schema
        }
        return kinds

    def _schema(self, block: int) -> Any:
        """The inferred schema; the reader's file closed at once (on standard input, a
        reader left open would go on reading ahead into the head buffer)."""
        reader = self._open(None, None, block)
        try:
            return reader.schema
        finally:
            self._file.close()

    def _retrying(self, action: Any) -> Any:
        """Run ``action(block)``, growing the block while a row does not fit in it."""
        import pyarrow as pa

        while True:
            try:
                return action(self.block)
            except pa.ArrowInvalid as exc:
                if "straddling" not in str(exc) or self.block >= _MAX_BLOCK_BYTES:
                    raise self._error(exc) from None
                self.block *= 4

    def batches(self, columns: list[str], main: bool = False) -> Iterator[TableChunk]:
        """Row chunks as ndarrays (Coded columns parsed straight into dictionaries)."""
        import pyarrow as pa

        types = {
            c: pa.dictionary(pa.int32(), pa.string())
            if c in self.coded and self.types[c] == pa.string()
            else self.types[c]
            for c in columns
        }
        coded = self.coded & set(columns)
        for batch in self.arrow_batches(columns, types, text_nulls=bool(coded), main=main):
            yield batch_to_chunk(batch, columns, str(self.path), coded)

    def arrow_batches(
        self,
        columns: list[str],
        types: dict[str, Any] | None = None,
        text_nulls: bool = False,
        main: bool = False,
    ) -> Iterator[Any]:
        """Arrow record batches; a row longer than the block restarts with a larger block
        after the rows already given. The file is closed when the pass ends. ``types``:
        the columns' Arrow types (the decided ones by default); ``text_nulls``: see
        ``_open``."""
        types = types or {c: self.types[c] for c in columns}
        opened: list[Any] = []  # this pass's files (a peek's pass may end later)
        try:
            yield from self._batches_from(columns, opened, types, text_nulls, main)
        finally:
            if self._file is not None and any(f is self._file for f in opened):
                self.tell()
                self._file = None
            for file in opened:
                file.close()

    def _batches_from(
        self,
        columns: list[str],
        opened: list[Any],
        types: dict[str, Any],
        text_nulls: bool,
        main: bool = False,
    ) -> Iterator[Any]:
        import pyarrow as pa

        done = 0
        while True:
            reader = self._open(types, columns, self.block, text_nulls, main)
            opened.append(self._file)
            seen = 0
            try:
                for batch in iter(reader.read_next_batch, None):
                    if seen + batch.num_rows > done:
                        yield batch.slice(max(0, done - seen))
                        done = seen + batch.num_rows
                    seen += batch.num_rows
                return
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                if "straddling" not in str(exc) or self.block >= _MAX_BLOCK_BYTES:
                    raise self._error(exc) from None
                if main and not rereadable(self.path):
                    raise InputError(_LONG_ROW.format(self.path, self.block >> 10)) from None
                self.block *= 4
            except OSError as exc:
                raise _stream_error(self.path, exc) from None

    def chunks(self, rows: int) -> Any:
        def chunks(columns: list[str]) -> Iterator[TableChunk]:
            return rechunked((c for c in self.batches(columns, main=True) if c), rows)

        return chunks

    def peek(self) -> Any:
        return self.batches


def read_csv(
    path: Path, *, chunk_rows: int, key: str | None = None, dialect: Dialect | None = None
) -> Source:
    return read_delimited(path, "csv", chunk_rows=chunk_rows, dialect=dialect)


def read_tsv(
    path: Path, *, chunk_rows: int, key: str | None = None, dialect: Dialect | None = None
) -> Source:
    return read_delimited(path, "tsv", chunk_rows=chunk_rows, dialect=dialect)
