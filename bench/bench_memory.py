"""Benchmark losscli's memory and its reading speed per format, and the 10-million-id join.

    .venv/bin/python bench/bench_memory.py [--quick] [--rows N[,N...]] [--repeat R]
        [--part formats|join|all]

``--part formats`` (MSE on a regression pair, the data of ``bench_compute.py``'s regression
task: ``pred`` / ``label``, ~6 significant digits) writes, once, each row count's pair as CSV,
Parquet (one float64 column, row groups of 1M rows), NPY (float64) and NPZ (one compressed
member each) into ``bench/.cache/formats-v1-rows-N/`` (git-ignored), then for each row count
(default 10 million and 100 million) and format runs ``losscli compute preds labels --loss
mse --format json`` in a fresh process reaped with ``os.wait4`` (peak RSS is that process's
own ``ru_maxrss``), and, at the first row count, a raw read of the same files in the same
way: ``np.load`` both and the mean of the squared difference (NPY), ``pq.read_table`` both
(Parquet). The bar: peak RSS ≤ 200 MiB for CSV, Parquet and NPY at every row count; NPZ is
reported (streamed from the archive, never extracted).

``--part join`` writes 10 million ids (``id``, text ``r0000000``.., the labels file in
another order) as two CSVs and times ``losscli compute preds labels --id-col id --loss mse``:
the bar is ≤ 10 s and ≤ 1 GiB.

Every figure is printed with the load average at the time and written, as a Markdown table,
to ``bench/results/bench_memory.md`` (spliced into README's Performance section by ``make
readme``). ``--quick``: 200,000 rows, one run each, no 100M files, results not written.
Exit codes: 0 every bar met; 1 a bar missed or the tools disagree; 2 a tool failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench_compute import (
    CACHE,
    REL_TOL,
    ToolError,
    bench,
    check_losscli,
    losscli_path,
    machine,
    mib,
    regression_chunks,
    versions,
    write_csv_pair,
)

RESULTS = Path(__file__).resolve().parent / "results" / "bench_memory.md"
FORMATS = ("csv", "parquet", "npy", "npz")
BAR_MIB = 200
JOIN_BAR_S, JOIN_BAR_MIB = 10.0, 1024
PARQUET_GROUP = 1_000_000


def load() -> str:
    """The 1-, 5- and 15-minute load averages, as uptime prints them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def _cached(folder: Path, write: Callable[[Path], None]) -> Path:
    """``folder``, written by ``write(tmp)`` into a temporary folder renamed into place."""
    if folder.is_dir():
        return folder
    CACHE.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="partial-", dir=CACHE))
    try:
        write(tmp)
        tmp.chmod(0o755)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"  wrote {folder} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return folder


def _write_formats(rows: int) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        write_csv_pair(tmp / "preds.csv", tmp / "labels.csv", regression_chunks(rows))
        for side, column in (("preds", "pred"), ("labels", "label")):
            reader = pacsv.open_csv(tmp / f"{side}.csv")
            npy = np.lib.format.open_memmap(
                tmp / f"{side}.npy", mode="w+", dtype=np.float64, shape=(rows,)
            )
            schema = pa.schema([(column, pa.float64())])
            with pq.ParquetWriter(tmp / f"{side}.parquet", schema) as writer:
                at = 0
                for batch in reader:
                    values = batch.column(0).to_numpy()
                    writer.write_table(pa.table({column: values}), row_group_size=PARQUET_GROUP)
                    npy[at : at + len(values)] = values
                    at += len(values)
            npy.flush()
            del npy
            np.savez_compressed(tmp / f"{side}.npz", **{column: np.load(tmp / f"{side}.npy")})

    return write


def format_files(rows: int) -> Path:
    return _cached(CACHE / f"formats-v1-rows-{rows}", _write_formats(rows))


def _write_join(rows: int) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.csv as pacsv

        rng = np.random.default_rng(7)
        ids = np.char.add("r", np.char.zfill(np.arange(rows).astype(str), 7))
        labels = np.round(rng.lognormal(1.0, 0.6, rows), 5)
        preds = np.round(labels + rng.normal(0.0, 0.5, rows), 5)
        order = rng.permutation(rows)
        options = pacsv.WriteOptions(quoting_style="none")
        pacsv.write_csv(pa.table({"id": ids, "pred": preds}), tmp / "preds.csv", options)
        pacsv.write_csv(
            pa.table({"id": ids[order], "label": labels[order]}), tmp / "labels.csv", options
        )

    return write


def join_files(rows: int) -> Path:
    return _cached(CACHE / f"join-v1-rows-{rows}", _write_join(rows))


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of a results table."""

    what: str
    rows: int
    wall: float
    peak: int
    bar: str
    met: bool | None  # None: no bar


def _losscli_value(stdout: str) -> float:
    import json

    return float(json.loads(stdout)["results"][0]["value"])


def _one_liner_value(stdout: str) -> float:
    return float(stdout.strip().splitlines()[-1])


RAW = {
    "npy": ("import numpy as np; p=np.load({p!r}); l=np.load({l!r}); print(np.mean((p-l)**2))"),
    "parquet": (
        "import numpy as np, pyarrow.parquet as pq; p=pq.read_table({p!r}).column(0).to_numpy(); "
        "l=pq.read_table({l!r}).column(0).to_numpy(); print(np.mean((p-l)**2))"
    ),
}


def run_formats(exe: Path, rows_list: list[int], repeat: int) -> tuple[list[Row], list[str], int]:
    rows_out: list[Row] = []
    raw_lines: list[str] = []
    code = 0
    for k, rows in enumerate(rows_list):
        folder = format_files(rows)
        for fmt in FORMATS:
            p, lab = folder / f"preds.{fmt}", folder / f"labels.{fmt}"
            argv = [str(exe), "compute", str(p), str(lab), "--loss", "mse", "--format", "json"]
            ours = bench(f"losscli {fmt} {rows:,}", argv, _losscli_value, repeat)
            capped = fmt != "npz"
            met = mib(ours.peak_rss) <= BAR_MIB if capped else None
            code = code or (0 if met in (True, None) else 1)
            rows_out.append(
                Row(
                    f"`compute --loss mse`, {fmt.upper()}",
                    rows,
                    ours.best_wall,
                    ours.peak_rss,
                    f"≤ {BAR_MIB} MiB" if capped else "",
                    met,
                )
            )
            if k == 0 and fmt in RAW:
                cmd = RAW[fmt].format(p=str(p), l=str(lab))
                raw_argv = [sys.executable, "-c", cmd]
                raw = bench(f"raw {fmt} read", raw_argv, _one_liner_value, repeat)
                if abs(raw.value - ours.value) > REL_TOL * abs(raw.value):
                    print(f"error: {fmt}: {raw.value!r} != {ours.value!r}", file=sys.stderr)
                    code = 1
                raw_lines.append(
                    f"| {fmt.upper()} | {rows:,} | {ours.best_wall:.2f} s | {raw.best_wall:.2f} s "
                    f"| {ours.best_wall / raw.best_wall:.2f}× | {mib(ours.peak_rss):.0f} / "
                    f"{mib(raw.peak_rss):.0f} MiB |"
                )
    return rows_out, raw_lines, code


def run_join(exe: Path, rows: int, repeat: int) -> tuple[Row, int]:
    folder = join_files(rows)
    argv = [
        str(exe),
        "compute",
        str(folder / "preds.csv"),
        str(folder / "labels.csv"),
        "--id-col",
        "id",
        "--loss",
        "mse",
        "--format",
        "json",
    ]
    s = bench(f"losscli --id-col {rows:,}", argv, _losscli_value, repeat)
    met = s.best_wall <= JOIN_BAR_S and mib(s.peak_rss) <= JOIN_BAR_MIB
    row = Row(
        "`compute --id-col id --loss mse`, CSV, labels in another order",
        rows,
        s.best_wall,
        s.peak_rss,
        f"≤ {JOIN_BAR_S:.0f} s, ≤ {JOIN_BAR_MIB} MiB",
        met,
    )
    return row, 0 if met else 1


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def markdown(rows: list[Row], raw_lines: list[str], at_load: str) -> str:
    out = [
        f"Peak memory (RSS of a fresh process, `os.wait4`) and best wall time of {{repeat}}; "
        f"load average {at_load} (1, 5, 15 min) when measured.",
        "",
        "| run | rows | best wall | peak RSS | bar | met |",
        "|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        out.append(
            f"| {r.what} | {r.rows:,} | {r.wall:.2f} s | {mib(r.peak):.0f} MiB | {r.bar} | {met} |"
        )
    if raw_lines:
        out += [
            "",
            "Reading the same files without losscli (`np.load` / `pq.read_table` of both, then "
            "the mean of the squared difference), each in a fresh process:",
            "",
            "| format | rows | losscli | raw read | time ratio (losscli / raw) | peak RSS "
            "(losscli / raw) |",
            "|---|---:|---:|---:|---:|---:|",
            *raw_lines,
        ]
    return "\n".join(out) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["formats", "join", "all"], default="all")
    parser.add_argument(
        "--rows",
        default="10000000,100000000",
        help="comma-separated row counts for --part formats (default 10M and 100M); the join "
        "uses the first",
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs per tool (default 2)")
    parser.add_argument(
        "--quick", action="store_true", help="200,000 rows, one run, no results file"
    )
    args = parser.parse_args(argv)
    args.rows = [200_000] if args.quick else [int(x) for x in args.rows.split(",") if x]
    if args.quick:
        args.repeat = 1
    if not args.rows or min(args.rows) < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exe = losscli_path()
    try:
        check_losscli(exe)
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    at_load = load()
    rows: list[Row] = []
    raw_lines: list[str] = []
    code = 0
    try:
        if args.part in ("formats", "all"):
            found, raw_lines, code = run_formats(exe, args.rows, args.repeat)
            rows += found
        if args.part in ("join", "all"):
            join_row, join_code = run_join(exe, args.rows[0], args.repeat)
            rows.append(join_row)
            code = code or join_code
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    at_load = f"{at_load} at the start, {load()} at the end"
    table = markdown(rows, raw_lines, at_load).replace("{repeat}", str(args.repeat))
    print(table)
    print(f"machine: {machine()}\nversions: {versions()}")
    if not args.quick:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(table)
        print(f"wrote {RESULTS}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
