"""Help text as Unix tools write it: ``losscli compute [OPTIONS] PREDS LABELS``, flags without a
type, arguments named in capitals in usage lines and errors.

Typer (0.20 and later) writes required arguments as ``{preds}``, gives every flag, ``--help``
included, a ``<bool>`` type and repeatable values Python's ``<list[str]>``. ``Group`` tidies
each command when the app looks it up, so every command, including ones added later, gets the
same treatment without a decorator argument.

Below ``RICH_HELP_COLUMNS`` (a pipe or a CI log is 80 columns) help is written as Click writes
it: each flag whole on its own line, its text wrapped beneath. Rich's five-column panels cut
long flag names there (``--allow-differe…``) and squeeze the text into a column of 18 characters.
"""

from __future__ import annotations

import re
import shutil
from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup

_LIST = re.compile(r"<list\[(.+)\]>")
# The narrowest width at which Rich's help panels keep every flag name and default whole.
RICH_HELP_COLUMNS = 120

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


def _narrow() -> bool:
    """Whether help goes to fewer columns than Rich's panels need (``COLUMNS``, else the
    terminal's width, else 80 as Rich assumes off a terminal)."""
    return shutil.get_terminal_size((80, 24)).columns < RICH_HELP_COLUMNS


def _unescaped(formatter: Any) -> None:
    """Click's layout written as is: the ``\\[`` that keeps ``[tool.losscli]`` from being read
    as Rich markup becomes a plain ``[``."""
    formatter.buffer[:] = [piece.replace("\\[", "[") for piece in formatter.buffer]


def _format_help(
    command: TyperCommand | TyperGroup, base: type[Any], ctx: Any, formatter: Any
) -> None:
    """Help in Click's layout below ``RICH_HELP_COLUMNS``, in Rich's panels from there on."""
    narrow = _narrow()
    if narrow:
        command.rich_markup_mode = None  # Click's layout; the command serves one invocation
    base.format_help(command, ctx, formatter)
    if narrow:
        _unescaped(formatter)


class Command(TyperCommand):
    """A command whose parameters (``--help`` included) are tidied before any use."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx), ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _format_help(self, TyperCommand, ctx, formatter)


class Group(TyperGroup):
    """The app's group: its own options and every subcommand are tidied."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx), ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if type(command) is TyperCommand:
            command.__class__ = Command  # a subclass without state of its own
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _format_help(self, TyperGroup, ctx, formatter)
