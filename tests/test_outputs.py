"""Outputs and interruptions: whole files or none, kept permissions, exit codes, one stderr line.

In-process tests run through CliRunner; the signal, pipe and full-disk tests run the installed
``losscli`` in a real process with its own TMPDIR, and check that neither the output folder nor
the temporary folder holds anything afterwards.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CLI_ENV, SAMPLE
from typer.testing import Result

from losscli.errors import ExitCode, Interrupted
from losscli.io import cleanup

RunCli = Callable[..., Result]
SEED = [SAMPLE / "seed_preds.csv", SAMPLE / "seed_labels.csv"]
ENTRY_POINT = Path(sys.executable).parent / "losscli"


def one_error_line(stderr: str, pattern: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert pattern in lines[0], stderr
    assert "Traceback" not in stderr


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    """The seed example copied into its own folder (so outputs can sit beside inputs)."""
    folder = tmp_path / "in"
    folder.mkdir()
    return [Path(shutil.copy(p, folder)) for p in SEED]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


# --------------------------------------------------------------------------- atomic outputs


def test_per_sample_keeps_the_permissions_of_the_file_it_replaces(
    run_cli: RunCli, inputs: list[Path], out: Path
) -> None:
    target = out / "rows.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    result = run_cli(["compute", *inputs, "-l", "mse", "--per-sample", target])
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.read_text().splitlines()[0] == '"row","label","mse"'
    assert sorted(p.name for p in out.iterdir()) == ["rows.csv"]


def test_a_new_output_gets_the_usual_permissions(
    run_cli: RunCli, inputs: list[Path], out: Path
) -> None:
    mask = os.umask(0o027)
    try:
        result = run_cli(["compute", *inputs, "-l", "mse", "--per-sample", out / "rows.csv"])
    finally:
        os.umask(mask)
    assert result.exit_code == 0, result.stderr
    # 0666 & ~0027, as open() would have made it (not mkstemp's 0600).
    assert stat.S_IMODE((out / "rows.csv").stat().st_mode) == 0o640


def test_report_file_keeps_its_permissions(run_cli: RunCli, inputs: list[Path], out: Path) -> None:
    report = out / "report.json"
    report.write_text("{}")
    report.chmod(0o604)
    result = run_cli(["check", *inputs, "-l", "mse", "--max", "mse=1", "-o", report])
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(report.stat().st_mode) == 0o604
    assert json.loads(report.read_text())["passed"] is True


def test_a_symlinked_output_is_written_through_the_link(
    run_cli: RunCli, inputs: list[Path], out: Path
) -> None:
    real = out / "real.json"
    real.write_text("{}")
    (out / "link.json").symlink_to(real)
    result = run_cli(["check", *inputs, "-l", "mse", "--max", "mse=1", "-o", out / "link.json"])
    assert result.exit_code == 0, result.stderr
    assert (out / "link.json").is_symlink()
    assert json.loads(real.read_text())["passed"] is True


def test_per_sample_refuses_to_overwrite_an_input(run_cli: RunCli, inputs: list[Path]) -> None:
    before = inputs[0].read_bytes()
    result = run_cli(["compute", *inputs, "-l", "mse", "--per-sample", inputs[0]])
    assert result.exit_code == ExitCode.USAGE
    one_error_line(result.stderr, f"--per-sample {inputs[0]} is also an input")
    assert inputs[0].read_bytes() == before
    assert sorted(p.name for p in inputs[0].parent.iterdir()) == sorted(p.name for p in inputs)


def test_per_sample_refuses_an_input_through_another_path(
    run_cli: RunCli, inputs: list[Path], tmp_path: Path
) -> None:
    alias = tmp_path / "alias.csv"
    alias.symlink_to(inputs[0])
    result = run_cli(["compute", *inputs, "-l", "mse", "--per-sample", alias])
    assert result.exit_code == ExitCode.USAGE
    one_error_line(result.stderr, "is also an input")


def test_check_refuses_to_write_over_its_baseline(
    run_cli: RunCli, inputs: list[Path], out: Path
) -> None:
    made = run_cli(["compute", *inputs, "-l", "mse", "-f", "json"])
    baseline = out / "baseline.json"
    baseline.write_text(made.stdout)
    args = ["check", *inputs, "-l", "mse", "--baseline", baseline, "-o", baseline]
    result = run_cli(args)
    assert result.exit_code == ExitCode.USAGE
    one_error_line(result.stderr, f"-o {baseline} is also an input")
    assert baseline.read_text() == made.stdout
    assert result.stdout == ""


def test_compare_refuses_to_write_over_a_prediction_file(
    run_cli: RunCli, write: Callable[..., Path], out: Path
) -> None:
    preds = write("a.md", "prob\n0.9\n0.2\n0.4\n")  # an odd name, but a path all the same
    args = ["compare", SEED[0], preds, "--labels", SEED[1], "-l", "mse", "-o", preds]
    result = run_cli(args)
    assert result.exit_code == ExitCode.USAGE
    one_error_line(result.stderr, "is also an input")


def test_report_into_a_folder_that_is_a_file_exits_3(
    run_cli: RunCli, inputs: list[Path], out: Path
) -> None:
    (out / "file").write_text("")
    result = run_cli(
        ["check", *inputs, "-l", "mse", "--max", "mse=1", "-o", out / "file" / "r.json"]
    )
    assert result.exit_code == ExitCode.INPUT
    one_error_line(result.stderr, "cannot write the file (Not a directory)")
    assert result.stdout == ""  # refused before any work
    assert sorted(p.name for p in out.iterdir()) == ["file"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("option", ["-o", "--per-sample"])
def test_a_full_disk_exits_3_with_the_os_reason(
    run_cli: RunCli, inputs: list[Path], out: Path, option: str
) -> None:
    # A symlink to /dev/full: every write fails with ENOSPC, as on a full disk.
    target = out / ("r.json" if option == "-o" else "rows.csv")
    target.symlink_to("/dev/full")
    command = ["check", "--max", "mse=1"] if option == "-o" else ["compute"]
    result = run_cli([command[0], *inputs, "-l", "mse", *command[1:], option, target])
    assert result.exit_code == ExitCode.INPUT
    one_error_line(result.stderr, f"{option} {target}: cannot write the file (No space left")
    assert sorted(p.name for p in out.iterdir()) == [target.name]
    assert target.is_symlink()


def test_a_failed_run_leaves_no_partial_per_sample_file(
    run_cli: RunCli, write: Callable[..., Path], out: Path
) -> None:
    # Row 3 is NaN: the run fails with exit 3 after the writer was opened.
    preds = write("p.csv", {"p": [0.9, 0.2, None]})
    labels = write("l.csv", {"y": [1, 0, 1]})
    target = out / "rows.csv"
    target.write_text("old\n")
    result = run_cli(["compute", preds, labels, "-l", "mse", "--per-sample", target])
    assert result.exit_code == ExitCode.INPUT
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in out.iterdir()) == ["rows.csv"]


# --------------------------------------------------------------------------- interruptions


@pytest.fixture
def interrupt_writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Stop the run with SIGTERM's ``Interrupted`` right after the first per-sample chunk."""
    from losscli.cli.signals import interruption
    from losscli.io.sinks import PerSampleWriter

    original = PerSampleWriter.__call__

    def write_then_stop(self: PerSampleWriter, chunk: Any) -> None:
        original(self, chunk)
        assert self.out.path.stat().st_size > 0  # a partial file exists at this point
        raise interruption(signal.SIGTERM)

    monkeypatch.setattr(PerSampleWriter, "__call__", write_then_stop)
    yield
    assert cleanup.registered() == []


def test_sigterm_while_writing_leaves_nothing(
    run_cli: RunCli, inputs: list[Path], out: Path, interrupt_writes: None
) -> None:
    result = run_cli(["compute", *inputs, "-l", "mse", "--per-sample", out / "rows.csv"])
    assert result.exit_code == 143
    one_error_line(result.stderr, "terminated by SIGTERM")
    assert list(out.iterdir()) == []


def test_ctrl_c_exits_130_with_one_line(
    run_cli: RunCli, inputs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def stop(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("losscli.api.compute_files", stop)
    result = run_cli(["compute", *inputs, "-l", "mse"])
    assert result.exit_code == 130
    one_error_line(result.stderr, "interrupted by Ctrl-C (SIGINT)")


@pytest.mark.parametrize(
    ("fmt", "writer"),
    [("table", "_print_renderable"), ("json", "_write")],  # a Rich table; a string as it is
)
def test_a_closed_stdout_stops_with_141(
    run_cli: RunCli,
    inputs: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
    writer: str,
) -> None:
    def closed(rendered: object) -> None:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(f"losscli.report.output.{writer}", closed)
    result = run_cli(["compute", *inputs, "-l", "mse", "--format", fmt])
    assert result.exit_code == 141
    one_error_line(result.stderr, "standard output was closed by its reader (broken pipe)")


def test_interrupted_is_not_an_exception() -> None:
    # ``except Exception`` blocks (the error boundary, readers) must let a stop through.
    assert not issubclass(Interrupted, Exception)


# --------------------------------------------------------------------------- real processes


def _env(tmpdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    env["TMPDIR"] = str(tmpdir)
    return env


def _wait_for_reader(fifo: Path, proc: subprocess.Popen[str]) -> int:
    """Open ``fifo`` for writing once the process has opened it for reading."""
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:  # ENXIO: no reader yet
            assert exc.errno == errno.ENXIO
            try:
                proc.wait(0.02)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"losscli ended before reading the FIFO: {proc.stderr}") from None


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_run_blocked_on_a_fifo(
    tmp_path: Path, suffix: str, signum: int, code: int
) -> None:
    """A FIFO that never gets data: NumPy's read returns to Python on the signal; pyarrow's
    read does not, and the watchdog ends the run. Either way: one line, the code, nothing left.
    Labels come from standard input, so a copy of them sits in the temporary folder."""
    fifo, out, tmp = tmp_path / f"preds{suffix}", tmp_path / "out", tmp_path / "tmp"
    out.mkdir()
    tmp.mkdir()
    os.mkfifo(fifo)
    args = [ENTRY_POINT, "compute", fifo, "-", "--labels-format", "csv", "-l", "mse"]
    with SEED[1].open("rb") as labels:
        proc = subprocess.Popen(
            [str(a) for a in [*args, "--per-sample", out / "rows.csv"]],
            stdin=labels,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(tmp),
        )
    writer = _wait_for_reader(fifo, proc)
    try:
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        os.close(writer)
    assert proc.returncode == code, stderr
    assert stdout == ""
    one_error_line(stderr, "SIGINT" if signum == signal.SIGINT else "SIGTERM")
    assert list(out.iterdir()) == []
    assert list(tmp.iterdir()) == []


def test_a_closed_pipe_exits_141_with_one_line(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before losscli writes a byte (`| head` that quit)
    try:
        proc = subprocess.run(
            [str(ENTRY_POINT), "losses"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(tmp_path),
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 141
    one_error_line(proc.stderr, "broken pipe")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_stdout_on_a_full_disk_exits_3(tmp_path: Path) -> None:
    with Path("/dev/full").open("w") as full:
        proc = subprocess.run(
            [str(ENTRY_POINT), "compute", *map(str, SEED), "-l", "mse"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(tmp_path),
            timeout=60,
            check=False,
        )
    assert proc.returncode == 3
    one_error_line(proc.stderr, "cannot write the report to standard output (No space left")


def test_report_into_a_file_as_folder_exits_3_in_a_process(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / "r.md"
    args = [ENTRY_POINT, "check", *SEED, "-l", "mse", "--max", "mse=1", "-o", target]
    proc = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 3
    one_error_line(proc.stderr, "Not a directory")
