"""The loss registry: every loss losscli knows, by name and alias.

Adding a loss means writing its function in the module of its family and one ``LossDef``
in that module's ``LOSSES``; the CLI, the docs and the generic tests pick it up from here.
"""

from __future__ import annotations

from losscli.losses import classification, dense, distribution, regression
from losscli.losses.base import LossDef, Param, PerSample, Reduce, Target, Task

LOSSES: tuple[LossDef, ...] = (
    regression.LOSSES + classification.LOSSES + distribution.LOSSES + dense.LOSSES
)

REGISTRY: dict[str, LossDef] = {key: loss for loss in LOSSES for key in (loss.name, *loss.aliases)}

__all__ = ["LOSSES", "REGISTRY", "LossDef", "Param", "PerSample", "Reduce", "Target", "Task"]
