"""Standard input streamed, not copied (issue 8.2): CSV/TSV (plain and gzip) and ``.npy`` on
``-`` give exactly what the same file gives by its path, and nothing is written to the
temporary folder while they stream; Parquet and ``.npz`` (and runs that read an input twice)
still go through the spill, which is removed afterwards. Errors name ``<stdin>``, exit 3.

Every expected number here is the same file's result read by its path (the path reader is
tested against torch/scikit-learn elsewhere); the comparison is exact, sha256 included.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from conftest import CLI_ENV
from test_cli_errors import assert_cli_error
from typer.testing import CliRunner, Result

from losscli.cli.app import app

ENTRY_POINT = Path(sys.executable).parent / "losscli"
N = 3000


class Watched(io.BytesIO):
    """Standard input for CliRunner that notes what the temporary folder holds at each read
    (so a copy made while the input is read is seen, not just its absence afterwards)."""

    def __init__(self, data: bytes, folder: Path) -> None:
        super().__init__(data)
        self.folder = folder
        self.seen: set[str] = set()

    def read(self, size: int | None = -1) -> bytes:
        self.seen |= {str(p.relative_to(self.folder)) for p in self.folder.rglob("*")}
        return super().read(size)


@pytest.fixture
def tmpdir_(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder as the process's temporary folder."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder


def _invoke(args: list[Any], stdin: Any = None, env: dict[str, str] | None = None) -> Result:
    """CliRunner, with a ``Watched`` stdin passed through as the binary stream it is."""
    import typer.testing

    made = typer.testing.make_input_stream

    def stream(data: Any, charset: str) -> Any:
        return data if isinstance(data, Watched) else made(data, charset)

    with mock.patch.object(typer.testing, "make_input_stream", stream):
        return CliRunner().invoke(
            app, [str(a) for a in args], input=stdin, env={**CLI_ENV, **(env or {})}
        )


def _json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _same(by_stdin: dict[str, Any], by_path: dict[str, Any], side: str) -> None:
    """Equal results, n and sha256; the streamed input is named ``<stdin>``."""
    assert by_stdin["inputs"][side]["path"] == "<stdin>"
    for doc in (by_stdin, by_path):
        doc["inputs"][side]["path"] = "x"
    assert by_stdin["inputs"] == by_path["inputs"]
    assert by_stdin["results"] == by_path["results"]
    assert by_stdin["n_samples"] == by_path["n_samples"] == N


def _probs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.random((N, 3)) + 0.05
    return p / p.sum(axis=1, keepdims=True), rng.integers(0, 3, N)


def _text(p: np.ndarray, header: str | None, sep: str = ",", decimal: str = ".") -> bytes:
    rows = [sep.join(f"{v:.9f}".replace(".", decimal) for v in row) for row in p]
    return ("\n".join(([header] if header is not None else []) + rows) + "\n").encode()


def _cases() -> dict[str, tuple[str, bytes, list[str]]]:
    """name -> (suffix, bytes, extra flags): every streamed format and header decision."""
    p, _ = _probs()
    buf = io.BytesIO()
    np.save(buf, p)
    return {
        "csv": ("csv", _text(p, "a,b,c"), []),
        "csv-gz": ("csv.gz", gzip.compress(_text(p, "a,b,c")), []),
        "tsv": ("tsv", _text(p, "a\tb\tc", "\t"), []),
        "tsv-gz": ("tsv.gz", gzip.compress(_text(p, "a\tb\tc", "\t")), []),
        "tab": ("tab", _text(p, "a\tb\tc", "\t"), []),
        "csv-no-header": ("csv", _text(p, None), []),
        "csv-pandas-header": ("csv", _text(p, "0,1,2"), []),  # decided: a header
        "csv-header-flag": ("csv", _text(p, "0,1,2"), ["--header"]),
        "csv-european": (
            "csv",
            _text(p, "a;b;c", ";", ","),
            ["--delimiter", ";", "--decimal", ","],
        ),
        "npy": ("npy", buf.getvalue(), []),
    }


CASES = _cases()


@pytest.mark.parametrize("name", list(CASES))
def test_streamed_predictions_equal_the_file_and_write_nothing(
    name: str, tmp_path: Path, tmpdir_: Path
) -> None:
    fmt, data, flags = CASES[name]
    preds = tmp_path / f"preds.{fmt}"
    preds.write_bytes(data)
    labels = tmp_path / "labels.csv"
    labels.write_text("y\n" + "\n".join(map(str, _probs()[1])) + "\n")
    common = ["--loss", "ce", "--loss", "brier", "-f", "json", *flags]
    by_path = _json(_invoke(["compute", preds, labels, *common]))
    stdin = Watched(data, tmpdir_)
    by_stdin = _json(_invoke(["compute", "-", labels, "--preds-format", fmt, *common], stdin))
    _same(by_stdin, by_path, "predictions")
    assert stdin.seen == set(), "a streamed input must not be copied to the temporary folder"
    assert list(tmpdir_.iterdir()) == []


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "npy"])
def test_streamed_labels_equal_the_file(fmt: str, tmp_path: Path, tmpdir_: Path) -> None:
    p, y = _probs(1)
    preds = tmp_path / "preds.csv"
    preds.write_bytes(_text(p, "a,b,c"))
    text = ("y\n" + "\n".join(map(str, y)) + "\n").encode()
    if fmt == "npy":
        buf = io.BytesIO()
        np.save(buf, y)
        data = buf.getvalue()
    else:
        data = gzip.compress(text) if fmt.endswith(".gz") else text
    labels = tmp_path / f"labels.{fmt}"
    labels.write_bytes(data)
    by_path = _json(_invoke(["compute", preds, labels, "-l", "ce", "-f", "json"]))
    stdin = Watched(data, tmpdir_)
    args = ["compute", preds, "-", "--labels-format", fmt, "-l", "ce", "-f", "json"]
    _same(_json(_invoke(args, stdin)), by_path, "labels")
    assert stdin.seen == set()


def test_check_streams_too(tmp_path: Path, tmpdir_: Path) -> None:
    p, y = _probs(2)
    data = _text(p, "a,b,c")
    (tmp_path / "p.csv").write_bytes(data)
    labels = tmp_path / "y.csv"
    labels.write_text("y\n" + "\n".join(map(str, y)) + "\n")
    rule = ["--max", "ce=5", "-f", "json"]
    by_path = _invoke(["check", tmp_path / "p.csv", labels, "-l", "ce", *rule])
    stdin = Watched(data, tmpdir_)
    by_stdin = _invoke(["check", "-", labels, "--preds-format", "csv", "-l", "ce", *rule], stdin)
    assert by_stdin.exit_code == by_path.exit_code == 0, by_stdin.output
    a, b = json.loads(by_stdin.stdout), json.loads(by_path.stdout)
    assert [r["value"] for r in a["results"]] == [r["value"] for r in b["results"]]
    assert stdin.seen == set()


@pytest.mark.parametrize("fmt", ["parquet", "npz"])
def test_formats_that_need_seeks_are_still_copied_and_removed(
    fmt: str, tmp_path: Path, tmpdir_: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    p, y = _probs(3)
    preds = tmp_path / f"p.{fmt}"
    if fmt == "npz":
        np.savez(preds, p=p)
    else:
        pq.write_table(pa.table({"a": p[:, 0], "b": p[:, 1], "c": p[:, 2]}), preds)
    labels = tmp_path / "y.csv"
    labels.write_text("y\n" + "\n".join(map(str, y)) + "\n")
    by_path = _json(_invoke(["compute", preds, labels, "-l", "ce", "-f", "json"]))
    # Small reads, so the copy is seen while it is being written.
    stdin = Watched(preds.read_bytes(), tmpdir_)
    args = ["compute", "-", labels, "--preds-format", fmt, "-l", "ce", "-f", "json"]
    _same(_json(_invoke(args, stdin)), by_path, "predictions")
    assert any(s.endswith(f"input0.{fmt}") for s in stdin.seen), stdin.seen
    assert list(tmpdir_.iterdir()) == []


def test_a_run_that_reads_an_input_twice_copies_it(tmp_path: Path, tmpdir_: Path) -> None:
    """One file holding predictions and labels (--label-col, no LABELS) is read as two
    sources: standard input is copied, as before, and gives the file's result."""
    p, y = _probs(4)
    rows = [",".join([*(f"{v:.9f}" for v in r), str(c)]) for r, c in zip(p, y, strict=True)]
    data = ("a,b,c,y\n" + "\n".join(rows) + "\n").encode()
    (tmp_path / "both.csv").write_bytes(data)
    flags = ["--label-col", "y", "-l", "ce", "-f", "json"]
    by_path = _json(_invoke(["compute", tmp_path / "both.csv", *flags]))
    stdin = Watched(data, tmpdir_)
    by_stdin = _json(_invoke(["compute", "-", "--preds-format", "csv", *flags], stdin))
    assert by_stdin["results"] == by_path["results"]
    assert stdin.seen, "the one-file mode reads the input twice: it must be copied"
    assert list(tmpdir_.iterdir()) == []


def test_head_looks_past_the_head_buffer_fall_back_to_the_copy(
    tmp_path: Path, tmpdir_: Path
) -> None:
    """A head buffer of 4 KiB cannot hold what the header and schema looks need (pyarrow
    reads 128 KiB blocks): the input is copied, and the result is the file's."""
    fmt, data, _ = CASES["csv"]
    (tmp_path / "p.csv").write_bytes(data)
    labels = tmp_path / "y.csv"
    labels.write_text("y\n" + "\n".join(map(str, _probs()[1])) + "\n")
    by_path = _json(_invoke(["compute", tmp_path / "p.csv", labels, "-l", "ce", "-f", "json"]))
    stdin = Watched(data, tmpdir_)
    args = ["compute", "-", labels, "--preds-format", fmt, "-l", "ce", "-f", "json"]
    by_stdin = _json(_invoke(args, stdin, env={"LOSSCLI_STDIN_HEAD_BYTES": "4096"}))
    _same(by_stdin, by_path, "predictions")
    assert stdin.seen
    assert list(tmpdir_.iterdir()) == []


def test_the_head_buffer_bounds_memory_of_a_long_stream(tmp_path: Path, tmpdir_: Path) -> None:
    """36 MB of CSV through a 16 MiB head buffer: streamed (never copied, so never held past
    the buffer: holding it would have overflowed into a copy), same result as the file.
    (Each of pyarrow's looks at the head reads ahead up to ~40 blocks of 128 KiB until it is
    closed, 5 MiB, more under load: hence not less.)"""
    rng = np.random.default_rng(5)
    n = 3_000_000
    p = rng.random(n)
    data = ("p\n" + "\n".join(f"{v:.9f}" for v in p) + "\n").encode()
    assert len(data) > 32 << 20
    (tmp_path / "p.csv").write_bytes(data)
    labels = tmp_path / "y.csv"
    labels.write_text("y\n" + "\n".join(f"{v:.3f}" for v in rng.random(n)) + "\n")
    flags = ["-l", "mse", "-f", "json"]
    by_path = _json(_invoke(["compute", tmp_path / "p.csv", labels, *flags]))
    stdin = Watched(data, tmpdir_)
    args = ["compute", "-", labels, "--preds-format", "csv", *flags]
    by_stdin = _json(_invoke(args, stdin, env={"LOSSCLI_STDIN_HEAD_BYTES": str(16 << 20)}))
    assert by_stdin["results"] == by_path["results"]
    assert by_stdin["inputs"]["predictions"]["sha256"] == by_path["inputs"]["predictions"]["sha256"]
    assert stdin.seen == set()


def _gz_cut() -> bytes:
    return gzip.compress(CASES["csv"][1])[:-40]


def _npy_cut() -> bytes:
    return CASES["npy"][1][:-100]


ERRORS: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "empty-csv": ("csv", lambda: b"", r"^error: <stdin>: the file is empty"),
    "empty-npy": ("npy", lambda: b"", r"^error: <stdin>: not a valid \.npy file"),
    "truncated-gzip": ("csv.gz", _gz_cut, r"^error: <stdin>: not a valid gzip file"),
    "truncated-npy": ("npy", _npy_cut, r"^error: <stdin>: the array data is cut short"),
    "garbage-csv": ("csv", lambda: bytes(range(256)) * 64, r"^error: <stdin>: the data holds NUL"),
    "garbage-npy": ("npy", lambda: b"junk" * 1000, r"^error: <stdin>: the data does not start"),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_bad_streams_exit_3_naming_stdin(name: str, tmp_path: Path, tmpdir_: Path) -> None:
    fmt, data, pattern = ERRORS[name]
    labels = tmp_path / "y.csv"
    labels.write_text("y\n" + "\n".join(map(str, _probs()[1])) + "\n")
    args = ["compute", "-", labels, "--preds-format", fmt, "-l", "ce"]
    assert_cli_error(_invoke(args, data()), 3, pattern)
    assert list(tmpdir_.iterdir()) == []


def test_a_long_row_far_into_a_stream_exits_3(tmp_path: Path, tmpdir_: Path) -> None:
    """The parse block is sized from the first rows; a row past the head that does not fit
    would need the pass to start again, which a stream cannot: exit 3, asking for a file."""
    n = 40_000
    notes = ["x"] * n
    notes[30_000] = "y" * (600 << 10)
    data = ("p,note\n" + "".join(f"0.5,{t}\n" for t in notes)).encode()
    labels = tmp_path / "y.csv"
    labels.write_text("y\n" + "1\n" * n)
    args = ["compute", "-", labels, "--preds-format", "csv", "--pred-cols", "p", "-l", "bce"]
    assert_cli_error(_invoke(args, data), 3, r"^error: <stdin>: a row far into standard input")
    (tmp_path / "p.csv").write_bytes(data)  # the same rows by path are read
    ok = _invoke(["compute", tmp_path / "p.csv", labels, "--pred-cols", "p", "-l", "bce"])
    assert ok.exit_code == 0, ok.output


# --------------------------------------------------------------------------- a real process


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    return {**env, "TMPDIR": str(tmp), **extra}


def _peak_rss_mib(args: list[Any], stdin: Any, tmp: Path) -> tuple[int, float, bytes]:
    proc = subprocess.Popen(
        [str(a) for a in args], stdin=stdin, stdout=subprocess.PIPE, env=_env(tmp)
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024, out


def test_installed_entry_point_streams_writes_nothing_and_keeps_memory(tmp_path: Path) -> None:
    """A slow producer: half the stream, a pause in which the temporary folder is watched
    (it must stay empty while losscli is reading), then the rest. Same JSON as the path run;
    peak RSS (os.wait4) within 32 MiB of the path run's on 6 MB of CSV."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    rng = np.random.default_rng(6)
    n = 500_000
    data = ("p\n" + "\n".join(f"{v:.9f}" for v in rng.random(n)) + "\n").encode()
    (tmp_path / "p.csv").write_bytes(data)
    labels = tmp_path / "y.csv"
    labels.write_text("y\n" + "\n".join(f"{v:.3f}" for v in rng.random(n)) + "\n")
    flags = ["-l", "mse", "-f", "json"]
    rc, path_rss, path_out = _peak_rss_mib(
        [ENTRY_POINT, "compute", tmp_path / "p.csv", labels, *flags], subprocess.DEVNULL, tmp
    )
    assert rc == 0
    args = [ENTRY_POINT, "compute", "-", labels, "--preds-format", "csv", *flags]
    proc = _piped(args, tmp)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(data[: len(data) // 2])
    proc.stdin.flush()
    seen = set()
    for _ in range(40):  # 2 s with the producer paused: losscli reads what it has
        seen |= {p.name for p in tmp.iterdir()}
        time.sleep(0.05)
    proc.stdin.write(data[len(data) // 2 :])
    proc.stdin.close()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, proc.stderr.read() if proc.stderr else ""
    assert seen == set()
    assert list(tmp.iterdir()) == []
    by_stdin, by_path = json.loads(out), json.loads(path_out)
    assert by_stdin["results"] == by_path["results"]
    assert by_stdin["inputs"]["predictions"]["sha256"] == by_path["inputs"]["predictions"]["sha256"]
    assert usage.ru_maxrss / 1024 < path_rss + 32, (usage.ru_maxrss / 1024, path_rss)


def _piped(args: list[Any], tmp: Path) -> subprocess.Popen[bytes]:
    """The installed ``losscli`` with pipes for its standard streams, ``tmp`` as its TMPDIR."""
    return subprocess.Popen(
        [str(a) for a in args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(tmp),
    )


def _wait_until_reading(proc: subprocess.Popen[bytes]) -> None:
    """Until losscli handles SIGINT and SIGTERM (its handlers are installed) and has read
    everything written to its standard input so far (the pipe is empty)."""
    import fcntl
    import termios

    assert proc.stdin is not None
    wanted = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
    for _ in range(6000):
        status = Path(f"/proc/{proc.pid}/status").read_text()
        caught = int(next(v for k, v in _fields(status) if k == "SigCgt"), 16)
        unread = fcntl.ioctl(proc.stdin.fileno(), termios.FIONREAD, b"\0\0\0\0")
        if caught & wanted == wanted and int.from_bytes(unread, sys.byteorder) == 0:
            return
        assert proc.poll() is None, "losscli ended before reading its input"
        time.sleep(0.01)
    raise AssertionError("losscli did not read its standard input within 60 s")


def _fields(status: str) -> Iterator[tuple[str, str]]:
    for line in status.splitlines():
        key, _, value = line.partition(":")
        yield key, value.strip()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_a_stream_leaves_nothing(tmp_path: Path, signum: int, code: int) -> None:
    """A producer that stops mid-stream; the signal ends the run with one line and the code,
    and the temporary folder stays empty."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    labels = tmp_path / "y.csv"
    labels.write_text("y\n" + "1\n" * 100_000)
    args = [ENTRY_POINT, "compute", "-", labels, "--preds-format", "csv", "-l", "bce"]
    proc = _piped(args, tmp)
    assert proc.stdin is not None
    proc.stdin.write(b"p\n" + b"0.5\n" * 60_000)  # past the head looks, into the main pass
    proc.stdin.flush()
    _wait_until_reading(proc)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    lines = stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert list(tmp.iterdir()) == []


def test_a_producer_that_dies_mid_gzip_exits_3(tmp_path: Path) -> None:
    """The upstream process closes its end after part of a .csv.gz: exit 3, one line."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    labels = tmp_path / "y.csv"
    labels.write_text("y\n" + "\n".join(map(str, _probs()[1])) + "\n")
    args = [ENTRY_POINT, "compute", "-", labels, "--preds-format", "csv.gz", "-l", "ce"]
    proc = subprocess.run(
        [str(a) for a in args],
        input=_gz_cut(),
        capture_output=True,
        env=_env(tmp),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and "<stdin>: not a valid gzip file" in lines[0], lines
    assert list(tmp.iterdir()) == []


def test_a_copy_over_the_size_limit_stops_the_run(tmp_path: Path, tmpdir_: Path) -> None:
    """The head looks overflow a 200 kB head buffer, the fallback copy meets a 100 kB cap: exit
    3 with the cap's message, never a run on the rows that happened to be read (the failed
    copy took bytes from the stream; found by hand: '<stdin> has 225238 rows')."""
    rng = np.random.default_rng(7)
    n = 100_000
    data = ("p\n" + "\n".join(f"{v:.9f}" for v in rng.random(n)) + "\n").encode()
    labels = tmp_path / "y.csv"
    labels.write_text("y\n" + "0.5\n" * n)
    env = {"LOSSCLI_STDIN_HEAD_BYTES": "200000", "LOSSCLI_STDIN_MAX_BYTES": "100000"}
    args = ["compute", "-", labels, "--preds-format", "csv", "-l", "mse"]
    assert_cli_error(_invoke(args, data, env), 3, r"^error: <stdin>: the input is over")
    assert list(tmpdir_.iterdir()) == []
    # Through a pipe the overflow happens in pyarrow's read-ahead thread (which swallows
    # errors): the case that gave the wrong row count.
    proc = subprocess.run(
        [str(a) for a in [ENTRY_POINT, *args]],
        input=data,
        capture_output=True,
        env=_env(tmpdir_, **env),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.decode().startswith("error: <stdin>: the input is over"), proc.stderr
    assert list(tmpdir_.iterdir()) == []


def test_installed_check_streams_and_fails_the_gate_like_the_file(tmp_path: Path) -> None:
    """``check -`` through a real pipe: the same exit code and values as the path run (a
    failing gate: exit 1), nothing left in the temporary folder."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p, y = _probs(8)
    data = _text(p, "a,b,c")
    (tmp_path / "p.csv").write_bytes(data)
    labels = tmp_path / "y.csv"
    labels.write_text("y\n" + "\n".join(map(str, y)) + "\n")
    rule = ["-l", "ce", "--max", "ce=0.5", "-f", "json"]

    def run(preds: Any, stdin: bytes | None) -> subprocess.CompletedProcess[bytes]:
        args = [ENTRY_POINT, "check", preds, labels, *rule]
        if preds == "-":
            args += ["--preds-format", "csv"]
        return subprocess.run(
            [str(a) for a in args],
            input=stdin,
            capture_output=True,
            env=_env(tmp),
            timeout=60,
            check=False,
        )

    by_path, by_stdin = run(tmp_path / "p.csv", None), run("-", data)
    assert by_path.returncode == by_stdin.returncode == 1, by_stdin.stderr
    a, b = json.loads(by_stdin.stdout), json.loads(by_path.stdout)
    assert [r["value"] for r in a["results"]] == [r["value"] for r in b["results"]]
    assert list(tmp.iterdir()) == []
