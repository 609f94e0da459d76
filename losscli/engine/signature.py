"""Signatures: one line naming everything that changes a loss value, in sacreBLEU's style.

``loss:ce(label_smoothing=0.1)|convention:losscli|reduction:mean|kind:logits|task:multiclass|
classes:5|n:200|labels:1a2b3c4d5e6f|version:0.1.0`` (one line). Two values are comparable
exactly when their signatures agree on every field but ``version``. Fields that do not apply
(``kind`` for regression, ``classes`` without classes, ``weights`` and ``slice`` when not
used) are left out. ``labels`` is the first 12 hex digits of the sha256 of the labels'
content.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from losscli.losses.base import Task

if TYPE_CHECKING:
    from losscli.interpret.plan import Plan
    from losscli.spec import LossSpec

LABELS_HASH_DIGITS = 12
# Tasks whose labels are classes (``classes`` is their number).
_CLASS_TASKS = frozenset({Task.BINARY, Task.MULTICLASS, Task.DISTRIBUTION, Task.DENSE})
# Fields that never make two values of two models incomparable: the version, and the kind,
# which describes the predictions (a new model may give logits where the old gave
# probabilities), as their hash does.
# ``ci`` says how the interval beside a value was made (the value itself does not change).
INFORMATIVE = ("version", "kind", "ci")
# Fields that define the loss itself; the others describe the data it was computed on.
DEFINITION = ("loss", "convention", "reduction")


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_param_value(v) for v in value) + "]"
    return str(value)  # a float's str is its shortest repr: 0.1, 1e-08


def loss_text(name: str, params: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    """The canonical loss: its registry name and, sorted, the parameters that differ from
    their defaults (so ``cross_entropy:label_smoothing=0`` reads as ``ce``)."""
    given = {k: v for k, v in params.items() if k not in defaults or defaults[k] != v}
    if not given:
        return name
    return f"{name}({','.join(f'{k}={_param_value(given[k])}' for k in sorted(given))})"


@dataclass(frozen=True, slots=True)
class Signature:
    """The settings and the data behind one loss value."""

    loss: str  # from loss_text
    convention: str
    reduction: str
    task: str
    n: int
    labels: str  # full sha256 of the labels' content; the text shows a prefix
    version: str
    kind: str | None = None  # how predictions were read (logits, probs), where it applies
    classes: int | None = None
    weights: str | None = None  # the weight column, when rows are weighted
    slice: str | None = None  # the slice, e.g. region=eu, for a per-slice value
    ci: str | None = None  # a bootstrap interval's draws, e.g. bootstrap(b=1000,seed=12345)

    def fields(self) -> dict[str, str]:
        """The fields in their fixed order, leaving out those that do not apply."""
        items: list[tuple[str, object]] = [
            ("loss", self.loss),
            ("convention", self.convention),
            ("reduction", self.reduction),
            ("kind", self.kind),
            ("task", self.task),
            ("classes", self.classes),
            ("weights", self.weights),
            ("slice", self.slice),
            ("n", self.n),
            ("labels", self.labels[:LABELS_HASH_DIGITS]),
            ("ci", self.ci),
            ("version", self.version),
        ]
        return {k: _clean(str(v)) for k, v in items if v is not None}

    def text(self) -> str:
        return "|".join(f"{k}:{v}" for k, v in self.fields().items())


@lru_cache(maxsize=1)
def losscli_version() -> str:
    """The installed version (read once: every result of every slice is signed with it)."""
    import losscli

    return str(losscli.__version__)


def signature_of(
    spec: LossSpec,
    reduction: str,
    plan: Plan,
    n: int,
    labels_sha256: str | None,
    ci: str | None = None,
) -> Signature:
    """The signature of one loss's value over a run read as ``plan`` says."""
    defaults = {p.name: p.default for p in spec.loss.params}
    return Signature(
        loss=loss_text(spec.loss.name, spec.params, defaults),
        convention=spec.convention.value,
        reduction=reduction,
        task=plan.task.value,
        n=n,
        labels=labels_sha256 or "none",
        version=losscli_version(),
        # Only the cross-entropy family reads predictions as logits or probabilities.
        kind=None if plan.kind is None or not spec.loss.needs_kind else plan.kind.value,
        classes=len(plan.classes) if plan.task in _CLASS_TASKS else None,
        ci=ci,
    )


def _clean(value: str) -> str:
    """A field value that cannot break the line apart (``|`` separates fields)."""
    return value.replace("|", "/").replace("\n", " ").replace("\r", " ")


def parse_signature(text: str) -> dict[str, str]:
    """``key:value|key:value`` -> {key: value} (a value may itself hold ':')."""
    out: dict[str, str] = {}
    for part in text.split("|"):
        key, sep, value = part.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True, slots=True)
class FieldDifference:
    field: str
    baseline: str | None
    now: str | None


def differences(baseline: Mapping[str, str], now: Mapping[str, str]) -> list[FieldDifference]:
    """Fields on which two parsed signatures differ (``INFORMATIVE`` fields never count)."""
    keys = [*baseline, *(k for k in now if k not in baseline)]
    return [
        FieldDifference(k, baseline.get(k), now.get(k))
        for k in keys
        if k not in INFORMATIVE and baseline.get(k) != now.get(k)
    ]
