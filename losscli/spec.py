"""Loss specs as users write them: ``name`` or ``name:key=value,key=value``.

List values go in brackets (``ce:weight=[1,2,0.5]``); booleans are ``true``/``false``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from losscli.engine.choices import Reduction
from losscli.errors import UsageError
from losscli.losses import REGISTRY, LossDef, Param, Reduce
from losscli.losses.numerics import Convention


@dataclass(frozen=True, slots=True)
class LossSpec:
    """A parsed ``--loss`` option: the text as written, the loss and its explicit parameters."""

    text: str
    loss: LossDef
    params: dict[str, Any]
    convention: Convention = Convention.LOSSCLI

    @property
    def label(self) -> str:
        """How results name this spec: as written, plus the convention when one is chosen."""
        if self.convention is Convention.LOSSCLI:
            return self.text
        return f"{self.text} [{self.convention.value}]"

    def value_of(self, name: str) -> Any:
        """A parameter's value: the one given, else the loss's default."""
        if name in self.params:
            return self.params[name]
        param = self.loss.param(name)
        return None if param is None else param.default


def suggest(word: str, choices: list[str]) -> str:
    """' Did you mean ...?' with the closest choices, or '' when none is close."""
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def find_loss(name: str) -> LossDef:
    """The registry entry for a name or alias; exit-2 error with the closest names otherwise."""
    key = name.strip().lower()
    if key in REGISTRY:
        return REGISTRY[key]
    names = sorted({loss.name for loss in REGISTRY.values()})
    raise UsageError(
        f"unknown loss {name!r}.{suggest(key, sorted(REGISTRY))} "
        f"Valid losses: {', '.join(names)} ('losscli losses' lists their aliases)"
    )


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _convert(spec: str, param: Param, raw: str) -> Any:
    """Parse one value to the parameter's type and check its rule."""
    try:
        value: Any
        if param.type is bool:
            lowered = raw.lower()
            if lowered not in {"true", "false", "1", "0"}:
                raise ValueError(raw)
            value = lowered in {"true", "1"}
        elif param.type is list:
            inner = raw.strip()
            if inner.startswith("[") and inner.endswith("]"):
                inner = inner[1:-1]
            value = [float(x) for x in inner.replace(";", ",").split(",") if x.strip()]
            if not value:
                raise ValueError(raw)
        elif param.type is int:
            value = int(raw)
        else:
            value = float(raw)
    except ValueError:
        kind = {bool: "true or false", list: "a list like [1,2,0.5]", int: "an integer"}
        raise UsageError(
            f"{spec}: {param.name}={raw!r} is not {kind.get(param.type, 'a number')}"
        ) from None
    if param.type is float and value != value:  # NaN never makes a valid parameter
        raise UsageError(f"{spec}: {param.name} must be a number, got nan")
    if param.rule is not None and not param.rule.holds(value):
        raise UsageError(f"{spec}: {param.name} must be {param.rule.text}, got {raw}")
    return value


def parse_spec(text: str) -> LossSpec:
    """Parse ``name[:key=value,...]`` against the registry (exit-2 errors name the choices)."""
    name, _, rest = text.partition(":")
    loss = find_loss(name)
    params: dict[str, Any] = {}
    if rest.strip():
        for item in _split_top_level(rest):
            key, eq, raw = item.partition("=")
            key = key.strip()
            param = loss.param(key)
            if param is None:
                valid = ", ".join(p.name for p in loss.params) or "none"
                raise UsageError(
                    f"{text}: {loss.name} has no parameter {key!r}."
                    f"{suggest(key, [p.name for p in loss.params])} Its parameters: {valid}"
                )
            if not eq or not raw.strip():
                raise UsageError(f"{text}: write {key}=VALUE")
            if key in params:
                raise UsageError(f"{text}: {key} is given twice")
            params[key] = _convert(text, param, raw.strip())
    return LossSpec(text=text, loss=loss, params=params)


ALL_CONVENTIONS = "all"
# ``--convention``: each library's, or ``all`` of them.
CONVENTION_CHOICES = (*(c.value for c in Convention), ALL_CONVENTIONS)


def _with_conventions(spec: LossSpec, convention: str) -> list[LossSpec]:
    """The spec under one convention, or under each library's for ``all``."""
    if convention != ALL_CONVENTIONS:
        return [replace(spec, convention=Convention(convention))]
    if not spec.loss.conventions:
        return [spec]
    return [replace(spec, convention=Convention(c)) for c in spec.loss.conventions]


def parse_specs(
    texts: Sequence[str], reduction: str, convention: str = "losscli"
) -> list[LossSpec]:
    """Parse every ``--loss`` and check it against the reduction and the convention."""
    if not texts:
        raise UsageError("give at least one --loss (see 'losscli losses' for the list)")
    reductions = [r.value for r in Reduction]
    if reduction not in reductions:
        raise UsageError(f"--reduction must be one of {', '.join(reductions)}, got {reduction!r}")
    if convention not in CONVENTION_CHOICES:
        raise UsageError(
            f"--convention must be one of {', '.join(CONVENTION_CHOICES)}, got {convention!r}"
        )
    specs = [s for t in texts for s in _with_conventions(parse_spec(t), convention)]
    for spec in specs:
        if reduction == Reduction.SUM and spec.loss.reduce is not Reduce.MEAN:
            what = (
                "is computed from confidence bins"
                if spec.loss.reduce.binned
                else "is a root of a mean"
            )
            raise UsageError(
                f"{spec.text} {what} and has no sum reduction; use --reduction mean or --loss mse"
            )
    return specs
