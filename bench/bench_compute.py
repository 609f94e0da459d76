"""Benchmark ``losscli compute`` against the pandas + scikit-learn one-liners users write today.

    .venv/bin/python bench/bench_compute.py [--task regression|multiclass|all] [--rows N]
        [--repeat R] [--losses mae,...]

Two tasks; ``--task all`` (the default) runs both and prints a table for each.

- ``regression``, MSE: ``preds.csv`` (header ``pred``) and ``labels.csv`` (header ``label``),
  noisy predictions of a skewed target, 10 million rows by default (or the
  ``LOSSCLI_BENCH_ROWS`` environment variable, which sets this task's default only). The
  one-liner reads both files with pandas and calls ``sklearn.metrics.mean_squared_error``.
- ``multiclass``, cross-entropy: ``preds.csv`` with 10 logit columns ``c0``..``c9`` and
  ``labels.csv`` with one column ``label`` of class indices 0..9, 2 million rows by default.
  losscli reads the scores as logits by itself. The one-liner reads both files with pandas,
  turns the logits into probabilities with ``scipy.special.softmax(p.values, axis=1)`` and
  calls ``sklearn.metrics.log_loss(l['label'], probs, labels=range(10))``. log_loss clips the
  probabilities to [eps, 1 - eps]; with these logits no true-class probability comes near
  either end, so the clip changes the mean by far less than the tolerance below.

``--rows N`` sets the rows for every task run. For each task:

1. Generates, once, its CSV pair, values with ~6 significant digits (written in chunks with
   Arrow's CSV writer). The files are cached in ``bench/.cache/`` (git-ignored), one directory
   per task, data version and row count (``v1-rows-N/`` for regression,
   ``multiclass-v1-rows-N/``), and reused by later runs.
2. Runs each tool R times (default 3), every run in a fresh subprocess reaped with
   ``os.wait4``, so each run's peak memory (``ru_maxrss``) is that process's own:
   - ``losscli compute preds.csv labels.csv --loss mse|ce [--loss ...] --format json``, the
     entry point installed next to this Python; ``--losses`` adds losses to this run (one
     task only);
   - the ``python -c`` one-liner above.
3. Prints best wall time and peak RSS per tool, the one-liner / losscli ratios, and checks
   that both tools agree on the task's loss to 1e-9 relative; then the machine and library
   versions.

Wall times include interpreter start-up and imports: that is what a user waits for.

Exit codes: 0 ok; 1 the two values disagree; 2 losscli is missing or failed (the one-liner is
still timed and reported); 3 the one-liner failed. With several tasks, the lowest non-zero
code of any task.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

DEFAULT_ROWS = 10_000_000
ROWS_ENV = "LOSSCLI_BENCH_ROWS"
CACHE = Path(__file__).resolve().parent / ".cache"
CACHE_VERSION = 1  # bump when the generated data changes
SEED = 12345
CHUNK = 1_000_000
REL_TOL = 1e-9

ONE_LINER = (
    "import pandas as pd; from sklearn.metrics import mean_squared_error; "
    "p=pd.read_csv({preds!r}); l=pd.read_csv({labels!r}); "
    "print(mean_squared_error(l['label'], p['pred']))"
)


@dataclass(frozen=True)
class Run:
    """One subprocess run: exit code, wall seconds, peak RSS in bytes, output."""

    returncode: int
    wall: float
    maxrss: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Summary:
    """The best of several runs of one tool, and the MSE it printed."""

    tool: str
    best_wall: float
    peak_rss: int
    mse: float


class ToolError(RuntimeError):
    """A benchmarked command is missing, failed, or printed something unexpected."""


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def round_significant(x, digits: int = 6):
    """Round to ``digits`` significant digits so the CSV text is short (e.g. ``3.14159``).

    ``rint(x * 10**d) / 10**d`` with an exact power of ten is the double nearest the decimal,
    so its shortest representation (what Arrow writes) is that decimal.
    """
    import numpy as np

    exponent = np.floor(np.log10(np.abs(x), where=x != 0, out=np.zeros_like(x)))
    scale = 10.0 ** np.clip(digits - 1 - exponent, 0, 22)
    return np.rint(x * scale) / scale


def write_csv_pair(preds: Path, labels: Path, chunks) -> None:
    """Write ``(preds, labels)`` float64 chunks as two one-column CSVs (Arrow's fast writer).

    Arrow quotes header names, so the plain header line is written by hand.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    no_header = pacsv.WriteOptions(include_header=False)
    with preds.open("wb") as pred_file, labels.open("wb") as label_file:
        pred_file.write(b"pred\n")
        label_file.write(b"label\n")
        for p, y in chunks:
            pacsv.write_csv(pa.table({"pred": p}), pred_file, no_header)
            pacsv.write_csv(pa.table({"label": y}), label_file, no_header)


def generate_chunks(rows: int):
    """Yield ``(preds, labels)`` float64 chunks: noisy predictions of a skewed target."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        labels = rng.lognormal(1.0, 0.6, size=n)
        preds = labels + rng.normal(0.0, 0.5, size=n) + 0.05 * rng.standard_t(3, size=n)
        yield round_significant(preds), round_significant(labels)


def ensure_data(rows: int) -> tuple[Path, Path, float | None]:
    """Return the cached CSV pair for ``rows``, generating it first if needed.

    The third value is the generation time in seconds, or None when the cache was used.
    Files are written to a temporary directory and renamed into place, so an interrupted
    run never leaves a half-written cache behind.
    """
    target = CACHE / f"v{CACHE_VERSION}-rows-{rows}"
    preds, labels = target / "preds.csv", target / "labels.csv"
    if preds.is_file() and labels.is_file():
        return preds, labels, None
    CACHE.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="partial-", dir=CACHE))
    try:
        write_csv_pair(tmp / "preds.csv", tmp / "labels.csv", generate_chunks(rows))
        tmp.chmod(0o755)  # mkdtemp makes it private
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return preds, labels, time.perf_counter() - start


# --------------------------------------------------------------------------------------------
# Running and measuring
# --------------------------------------------------------------------------------------------


def run_measured(argv: list[str]) -> Run:
    """Run ``argv`` in a fresh process; wall time and that process's own peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    maxrss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)  # Linux: KiB
    return Run(proc.returncode, wall, maxrss, stdout, stderr)


def losscli_path() -> Path:
    """The ``losscli`` entry point installed next to this Python."""
    return Path(sys.executable).parent / "losscli"


def check_losscli(exe: Path) -> None:
    """Fail early, with a clear message, when losscli is not installed or does not start."""
    if not exe.is_file():
        raise ToolError(
            f"losscli not found at {exe}; install the package into this environment "
            f"(e.g. `{sys.executable} -m pip install -e .`)"
        )
    run = run_measured([str(exe), "--help"])
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ToolError(f"losscli is installed at {exe} but does not start: {last}")


def losscli_argv(exe: Path, preds: Path, labels: Path, losses: list[str]) -> list[str]:
    argv = [str(exe), "compute", str(preds), str(labels)]
    for loss in losses:
        argv += ["--loss", loss]
    return [*argv, "--format", "json"]


def parse_losscli(stdout: str) -> float:
    """The MSE value from losscli's JSON output (the result labelled ``mse``)."""
    try:
        results = json.loads(stdout)["results"]
        mse = next((r for r in results if r["loss"] == "mse"), results[0])
        return float(mse["value"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ToolError(f"unexpected losscli output ({exc}): {stdout[:200]!r}") from exc


def parse_one_liner(stdout: str) -> float:
    try:
        return float(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise ToolError(f"unexpected one-liner output: {stdout[:200]!r}") from exc


def bench(tool: str, argv: list[str], parse, repeat: int) -> Summary:
    """Run ``argv`` ``repeat`` times; best wall time, max peak RSS, the value printed."""
    runs = []
    for i in range(repeat):
        run = run_measured(argv)
        if run.returncode != 0:
            tail = "\n".join(run.stderr.strip().splitlines()[-5:])
            raise ToolError(f"{tool} exited with {run.returncode}:\n{tail}")
        runs.append(run)
        print(
            f"  {tool} run {i + 1}/{repeat}: {run.wall:.2f} s, {mib(run.maxrss):.0f} MiB",
            file=sys.stderr,
        )
    values = {parse(r.stdout) for r in runs}
    if len(values) != 1:
        raise ToolError(f"{tool} printed different values across runs: {sorted(values)}")
    return Summary(tool, min(r.wall for r in runs), max(r.maxrss for r in runs), values.pop())


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def mib(n: int) -> float:
    return n / 2**20


def versions() -> str:
    names = ("numpy", "pandas", "pyarrow", "scikit-learn", "losscli")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def machine() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    return (
        f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores "
        f"({usable} usable), Python {platform.python_version()}"
    )


def report(rows: int, summaries: list[Summary]) -> None:
    print(f"\nlosscli compute vs pandas+sklearn one-liner, {rows:,} rows, MSE")
    print(f"{'tool':<12} {'best wall s':>12} {'peak RSS MiB':>13} {'MSE':>22}")
    for s in summaries:
        print(f"{s.tool:<12} {s.best_wall:>12.3f} {mib(s.peak_rss):>13.1f} {s.mse:>22.15g}")
    by_tool = {s.tool: s for s in summaries}
    if {"losscli", "one-liner"} <= by_tool.keys():
        ours, theirs = by_tool["losscli"], by_tool["one-liner"]
        print(
            f"one-liner / losscli: time {theirs.best_wall / ours.best_wall:.2f}x, "
            f"memory {theirs.peak_rss / ours.peak_rss:.2f}x"
        )
    print(f"machine: {machine()}")
    print(f"versions: {versions()}")


def agree(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b))


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=int,
        default=int(os.environ.get(ROWS_ENV, DEFAULT_ROWS)),
        help=f"rows in the generated files (default {DEFAULT_ROWS:,} or ${ROWS_ENV})",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (default 3)")
    parser.add_argument(
        "--losses",
        default="mse",
        help="comma-separated losses for the losscli run (default mse; mse is always included)",
    )
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be positive")
    losses = [s.strip() for s in args.losses.split(",") if s.strip()]
    args.losses = losses if "mse" in losses else ["mse", *losses]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    preds, labels, took = ensure_data(args.rows)
    if took is None:
        print(f"using cached data in {preds.parent}", file=sys.stderr)
    else:
        print(f"generated {args.rows:,} rows in {took:.1f} s into {preds.parent}", file=sys.stderr)

    summaries: list[Summary] = []
    exit_code = 0
    exe = losscli_path()
    try:
        check_losscli(exe)
        argv = losscli_argv(exe, preds, labels, args.losses)
        summaries.append(bench("losscli", argv, parse_losscli, args.repeat))
    except ToolError as exc:
        print(f"error: {exc}\n(timing the one-liner only)", file=sys.stderr)
        exit_code = 2

    code = ONE_LINER.format(preds=str(preds), labels=str(labels))
    try:
        summaries.append(
            bench("one-liner", [sys.executable, "-c", code], parse_one_liner, args.repeat)
        )
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        exit_code = exit_code or 3

    report(args.rows, summaries)
    if len(summaries) == 2 and not agree(summaries[0].mse, summaries[1].mse):
        print(
            f"error: MSE values disagree beyond {REL_TOL:g} relative: "
            f"losscli {summaries[0].mse!r}, one-liner {summaries[1].mse!r}",
            file=sys.stderr,
        )
        return 1
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
