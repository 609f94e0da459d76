"""``--test``: how ``check`` and ``compare`` judge paired differences (no NumPy imported, so
the CLI builds its option from it without loading the statistics)."""

from __future__ import annotations

from enum import StrEnum


class TestMethod(StrEnum):
    T = "t"
    BOOTSTRAP = "bootstrap"
    PERMUTATION = "permutation"
