"""One home per vocabulary: the CLI's choices are the domain enums' values, and the config
file accepts exactly the same words."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke

from losscli.ci.config import load_config
from losscli.engine.intervals import CiMethod
from losscli.errors import UsageError
from losscli.interpret.choices import Join, NanPolicy
from losscli.interpret.plan import Kind
from losscli.losses.numerics import Convention
from losscli.spec import ALL_CONVENTIONS, Reduction


def _choices(command: str, option: str) -> list[str]:
    """The choices ``--help`` shows for an option (``<a|b|c>``), on a wide console."""
    result = invoke([command, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    match = re.search(rf"{option}\s+<([^>]*)>", result.stdout)
    assert match, f"{command} {option}: no choices in --help"
    return match.group(1).split("|")


def _values(enum: type[Enum]) -> list[str]:
    return [str(m.value) for m in enum]


@pytest.mark.parametrize(
    ("command", "option", "expected"),
    [
        ("compute", "--reduction", _values(Reduction)),
        ("compute", "--nan", _values(NanPolicy)),
        ("compute", "--join", _values(Join)),
        ("compute", "--ci", _values(CiMethod)),
        ("compute", "--convention", [*_values(Convention), ALL_CONVENTIONS]),
        ("check", "--nan", _values(NanPolicy)),
        ("check", "--join", _values(Join)),
        ("compare", "--nan", _values(NanPolicy)),
        ("compare", "--join", _values(Join)),
    ],
)
def test_cli_choices_are_the_domain_enums(command: str, option: str, expected: list[str]) -> None:
    assert _choices(command, option) == expected


@pytest.mark.parametrize(("key", "enum"), [("join", Join), ("nan", NanPolicy), ("kind", Kind)])
def test_config_files_take_the_same_words(key: str, enum: type[Enum], tmp_path: Path) -> None:
    for value in _values(enum):
        (tmp_path / "losscli.toml").write_text(f'{key} = "{value}"\n', encoding="utf-8")
        settings: Any = load_config(tmp_path / "losscli.toml")
        assert getattr(settings, key) == value
    (tmp_path / "losscli.toml").write_text(f'{key} = "nonsense"\n', encoding="utf-8")
    with pytest.raises(UsageError, match=", ".join(_values(enum))):
        load_config(tmp_path / "losscli.toml")
