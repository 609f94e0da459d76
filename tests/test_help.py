"""Help for every command reads well at 80 columns: Unix usage lines, no ``<bool>`` on flags,
``[tool.losscli]`` shown literally, capital argument names in errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from conftest import CLI_ENV
from typer.testing import Result

from losscli.cli.app import app

RunCli = Callable[..., Result]
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
USAGE = {
    "compute": "PREDS [LABELS]",
    "merge": "STATES...",
    "check": "[PREDS] [LABELS]",
    "compare": "PREDS...",
    "explain": "NAME",
    "losses": "",
}


def _check_help(text: str, command: str) -> None:
    assert "<bool>" not in text
    assert "<list[" not in text
    assert not re.search(r"\{\w+\}", text), "an argument in braces"
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    usage = next(line for line in text.splitlines() if "Usage:" in line).strip()
    if command in USAGE:
        assert usage == f"Usage: losscli {command} [OPTIONS] {USAGE[command]}".rstrip()


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_every_help_renders_at_80_columns(command: str, run_cli: RunCli) -> None:
    args = [command, "--help"] if command else ["--help"]
    result = run_cli(args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    if command:
        _check_help(result.stdout, command)
    else:
        assert "<bool>" not in result.stdout
        assert "Usage: losscli [OPTIONS] COMMAND [ARGS]..." in result.stdout


def test_every_command_has_a_usage_pinned_here() -> None:
    assert set(USAGE) <= set(COMMANDS)


@pytest.mark.parametrize("command", ["check", "compare"])
def test_config_help_shows_the_table_name(command: str, run_cli: RunCli) -> None:
    result = run_cli([command, "--help"], env={"COLUMNS": "200"})
    config = next(line for line in result.stdout.splitlines() if "--config" in line)
    assert "[tool.losscli]" in config
    assert "\\[" not in config


def test_a_missing_argument_is_named_in_capitals(run_cli: RunCli) -> None:
    result = run_cli(["compute"])
    assert result.exit_code == 2
    assert "Missing argument 'PREDS'" in result.stderr
    assert "Usage: losscli compute [OPTIONS] PREDS [LABELS]" in result.stderr


def test_help_of_the_installed_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    env["COLUMNS"] = "80"
    exe = Path(sys.executable).parent / "losscli"
    proc = subprocess.run(
        [str(exe), "compute", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    _check_help(proc.stdout, "compute")
