"""Writing every row's per-sample losses to CSV or Parquet, all or nothing.

Rows are written chunk by chunk to a temporary file beside the target, which replaces the
target only when the whole evaluation succeeded (``losscli.io.outputs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from losscli.errors import UsageError
from losscli.io.outputs import OutputFile, check_target

SUFFIXES = (".csv", ".parquet")


class Columns(Protocol):
    """What the writer receives per chunk (``engine.evaluate.EvaluatedChunk`` is one)."""

    def columns(self) -> Mapping[str, Any]: ...


class PerSampleWriter:
    """A sink for ``engine.evaluate``: ``row``/``id``, ``label`` and one column per loss."""

    def __init__(self, path: Path, inputs: tuple[Path, ...] = ()) -> None:
        if path.suffix.lower() not in SUFFIXES:
            raise UsageError(f"--per-sample {path}: write a .csv or .parquet file")
        check_target("--per-sample", path, inputs)
        self.path = path
        self.out = OutputFile(path, "--per-sample")
        self._writer: Any = None

    def __call__(self, chunk: Columns) -> None:
        import pyarrow as pa

        columns = chunk.columns()
        table = pa.table(columns)
        try:
            if self._writer is None:
                self._writer = self._open(table.schema)
            self._writer.write_table(table)
        except OSError as exc:
            raise self.out.error(exc) from None

    def _open(self, schema: Any) -> Any:
        if self.path.suffix.lower() == ".csv":
            import pyarrow.csv as pacsv

            return pacsv.CSVWriter(str(self.out.path), schema)
        import pyarrow.parquet as pq

        return pq.ParquetWriter(str(self.out.path), schema)

    def commit(self) -> None:
        """Close and move the finished file into place."""
        try:
            if self._writer is not None:
                self._writer.close()
        except OSError as exc:
            self.out.discard()
            raise self.out.error(exc) from None
        self.out.commit()

    def discard(self) -> None:
        """Drop the partial file (on any error or interruption)."""
        try:
            if self._writer is not None:
                self._writer.close()
        except OSError:
            pass  # the run already failed; the partial file goes either way
        self.out.discard()
