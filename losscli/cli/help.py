"""Help text as Unix tools write it: ``losscli compute [OPTIONS] PREDS LABELS``, flags without a
type, arguments named in capitals in usage lines and errors.

Typer (0.20 and later) writes required arguments as ``{preds}``, gives every flag, ``--help``
included, a ``<bool>`` type and repeatable values Python's ``<list[str]>``. ``Group`` tidies
each command when the app looks it up, so every command, including ones added later, gets the
same treatment without a decorator argument.
"""

from __future__ import annotations

import re
from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup

_LIST = re.compile(r"<list\[(.+)\]>")

# Typer vendors its own click (typer._click): commands and contexts are typed loosely here.


class Argument(TyperArgument):
    """A positional argument shown as ``NAME``, ``[NAME]`` or ``NAME...`` in usage lines."""

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = self.metavar or (self.name or "").upper()
        if self.nargs != 1:
            name += "..."
        return [name if self.required else f"[{name}]"]

    def display_type_rich(self, ctx: Any) -> str | None:
        shown = super().display_type_rich(ctx)
        return _LIST.sub(lambda m: f"<{m.group(1).lower()}>", shown) if shown else shown


def _tidy(params: list[Any], ctx: Any) -> list[Any]:
    for param in params:
        shown = _list_type(param, ctx)
        if shown is not None:
            param.metavar = shown  # a repeatable value: its type, not Python's list[...]
        if isinstance(param, TyperArgument):
            param.metavar = param.metavar or (param.name or "").upper()
            param.__class__ = Argument  # the same state, one overridden method
        elif getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""  # Typer shows the metavar in place of "<bool>"
    return params


def _list_type(param: Any, ctx: Any) -> str | None:
    """``<str>`` for a parameter Typer would show as ``<list[str]>`` (None otherwise)."""
    if isinstance(param, TyperArgument) or param.metavar is not None:
        return None
    if not hasattr(param, "display_type"):  # Typer before 0.20 names types its own way
        return None
    found = _LIST.fullmatch(param.display_type(ctx) or "")
    return None if found is None else f"<{found.group(1).lower()}>"


class Command(TyperCommand):
    """A command whose parameters (``--help`` included) are tidied before any use."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx), ctx)


class Group(TyperGroup):
    """The app's group: its own options and every subcommand are tidied."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx), ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if type(command) is TyperCommand:
            command.__class__ = Command  # a subclass without state of its own
        return command
