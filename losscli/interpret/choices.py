"""How inputs are read, as the user chooses it (``--class-labels``, ``--nan``, ``--join``),
in a module that imports no NumPy, so the CLI builds its options without loading the
planner."""

from __future__ import annotations

from enum import StrEnum


class ClassLabels(StrEnum):
    """How whole-number labels name classes (--class-labels)."""

    INDEX = "index"  # positions 0..C-1 of the prediction columns
    NAME = "name"  # the prediction columns' headers


class NanPolicy(StrEnum):
    ERROR = "error"
    SKIP = "skip"


class Join(StrEnum):
    """``--join`` with ``--id-col``: ids in one file only are an error, or left out."""

    STRICT = "strict"
    INNER = "inner"
