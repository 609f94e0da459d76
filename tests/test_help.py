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


def _option_names(command: str) -> list[str]:
    """Every shown flag of ``command`` as the user types it, ``--no-...`` forms included."""
    group = typer.main.get_command(app)
    params = group.commands[command].params  # type: ignore[attr-defined]
    shown = [p for p in params if not getattr(p, "hidden", False)]
    return [name for p in shown for name in (*p.opts, *p.secondary_opts) if name.startswith("-")]


def _check_help(text: str, command: str) -> None:
    assert "<bool>" not in text
    assert "…" not in text, "a name or value cut short"
    assert "<list[" not in text
    assert not re.search(r"\{\w+\}", text), "an argument in braces"
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    usage = next(line for line in text.splitlines() if "Usage:" in line).strip()
    if command in USAGE:
        assert usage == f"Usage: losscli {command} [OPTIONS] {USAGE[command]}".rstrip()
    if command:
        words = set(re.findall(r"--?[\w-]+", text))
        assert [name for name in _option_names(command) if name not in words] == []


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


@pytest.mark.parametrize("columns", ["80", "200"])
@pytest.mark.parametrize("command", ["check", "compare"])
def test_config_help_shows_the_table_name(command: str, columns: str, run_cli: RunCli) -> None:
    result = run_cli([command, "--help"], env={"COLUMNS": columns})
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "--config" in line)
    config = " ".join(lines[at : at + 4])  # the plain layout wraps the text under the flag
    assert "[tool.losscli]" in config
    assert "\\[" not in result.stdout


def test_narrow_help_is_plain_and_wide_help_has_panels(run_cli: RunCli) -> None:
    """Below 120 columns each flag stands whole on its own line (Rich's panels cut
    ``--allow-different-data`` to ``--allow-differe…`` at 80); at 120 and wider, the panels."""
    narrow = run_cli(["check", "--help"], env={"COLUMNS": "80"}).stdout
    assert "  --allow-different-data / --no-allow-different-data\n" in narrow
    assert "╭─ Options" not in narrow
    wide = run_cli(["check", "--help"], env={"COLUMNS": "120"}).stdout
    assert "╭─ Options" in wide
    assert "--allow-different-data" in wide and "…" not in wide


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
