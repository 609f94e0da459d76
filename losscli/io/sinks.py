"""Writing every row's per-sample losses to CSV or Parquet, all or nothing.

Rows are written chunk by chunk to a temporary file beside the target, which replaces the
target only when the whole evaluation succeeded.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from losscli.engine.evaluate import EvaluatedChunk
from losscli.errors import UsageError

SUFFIXES = (".csv", ".parquet")


class PerSampleWriter:
    """A sink for ``engine.evaluate``: ``row``/``id``, ``label`` and one column per loss."""

    def __init__(self, path: Path) -> None:
        if path.suffix.lower() not in SUFFIXES:
            raise UsageError(f"--per-sample {path}: write a .csv or .parquet file")
        if not path.parent.exists():
            raise UsageError(f"--per-sample {path}: the folder {path.parent} does not exist")
        self.path = path
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        self._writer: Any = None

    def __call__(self, chunk: EvaluatedChunk) -> None:
        import pyarrow as pa

        batch = chunk.batch
        columns: dict[str, Any] = {"row": batch.rows}
        if batch.ids is not None:
            columns["id"] = batch.ids.astype(str)
        labels = chunk.label_text()
        if labels is not None:
            columns["label"] = labels
        for name, values in zip(chunk.labels, chunk.shown, strict=True):
            unique, k = name, 2
            while unique in columns:  # the same spec given twice
                unique, k = f"{name} ({k})", k + 1
            columns[unique] = values
        table = pa.table(columns)
        if self._writer is None:
            if self.path.suffix.lower() == ".csv":
                import pyarrow.csv as pacsv

                self._writer = pacsv.CSVWriter(str(self.tmp), table.schema)
            else:
                import pyarrow.parquet as pq

                self._writer = pq.ParquetWriter(str(self.tmp), table.schema)
        self._writer.write_table(table)

    def commit(self) -> None:
        """Close and move the finished file into place."""
        if self._writer is not None:
            self._writer.close()
        self.tmp.replace(self.path)

    def discard(self) -> None:
        """Drop the partial file (on any error)."""
        if self._writer is not None:
            self._writer.close()
        self.tmp.unlink(missing_ok=True)
