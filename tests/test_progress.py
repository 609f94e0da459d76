"""The progress bar of long runs (issue 16.3): bytes of the inputs read, on stderr, only on a
terminal and never with --quiet; stdout is the same with and without it.

The io side is checked with a recording listener: every pass reports the file's size as its
total and reaches it. The bar itself is checked through a pseudo-terminal, on a subprocess of
the installed entry point with ``LOSSCLI_PROGRESS_DELAY=0`` (shown from the first chunk, so
the test does not depend on how long the run takes).
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import Result

from losscli.api import compute_files
from losscli.interpret.plan import Options
from losscli.io.progress import listening

ENTRY_POINT = Path(sys.executable).parent / "losscli"
RunCli = Callable[..., Result]
ROWS = 50_000


class Recorder:
    """A listener keeping what it was told."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total = 0
        self.done = 0
        self.calls = 0

    def expect(self, total: int) -> None:
        with self.lock:
            self.total += total

    def advance(self, done: int) -> None:
        with self.lock:
            assert done > 0
            self.done += done
            self.calls += 1


def _pair(folder: Path, fmt: str) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    y = rng.normal(size=ROWS)
    p = y + rng.normal(scale=0.1, size=ROWS)
    preds, labels = folder / f"p.{fmt}", folder / f"y.{fmt}"
    if fmt == "csv":
        np.savetxt(preds, p, header="pred", comments="", fmt="%.6f")
        np.savetxt(labels, y, header="label", comments="", fmt="%.6f")
    elif fmt == "npy":
        np.save(preds, p)
        np.save(labels, y)
    elif fmt == "npz":
        np.savez_compressed(preds, pred=p)
        np.savez_compressed(labels, label=y)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"pred": p}), preds, row_group_size=10_000)
        pq.write_table(pa.table({"label": y}), labels, row_group_size=10_000)
    return preds, labels


@pytest.mark.parametrize("fmt", ["csv", "npy", "npz", "parquet"])
def test_every_pass_reports_its_file_size(tmp_path: Path, fmt: str) -> None:
    preds, labels = _pair(tmp_path, fmt)
    recorder = Recorder()
    with listening(recorder):
        compute_files(preds, labels, ["mse"], Options(), chunk_rows=4096)
    size = preds.stat().st_size + labels.stat().st_size
    assert recorder.total == size
    assert recorder.done == size
    # Step by step, not all at the end; pyarrow reads a CSV about 5 MiB ahead of its
    # parser, so a small CSV's position is at its end from the first chunk on.
    assert recorder.calls >= (2 if fmt == "csv" else 4)


def test_nothing_is_reported_without_a_listener(tmp_path: Path) -> None:
    preds, labels = _pair(tmp_path, "csv")
    recorder = Recorder()
    compute_files(preds, labels, ["mse"], Options())
    assert recorder.total == recorder.done == 0


def _run(args: list[object], *, tty: bool, delay: str = "0") -> tuple[int, bytes, str]:
    """Run the installed losscli with stderr on a pseudo-terminal (or a pipe); its exit
    code, stdout bytes and what reached stderr."""
    env = {**os.environ, "LOSSCLI_PROGRESS_DELAY": delay, "TERM": "xterm-256color"}
    for name in ("NO_COLOR", "CI", "GITHUB_ACTIONS", "TERM_PROGRAM"):
        env.pop(name, None)
    argv = [str(ENTRY_POINT), *map(str, args)]
    if not tty:
        proc = subprocess.run(argv, capture_output=True, env=env, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")
    master, slave = pty.openpty()
    seen: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                return
            if not data:
                return
            seen.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env
        )
        os.close(slave)
        stdout, _ = proc.communicate(timeout=120)
    finally:
        reader.join(timeout=30)
        os.close(master)
    return proc.returncode, stdout, b"".join(seen).decode(errors="replace")


@pytest.fixture(scope="module")
def csv_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _pair(tmp_path_factory.mktemp("progress"), "csv")


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_the_bar_shows_on_a_terminal_and_stdout_is_unchanged(
    csv_pair: tuple[Path, Path], fmt: str
) -> None:
    args = ["compute", *csv_pair, "--loss", "mse", "--format", fmt]
    code, with_bar, terminal = _run(args, tty=True)
    assert code == 0, terminal
    assert "reading" in terminal and "━" in terminal  # the bar and its label
    assert "ETA" in terminal
    code, piped, stderr = _run(args, tty=False)
    assert code == 0 and stderr == ""  # no bar off a terminal
    assert with_bar == piped


def test_no_bar_with_quiet_or_before_the_delay(csv_pair: tuple[Path, Path]) -> None:
    args = ["compute", *csv_pair, "--loss", "mse"]
    code, stdout, terminal = _run([*args, "--quiet"], tty=True)
    assert (code, stdout, terminal) == (0, b"", "")
    code, stdout, terminal = _run(args, tty=True, delay="3600")
    assert code == 0 and terminal == "" and b"mse" in stdout


def test_an_error_removes_the_bar_before_its_message(tmp_path: Path) -> None:
    preds, labels = _pair(tmp_path, "csv")
    with labels.open("a") as fh:
        fh.write("0.5\n")  # one row more than the predictions
    code, stdout, terminal = _run(["compute", preds, labels, "--loss", "mse"], tty=True)
    assert code == 3 and stdout == b""
    assert "error:" in terminal and "rows" in terminal


def test_no_bar_under_the_cli_runner(csv_pair: tuple[Path, Path], run_cli: RunCli) -> None:
    result = run_cli(["compute", *csv_pair, "--loss", "mse"], env={"LOSSCLI_PROGRESS_DELAY": "0"})
    assert result.exit_code == 0
    assert "reading" not in result.stderr
