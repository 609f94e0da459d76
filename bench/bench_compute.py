"""Benchmark ``losscli compute`` against the pandas + scikit-learn one-liners users write today.

    .venv/bin/python bench/bench_compute.py [--task regression|multiclass|all] [--rows N]
        [--repeat R] [--losses mae,...] [--quick]

Three tasks; ``--task all`` (the default) runs each and prints a table for each.

- ``regression``, MSE: ``preds.csv`` (header ``pred``) and ``labels.csv`` (header ``label``),
  noisy predictions of a skewed target, 10 million rows by default (or the
  ``LOSSCLI_BENCH_ROWS`` environment variable, which sets this task's default only). The
  one-liner reads both files with pandas and calls ``sklearn.metrics.mean_squared_error``;
  a second one reads them with polars (``pl.read_csv`` of both, then the mean of the squared
  difference), when polars is installed (a bench-only dependency: the ``bench`` extra, which
  ``make bench`` installs). The targets: losscli no slower than polars, at no more than half
  its peak memory.
- ``multiclass``, cross-entropy: ``preds.csv`` with 10 logit columns ``c0``..``c9`` and
  ``labels.csv`` with one column ``label`` of class indices 0..9, 2 million rows by default.
  losscli reads the scores as logits by itself. The one-liner reads both files with pandas,
  turns the logits into probabilities with ``scipy.special.softmax(p.values, axis=1)`` and
  calls ``sklearn.metrics.log_loss(l['label'], probs, labels=range(10))``. log_loss clips the
  probabilities to [eps, 1 - eps]; with these logits no true-class probability comes near
  either end, so the clip changes the mean by far less than the tolerance below.

- ``bootstrap``: the regression files at 1 million rows, with ``--ci bootstrap`` (B = 1000
  Poisson replicates, seeded) on losscli's side: what a bootstrap interval costs, against
  the same one-liner (which gives no interval at all).

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
   that the tools agree on the task's loss to 1e-9 relative; then the machine, the library
   versions and the load average.

A full run (every task at its default size) writes its table to
``bench/results/bench_compute.md``, which ``make readme`` splices into README's Performance
section. ``--quick``: 100,000 rows, one run per tool, nothing written.

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

CACHE = Path(__file__).resolve().parent / ".cache"
RESULTS = Path(__file__).resolve().parent / "results" / "bench_compute.md"
SEED = 12345
CHUNK = 1_000_000  # prediction values per generated chunk (rows × prediction columns)
CLASSES = 10
REL_TOL = 1e-9

Columns = dict[str, Any]  # CSV header name -> 1-D numpy array, in column order


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
    """The best of several runs of one tool, and the loss value it printed."""

    tool: str
    best_wall: float
    peak_rss: int
    value: float


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


def write_csv_pair(preds: Path, labels: Path, chunks: Iterator[tuple[Columns, Columns]]) -> None:
    """Write ``(preds, labels)`` column chunks as two CSVs (Arrow's fast writer).

    Arrow quotes header names, so the plain header line is written by hand from the first
    chunk's column names.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    no_header = pacsv.WriteOptions(include_header=False)
    with preds.open("wb") as pred_file, labels.open("wb") as label_file:
        for i, pair in enumerate(chunks):
            for file, columns in zip((pred_file, label_file), pair, strict=True):
                if i == 0:
                    file.write(",".join(columns).encode() + b"\n")
                pacsv.write_csv(pa.table(columns), file, no_header)


def regression_chunks(rows: int) -> Iterator[tuple[Columns, Columns]]:
    """Yield ``pred`` / ``label`` float64 chunks: noisy predictions of a skewed target."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        labels = rng.lognormal(1.0, 0.6, size=n)
        preds = labels + rng.normal(0.0, 0.5, size=n) + 0.05 * rng.standard_t(3, size=n)
        yield {"pred": round_significant(preds)}, {"label": round_significant(labels)}


def multiclass_chunks(rows: int) -> Iterator[tuple[Columns, Columns]]:
    """Yield ``c0``..``c9`` logit / ``label`` class-index chunks from a ~60%-accurate model.

    Logits are noise plus a per-row offset (softmax ignores it; real logits are not centred),
    with a margin of about 2 added to the true class.
    """
    import numpy as np

    rng = np.random.default_rng(SEED)
    step = CHUNK // CLASSES
    for start in range(0, rows, step):
        n = min(step, rows - start)
        labels = rng.integers(0, CLASSES, size=n)
        logits = rng.normal(0.0, 1.0, size=(CLASSES, n)) + rng.normal(0.0, 2.0, size=n)
        logits[labels, np.arange(n)] += rng.normal(2.0, 1.0, size=n)
        logits = round_significant(logits)
        yield {f"c{k}": logits[k] for k in range(CLASSES)}, {"label": labels}


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One benchmark scenario: its data, the loss both tools compute, and the one-liner."""

    name: str  # the --task value
    title: str  # the report heading
    loss: str  # losscli's name for the loss; its JSON result of that name is compared
    chunks: Callable[[int], Iterator[tuple[Columns, Columns]]]
    one_liner: str  # python -c template with {preds!r}, {labels!r}; prints the value last
    default_rows: int
    cache_key: str  # cache directory prefix: bump its version when the generated data changes
    rows_env: str | None = None  # environment variable overriding default_rows
    options: tuple[str, ...] = ()  # more losscli options, e.g. --ci bootstrap
    # The same number with polars (a bench-only dependency): python -c template, or None.
    polars_liner: str | None = None

    def rows(self) -> int:
        """The default row count: ``rows_env`` if set, else ``default_rows``."""
        value = os.environ.get(self.rows_env) if self.rows_env else None
        if not value:
            return self.default_rows
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"${self.rows_env} is not a row count: {value!r}") from None

    def cache_dir(self, rows: int) -> Path:
        return CACHE / f"{self.cache_key}-rows-{rows}"

    def losscli_argv(self, exe: Path, preds: Path, labels: Path, extra: list[str]) -> list[str]:
        argv = [str(exe), "compute", str(preds), str(labels)]
        for loss in [self.loss, *(x for x in extra if x != self.loss)]:
            argv += ["--loss", loss]
        return [*argv, *self.options, "--format", "json"]

    def parse_losscli(self, stdout: str) -> float:
        """This task's loss value from losscli's JSON output."""
        try:
            results = json.loads(stdout)["results"]
            ours = next((r for r in results if r["loss"] == self.loss), results[0])
            return float(ours["value"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ToolError(f"unexpected losscli output ({exc}): {stdout[:200]!r}") from exc


TASKS = {
    task.name: task
    for task in (
        Task(
            name="regression",
            title="regression, MSE",
            loss="mse",
            chunks=regression_chunks,
            one_liner=(
                "import pandas as pd; from sklearn.metrics import mean_squared_error; "
                "p=pd.read_csv({preds!r}); l=pd.read_csv({labels!r}); "
                "print(mean_squared_error(l['label'], p['pred']))"
            ),
            default_rows=10_000_000,
            cache_key="v1",  # the original, unprefixed name: existing caches stay valid
            rows_env="LOSSCLI_BENCH_ROWS",
            polars_liner=(
                "import polars as pl; p=pl.read_csv({preds!r}); l=pl.read_csv({labels!r}); "
                "print(((p['pred'] - l['label']) ** 2).mean())"
            ),
        ),
        Task(
            name="multiclass",
            title=f"multiclass ({CLASSES} classes, logits), cross-entropy",
            loss="ce",
            chunks=multiclass_chunks,
            one_liner=(
                "import pandas as pd; from scipy.special import softmax; "
                "from sklearn.metrics import log_loss; "
                "p=pd.read_csv({preds!r}); l=pd.read_csv({labels!r}); "
                "probs=softmax(p.values, axis=1); "
                f"print(log_loss(l['label'], probs, labels=range({CLASSES})))"
            ),
            default_rows=2_000_000,
            cache_key="multiclass-v1",
        ),
        Task(
            name="bootstrap",
            title="regression, MSE with a 95% bootstrap interval (B = 1000)",
            loss="mse",
            chunks=regression_chunks,
            one_liner=(
                "import pandas as pd; from sklearn.metrics import mean_squared_error; "
                "p=pd.read_csv({preds!r}); l=pd.read_csv({labels!r}); "
                "print(mean_squared_error(l['label'], p['pred']))"
            ),
            default_rows=1_000_000,
            cache_key="v1",  # the regression task's data
            options=("--ci", "bootstrap", "--bootstrap-samples", "1000"),
        ),
    )
}


def ensure_data(task: Task, rows: int) -> tuple[Path, Path, float | None]:
    """Return the cached CSV pair of ``task`` for ``rows``, generating it first if needed.

    The third value is the generation time in seconds, or None when the cache was used.
    Files are written to a temporary directory and renamed into place, so an interrupted
    run never leaves a half-written cache behind.
    """
    target = task.cache_dir(rows)
    preds, labels = target / "preds.csv", target / "labels.csv"
    if preds.is_file() and labels.is_file():
        return preds, labels, None
    CACHE.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="partial-", dir=CACHE))
    try:
        write_csv_pair(tmp / "preds.csv", tmp / "labels.csv", task.chunks(rows))
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


def parse_one_liner(stdout: str) -> float:
    try:
        return float(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise ToolError(f"unexpected one-liner output: {stdout[:200]!r}") from exc


def bench(tool: str, argv: list[str], parse: Callable[[str], float], repeat: int) -> Summary:
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


def run_task(task: Task, rows: int, exe: Path | None, extra: list[str], repeat: int) -> int:
    """Generate or reuse the data, time both tools, print the table; this task's exit code.

    ``exe`` is None when losscli did not pass ``check_losscli``: the one-liner is still timed.
    """
    print(f"{task.name}:", file=sys.stderr)
    preds, labels, took = ensure_data(task, rows)
    if took is None:
        print(f"  using cached data in {preds.parent}", file=sys.stderr)
    else:
        print(f"  generated {rows:,} rows in {took:.1f} s into {preds.parent}", file=sys.stderr)

    summaries: list[Summary] = []
    exit_code = 0
    if exe is None:
        exit_code = 2
    else:
        try:
            argv = task.losscli_argv(exe, preds, labels, extra)
            summaries.append(bench("losscli", argv, task.parse_losscli, repeat))
        except ToolError as exc:
            print(f"error: {exc}\n(timing the one-liner only)", file=sys.stderr)
            exit_code = 2

    if summaries and task.name == "regression":
        digest_cost(summaries[0], argv, task, repeat)

    code = task.one_liner.format(preds=str(preds), labels=str(labels))
    try:
        summaries.append(bench("one-liner", [sys.executable, "-c", code], parse_one_liner, repeat))
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        exit_code = exit_code or 3

    if task.polars_liner is not None:
        if polars_available():
            code = task.polars_liner.format(preds=str(preds), labels=str(labels))
            try:
                argv = [sys.executable, "-c", code]
                summaries.append(bench("polars", argv, parse_one_liner, repeat))
            except ToolError as exc:
                print(f"error: {exc}", file=sys.stderr)
                exit_code = exit_code or 3
        else:
            print(
                "  polars is not installed: `pip install -e '.[bench]'` (make bench does)",
                file=sys.stderr,
            )

    report(task, rows, summaries)
    ours = next((s for s in summaries if s.tool == "losscli"), None)
    for other in summaries:
        if ours is not None and other is not ours and not agree(ours.value, other.value):
            print(
                f"error: {task.name} {task.loss} values disagree beyond {REL_TOL:g} relative: "
                f"losscli {ours.value!r}, {other.tool} {other.value!r}",
                file=sys.stderr,
            )
            return 1
    return exit_code


def polars_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("polars") is not None


# The same losscli run with the content hashing of the inputs (losscli/io/digest.py) left out:
# what the sha256 of both files in the JSON and the signatures cost.
# compute starts hashing before its imports (``hash_ahead``), the readers where it did not.
NO_DIGEST = (
    "import sys; import losscli.io.readers as r; r.file_digest = lambda path: None; "
    "import losscli.io.digest as d; d.hash_ahead = lambda paths: None; "
    "from losscli.cli import main; sys.argv = ['losscli', *sys.argv[1:]]; main()"
)


def digest_cost(with_digest: Summary, argv: list[str], task: Task, repeat: int) -> None:
    """Time losscli without content hashes and print the hashes' share of the run."""
    try:
        without = bench(
            "losscli without hashing",
            [sys.executable, "-c", NO_DIGEST, *argv[1:]],
            task.parse_losscli,
            repeat,
        )
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return
    cost = with_digest.best_wall - without.best_wall
    print(
        f"content hashes (sha256 of both inputs, streamed): losscli {with_digest.best_wall:.3f} s, "
        f"without them {without.best_wall:.3f} s: {cost:+.3f} s = {cost / without.best_wall:+.1%} "
        "(best of each)"
    )


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def mib(n: int) -> float:
    return n / 2**20


def versions() -> str:
    names = ("numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "losscli")
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


# Markdown rows for bench/results/bench_compute.md, one per task run.
TABLE_ROWS: list[str] = []


def report(task: Task, rows: int, summaries: list[Summary]) -> None:
    print(f"\nlosscli compute vs one-liner, {rows:,} rows, {task.title}")
    print(f"{'tool':<12} {'best wall s':>12} {'peak RSS MiB':>13} {task.loss.upper():>22}")
    for s in summaries:
        print(f"{s.tool:<12} {s.best_wall:>12.3f} {mib(s.peak_rss):>13.1f} {s.value:>22.15g}")
    by_tool = {s.tool: s for s in summaries}
    ours = by_tool.get("losscli")
    for name in ("one-liner", "polars"):
        if ours is not None and name in by_tool:
            theirs = by_tool[name]
            print(
                f"{name} / losscli: time {theirs.best_wall / ours.best_wall:.2f}x, "
                f"memory {theirs.peak_rss / ours.peak_rss:.2f}x"
            )
    TABLE_ROWS.append(table_row(task, rows, by_tool))
    sys.stdout.flush()  # the table before the next task's progress lines on stderr


def table_row(task: Task, rows: int, by_tool: dict[str, Summary]) -> str:
    """One Markdown row: times, time ratios (losscli / other: below 1 is faster) and peaks."""

    def cell(name: str) -> str:
        s = by_tool.get(name)
        return "—" if s is None else f"{s.best_wall:.2f} s, {mib(s.peak_rss):.0f} MiB"

    def ratio(name: str) -> str:
        ours, theirs = by_tool.get("losscli"), by_tool.get(name)
        if ours is None or theirs is None:
            return "—"
        return (
            f"{ours.best_wall / theirs.best_wall:.2f}× time, "
            f"{ours.peak_rss / theirs.peak_rss:.2f}× memory"
        )

    spec = " ".join(f"--loss {task.loss}".split() + list(task.options))
    return (
        f"| {task.title} (`{spec}`) | {rows:,} | {cell('losscli')} | {cell('one-liner')} | "
        f"{cell('polars')} | {ratio('one-liner')} | {ratio('polars')} |"
    )


def results_markdown(repeat: int, load: str) -> str:
    head = [
        f"Best wall time of {repeat} runs and peak RSS, each run a fresh process "
        f"(`bench/bench_compute.py`); load average {load} (1, 5, 15 min) when measured. "
        "Ratios are losscli / the other tool: below 1 means losscli takes less.",
        "",
        "| task | rows | losscli | pandas + scikit-learn one-liner | polars one-liner | "
        "losscli / pandas | losscli / polars |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    return "\n".join([*head, *TABLE_ROWS]) + "\n"


def agree(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b))


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--task",
        choices=[*TASKS, "all"],
        default="all",
        help="which scenario to run (default all: each in turn)",
    )
    parser.add_argument(
        "--rows",
        type=int,
        help="rows in the generated files, for every task run (default: regression "
        f"{TASKS['regression'].default_rows:,} or ${TASKS['regression'].rows_env}, "
        f"multiclass {TASKS['multiclass'].default_rows:,})",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (default 3)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 100,000 rows, one run per tool, bench/results not written",
    )
    parser.add_argument(
        "--losses",
        default="",
        help="comma-separated extra losses for the losscli run; needs --task regression or "
        "multiclass (the task's own loss, mse or ce, is always included and compared)",
    )
    args = parser.parse_args(argv)
    # Only a full run of every task at its default size writes bench/results.
    args.write_results = not args.quick and args.rows is None and args.task == "all"
    if args.quick:
        args.rows, args.repeat = 100_000, 1
    args.tasks = list(TASKS.values()) if args.task == "all" else [TASKS[args.task]]
    try:
        args.rows_by_task = {
            t.name: t.rows() if args.rows is None else args.rows for t in args.tasks
        }
    except ValueError as exc:
        parser.error(str(exc))
    if min(args.rows_by_task.values()) < 1 or args.repeat < 1:
        parser.error("--rows, --repeat and the row counts must be positive")
    args.losses = [s.strip() for s in args.losses.split(",") if s.strip()]
    if args.losses and len(args.tasks) > 1:
        parser.error("--losses applies to one task: add --task regression or --task multiclass")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exe: Path | None = losscli_path()
    try:
        check_losscli(exe)
    except ToolError as exc:
        print(f"error: {exc}\n(timing the one-liners only)", file=sys.stderr)
        exe = None

    start_load = load_average()
    codes = [
        run_task(task, args.rows_by_task[task.name], exe, args.losses, args.repeat)
        for task in args.tasks
    ]
    print(f"\nmachine: {machine()}")
    print(f"versions: {versions()}")
    load = f"{start_load} at the start, {load_average()} at the end"
    print(f"load average: {load}")
    if args.write_results:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(results_markdown(args.repeat, load))
        print(f"wrote {RESULTS}", file=sys.stderr)
    return min((c for c in codes if c), default=0)


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, as uptime prints them."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
