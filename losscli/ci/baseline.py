"""Whether a baseline's values can be compared with this run's: their signatures, field by field.

Two values are comparable when their signatures (``losscli.engine.signature``) agree on every
field but the losscli version and the predictions kind. Those two and the predictions' hash
never block: a new model is expected to have new predictions (and may give logits where the
old one gave probabilities). Every other difference says the numbers were computed on other
data (labels, n, task, classes, weights, slice) or are another loss (loss, convention,
reduction).

- Differences in the data stop ``check`` with exit 3, naming each, unless
  ``--allow-different-data``; then the report says first that the data differ.
- A different loss definition always stops it: no flag makes two losses comparable.
- A baseline without signatures (written by an older losscli) is accepted with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from losscli.engine.results import LossResult
from losscli.engine.signature import (
    DEFINITION,
    INFORMATIVE,
    FieldDifference,
    differences,
    parse_signature,
)
from losscli.errors import InputError

# What each field is called in a message.
_NAMES = {
    "loss": "loss",
    "convention": "convention",
    "reduction": "reduction",
    "task": "task",
    "classes": "number of classes",
    "weights": "weight column",
    "slice": "slice",
    "n": "n",
    "labels": "labels",
}
_LOG = logging.getLogger("losscli")
_RECOMPUTE = "recompute the baseline with 'losscli compute ... --format json' on the same labels"


@dataclass(frozen=True, slots=True)
class Comparability:
    """What the signatures say: ``differences`` in the data (messages), and ``warnings``."""

    data_differences: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def same_data(self) -> bool:
        return not self.data_differences


def _shown(value: str | None) -> str:
    return "(none)" if value is None else value


def _labels_message(
    diffs: Mapping[str, FieldDifference], old: dict[str, str], names: tuple[str, str]
) -> str:
    """``labels differ: baseline sha256 1a2b… n=200, now 9f8e… n=3`` (n beside the hash)."""
    lab, n = diffs.get("labels"), diffs.get("n")
    old_hash = lab.baseline if lab else old.get("labels")
    new_hash = lab.now if lab else old.get("labels")
    old_n = n.baseline if n else old.get("n")
    new_n = n.now if n else old.get("n")
    what = "labels differ" if lab else "n differs (same labels)"
    return (
        f"{what}: {names[0]} sha256 {_shown(old_hash)}… n={_shown(old_n)}, "
        f"{names[1]} {_shown(new_hash)}… n={_shown(new_n)}"
    )


def _messages(
    old: dict[str, str], diffs: list[FieldDifference], names: tuple[str, str] = ("baseline", "now")
) -> list[str]:
    """One message per difference; the labels' hash and n share one."""
    by_field = {d.field: d for d in diffs}
    out = []
    if "labels" in by_field or "n" in by_field:
        out.append(_labels_message(by_field, old, names))
    for d in diffs:
        if d.field in ("labels", "n"):
            continue
        name = _NAMES.get(d.field, d.field)
        out.append(f"{name} differs: {names[0]} {_shown(d.baseline)}, {names[1]} {_shown(d.now)}")
    return out


def judge(
    baseline_signatures: Mapping[str, str | None],
    results: Sequence[LossResult],
    *,
    source: str,
    allow_different_data: bool = False,
) -> Comparability:
    """Compare the baseline's signature of every loss with this run's.

    ``baseline_signatures`` maps a loss (spec as written) to its signature in the baseline,
    ``None`` when the baseline has none. Raises ``InputError`` (exit 3) for a different loss
    definition, and for different data unless ``allow_different_data``.
    """
    data: list[str] = []
    definition: list[str] = []
    unsigned: list[str] = []
    for r in results:
        if r.loss not in baseline_signatures:
            continue  # no baseline value for this loss: the rules say whether that matters
        text = baseline_signatures[r.loss]
        if not text or not r.signature:
            unsigned.append(r.loss)
            continue
        old, now = parse_signature(text), parse_signature(r.signature)
        diffs = differences(old, now)
        _LOG.info("%s: baseline signature %s", r.loss, text)
        _LOG.info("%s: this run's signature %s", r.loss, r.signature)
        for key in INFORMATIVE:
            if old.get(key) != now.get(key):
                _LOG.info(
                    "%s: %s %s in the baseline, %s now (does not block)",
                    r.loss,
                    key,
                    old.get(key),
                    now.get(key),
                )
        if not diffs:
            _LOG.info("%s: comparable with the baseline", r.loss)
        for message in _messages(old, [d for d in diffs if d.field not in DEFINITION]):
            if message not in data:
                data.append(message)
        own = [d for d in diffs if d.field in DEFINITION]
        definition += [f"{r.loss}: {m}" for m in _messages(old, own)]
    if definition:
        raise InputError(
            f"{source} is not comparable with this run: {'; '.join(definition)}; {_RECOMPUTE} "
            "and the same loss settings"
        )
    if data and not allow_different_data:
        raise InputError(
            f"{source} was computed on other data: {'; '.join(data)}; {_RECOMPUTE}, or pass "
            "--allow-different-data to compare anyway"
        )
    warnings = []
    if unsigned:
        warnings.append(
            f"{source} has no signature for {', '.join(unsigned)} (written by an older "
            "losscli): cannot tell whether it was computed on the same data; recompute it "
            "to have it checked"
        )
    return Comparability(tuple(data), tuple(warnings))


def same_labels(models: Sequence[str], results: Sequence[Sequence[LossResult]]) -> None:
    """``compare``: every model must be scored against the same labels, the same way.

    Signatures may differ in n (``--join inner`` and ``--nan skip`` leave out different
    rows per model; the samples are paired by key), the kind and the version, nothing else.
    Raises ``InputError`` (exit 3) naming the first model that differs from the first.
    """
    first = results[0]
    for model, rows in zip(models[1:], results[1:], strict=True):
        for a, b in zip(first, rows, strict=True):
            if not (a.signature and b.signature):
                continue
            old, now = parse_signature(a.signature), parse_signature(b.signature)
            found = differences(old, now)
            blocking = [d for d in found if d.field != "n"]
            if blocking:
                # n is worth showing beside the labels' hash, not on its own.
                shown = found if any(d.field == "labels" for d in found) else blocking
                raise InputError(
                    f"{model} was not scored like {models[0]}: "
                    + "; ".join(_messages(old, shown, (models[0], model)))
                    + "; compare models only on the same labels with the same settings"
                )
