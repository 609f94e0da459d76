"""The engine's choices a user makes on the command line (``--ci``, ``--reduction``,
``--convention``) and their defaults, in a module that imports no NumPy, so the CLI builds
its options from them without loading the engine. ``CONVENTION_CHOICES`` equals the
``losscli.losses.numerics.Convention`` values plus ``all`` (checked by a test: the losses
package loads NumPy on import, so the CLI cannot read the enum itself)."""

from __future__ import annotations

from enum import StrEnum


class CiMethod(StrEnum):
    T = "t"
    BOOTSTRAP = "bootstrap"


class Reduction(StrEnum):
    """``--reduction``: how per-sample values become one number."""

    MEAN = "mean"
    SUM = "sum"


DEFAULT_SEED = 12345
DEFAULT_SAMPLES = 1000
CONVENTION_CHOICES = ("losscli", "torch", "sklearn", "keras", "all")
