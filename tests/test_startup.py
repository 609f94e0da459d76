"""Start-up and help (issue 8): ``losscli --help`` and ``--version`` load no NumPy (the CLI's
choices live in modules that import none), and help text cut short by its reader
(``losscli --help | head -1``) ends like a command's output does: one line, exit 141, no
traceback. The choice modules agree with the domain they stand for."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CLI_ENV, SAMPLE

ENTRY_POINT = Path(sys.executable).parent / "losscli"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    return env


@pytest.mark.parametrize(
    "args", [["--help"], ["--version"], ["compute", "--help"], ["check", "--help"]]
)
def test_help_and_version_do_not_import_numpy(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", str(ENTRY_POINT), *args],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "losscli.cli.app" in imported  # the check reads the real import log
    heavy = sorted(m for m in imported if m.split(".")[0] in ("numpy", "pyarrow", "pandas"))
    assert heavy == []


def test_a_command_still_imports_numpy() -> None:
    """The import log above would show NumPy if anything loaded it (the test can fail)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", str(ENTRY_POINT), "explain", "mse"],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert proc.returncode == 0
    assert re.search(r"\|\s+numpy$", proc.stderr, re.M)


def _closed_pipe(args: list[str]) -> subprocess.CompletedProcess[str]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before losscli writes (`| head -1` that quit)
    try:
        return subprocess.run(
            [str(ENTRY_POINT), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["compute", "--help"],
        ["compute", SAMPLE / "seed_preds.csv", SAMPLE / "seed_labels.csv", "-l", "mse"],
    ],
)
def test_a_closed_pipe_ends_help_and_reports_cleanly(args: list[str]) -> None:
    proc = _closed_pipe([str(a) for a in args])
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr.splitlines() == [
        "error: standard output was closed by its reader (broken pipe); stopped"
    ]


def test_help_read_whole_and_a_failed_check_to_dev_null_keep_their_codes() -> None:
    """Only a reader that went away is exit 141: help read to the end exits 0, and a failed
    check whose report goes to /dev/null still exits 1."""
    with open(os.devnull, "w") as null:  # noqa: PTH123 - a file object for stdout
        help_ = subprocess.run([str(ENTRY_POINT), "--help"], stdout=null, env=_env(), check=False)
        args = ["check", SAMPLE / "seed_preds.csv", SAMPLE / "seed_labels.csv", "-l", "mse"]
        failed = subprocess.run(
            [str(a) for a in [ENTRY_POINT, *args, "--max", "mse=0.01"]],
            stdout=null,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            check=False,
        )
    assert help_.returncode == 0
    assert failed.returncode == 1 and "broken pipe" not in failed.stderr


def test_the_cli_choices_are_the_domains() -> None:
    from losscli.engine.choices import CONVENTION_CHOICES
    from losscli.losses.numerics import Convention
    from losscli.report import formats, render
    from losscli.spec import ALL_CONVENTIONS

    assert (*(c.value for c in Convention), ALL_CONVENTIONS) == CONVENTION_CHOICES
    assert tuple(render.FORMATS) == formats.COMPUTE_NAMES
    assert tuple(render.LOSS_FORMATS) == formats.LOSS_NAMES
    assert tuple(render.CHECK_FORMATS) == formats.CHECK_NAMES
    assert tuple(render.COMPARE_FORMATS) == formats.COMPARE_NAMES
    assert set(formats.OUTPUT_SUFFIXES.values()) <= {*render.FORMATS, *render.CHECK_FORMATS}


def _imported(args: list[object]) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", str(ENTRY_POINT), *map(str, args)],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}


def test_compute_json_loads_no_rich() -> None:
    """JSON is a string printed as it is: a compute run asked for JSON never loads Rich (its
    import is a tenth of a short run's start-up), while the table does (the check can fail)."""
    run = ["compute", SAMPLE / "seed_preds.csv", SAMPLE / "seed_labels.csv", "-l", "mse"]
    as_json = _imported([*run, "--format", "json"])
    assert "losscli.report.compute" in as_json  # the log is the real one
    assert sorted(m for m in as_json if m.split(".")[0] == "rich") == []
    assert "rich.console" in _imported(run)


def test_compute_json_is_the_renderer_render_lists() -> None:
    from losscli.report import compute, render

    assert render.FORMATS["json"] is compute.report_json
