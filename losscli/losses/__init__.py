"""The loss registry: every loss losscli knows, by name and alias.

Adding a loss means writing its function in the module of its family and one ``LossDef``
in that module's ``LOSSES``; the CLI, the docs and the generic tests pick it up from here.
"""

from __future__ import annotations

from losscli.losses import (
    calibration,
    classification,
    dense,
    deviance,
    distribution,
    multilabel,
    regression,
)
from losscli.losses.base import Confidences, LossDef, Param, PerSample, Reduce, Target, Task

LOSSES: tuple[LossDef, ...] = (
    regression.LOSSES
    + deviance.LOSSES
    + classification.LOSSES
    + multilabel.LOSSES
    + calibration.LOSSES
    + distribution.LOSSES
    + dense.LOSSES
)


def registry(losses: tuple[LossDef, ...]) -> dict[str, LossDef]:
    """Every name and alias -> its loss; a name or alias used twice is a bug, raised here."""
    out: dict[str, LossDef] = {}
    for loss in losses:
        for key in (loss.name, *loss.aliases):
            if key in out:
                raise ValueError(f"loss name {key!r} is used by {out[key].name} and {loss.name}")
            out[key] = loss
    return out


REGISTRY: dict[str, LossDef] = registry(LOSSES)

__all__ = [
    "LOSSES",
    "REGISTRY",
    "Confidences",
    "LossDef",
    "Param",
    "PerSample",
    "Reduce",
    "Target",
    "Task",
]
