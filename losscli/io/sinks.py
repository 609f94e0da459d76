"""Writing every row's per-sample losses to CSV or Parquet, all or nothing.

Rows are written chunk by chunk to a temporary file beside the target, which replaces the
target only when the whole evaluation succeeded (``losscli.io.outputs``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from losscli.errors import UsageError
from losscli.io import cleanup
from losscli.io.outputs import OutputFile, _umask, check_target, output_error

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


@dataclass(frozen=True, slots=True)
class PartFiles:
    """Where partition ``i`` writes its per-sample rows: ``folder/part-0000i<suffix>``."""

    folder: Path
    suffix: str

    def path(self, index: int) -> Path:
        return self.folder / f"part-{index:05d}{self.suffix}"


class PerSampleFolder:
    """``--per-sample`` under ``--engine dask``: one file per partition in a folder named as
    the option says (``losses.parquet/part-00000.parquet``, ...), written whole or not at all:
    the parts go to a temporary folder beside it, renamed into place when every part is done
    (a folder or file already there is replaced). The workers must see that folder (a local
    cluster does; a remote one needs a shared file system)."""

    def __init__(self, path: Path, inputs: tuple[Path, ...] = ()) -> None:
        suffix = path.suffix.lower()
        if suffix not in SUFFIXES:
            raise UsageError(f"--per-sample {path}: name the folder with .csv or .parquet")
        check_target("--per-sample", path, inputs)
        self.target = path
        self.final = Path(os.path.realpath(path))
        try:
            temp = tempfile.mkdtemp(
                prefix=f".{self.final.name}.", suffix=".tmp", dir=self.final.parent
            )
        except OSError as exc:
            raise output_error("--per-sample", path, exc) from None
        self.parts = PartFiles(cleanup.register(Path(temp)), suffix)

    def commit(self) -> None:
        """Move the finished folder into place (replacing what was there)."""
        folder = self.parts.folder
        try:
            folder.chmod(0o777 & ~_umask())
            if os.path.lexists(self.final):
                old = cleanup.register(folder.with_suffix(".old"))
                self.final.replace(old)
                folder.replace(self.final)
                cleanup.remove(old)
            else:
                folder.replace(self.final)
        except OSError as exc:
            self.discard()
            raise output_error("--per-sample", self.target, exc) from None
        cleanup.forget(folder)

    def discard(self) -> None:
        """Drop the partial folder (on any error or interruption)."""
        cleanup.remove(self.parts.folder)
