"""The input formats losscli reads, as data: suffix, reader and what the reader takes.

This module imports nothing heavy, so the command line builds its help texts and choices from
it without loading NumPy or pyarrow; ``losscli.io.readers`` imports a reader when a file of
its format is opened.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InputFormat:
    """One suffix: the reader function (``module:function``) and what it takes besides a path."""

    suffix: str
    reader: str
    keyed: bool = False  # holds several named arrays: takes --preds-key/--labels-key
    text: bool = False  # a text table: takes --delimiter, --decimal, --header/--no-header


INPUT_FORMATS: dict[str, InputFormat] = {
    f.suffix: f
    for f in (
        InputFormat(".csv", "losscli.io.text:read_csv", text=True),
        InputFormat(".csv.gz", "losscli.io.text:read_csv", text=True),
        InputFormat(".tsv", "losscli.io.text:read_tsv", text=True),
        InputFormat(".tsv.gz", "losscli.io.text:read_tsv", text=True),
        InputFormat(".tab", "losscli.io.text:read_tsv", text=True),
        InputFormat(".parquet", "losscli.io.arrow:read_parquet"),
        InputFormat(".pq", "losscli.io.arrow:read_parquet"),
        InputFormat(".npy", "losscli.io.arrays:read_npy"),
        InputFormat(".npz", "losscli.io.arrays:read_npz", keyed=True),
    )
}
# What --preds-format / --labels-format accept: the suffixes without their dot.
FORMAT_NAMES = tuple(suffix.lstrip(".") for suffix in INPUT_FORMATS)


def known_suffixes(*, keyed: bool = False, text: bool = False) -> str:
    """The suffixes (all, or those taking a key / a text dialect) for help and messages."""
    return " ".join(
        f.suffix for f in INPUT_FORMATS.values() if (not keyed or f.keyed) and (not text or f.text)
    )


def format_of(name: str) -> str:
    """The format key of a file name: its last suffix, or the last two for compressed files."""
    parts = name.lower().split(".")[1:]
    suffixes = ["." + p for p in parts]
    double = "".join(suffixes[-2:])
    if len(suffixes) >= 2 and double in INPUT_FORMATS:
        return double
    return suffixes[-1] if suffixes else ""
