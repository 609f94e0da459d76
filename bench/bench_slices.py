"""Benchmark ``--group-by``: 10 million rows in 1,000 slices against the same run ungrouped.

    .venv/bin/python bench/bench_slices.py [--rows N] [--slices S] [--repeat R] [--quick]

Writes once (cached in ``bench/.cache/slices-v1-rows-N-slices-S/``) a predictions CSV with a
prediction column ``p`` and a text column ``g`` of S slice names (``s0000``..), and a labels
CSV ``y``; noisy regression values with ~6 significant digits. Then runs, R times each (best
wall time, every run a fresh subprocess of the installed entry point):

- ``losscli compute preds.csv labels.csv --loss mse --format json`` (the text column is left
  out of the predictions, as a non-numeric column);
- the same with ``--group-by g``.

Prints both times and their ratio; the issue's bar is grouped ≤ 1.5 × ungrouped. Checks that
both runs give the same overall MSE, and that the slices' row counts add up to the rows.
Writes the table, with the load average before the runs, to ``bench/results/bench_slices.md``
(``make readme`` splices it into README's Performance section); ``--quick`` (200,000 rows,
100 slices, one run each) is a smoke run and writes nothing.
Exit codes: 0 within the bar; 1 over it or the runs disagree; 2 losscli failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

CACHE = Path(__file__).resolve().parent / ".cache"
RESULTS = Path(__file__).resolve().parent / "results" / "bench_slices.md"
SEED = 2026
CHUNK = 1_000_000
BAR = 1.5


def write_data(folder: Path, rows: int, slices: int) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    preds, labels = folder / "preds.csv", folder / "labels.csv"
    if preds.exists() and labels.exists():
        return preds, labels
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    names = np.array([f"s{i:04d}" for i in range(slices)])
    tmp_p, tmp_l = preds.with_suffix(".tmp"), labels.with_suffix(".tmp")
    with (
        pacsv.CSVWriter(tmp_p, pa.schema([("p", pa.float64()), ("g", pa.string())])) as wp,
        pacsv.CSVWriter(tmp_l, pa.schema([("y", pa.float64())])) as wl,
    ):
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            g = rng.integers(0, slices, n)
            y = np.round(rng.gamma(2.0, 2.0, n) + g / slices, 5)
            p = np.round(y + rng.normal(0, 1 + g / slices, n), 5)
            wp.write(pa.record_batch([pa.array(p), pa.array(names[g])], names=["p", "g"]))
            wl.write(pa.record_batch([pa.array(y)], names=["y"]))
    tmp_p.rename(preds)
    tmp_l.rename(labels)
    return preds, labels


def timed(argv: list[str]) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"losscli failed ({proc.returncode}): {proc.stderr.strip()}", file=sys.stderr)
        raise SystemExit(2)
    return wall, json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--slices", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run; writes nothing")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.slices, args.repeat = 200_000, 100, 1
    load = os.getloadavg()
    folder = CACHE / f"slices-v1-rows-{args.rows}-slices-{args.slices}"
    preds, labels = write_data(folder, args.rows, args.slices)
    exe = str(Path(sys.executable).parent / "losscli")
    base = [exe, "compute", str(preds), str(labels), "--loss", "mse", "--format", "json"]
    best: dict[str, float] = {}
    docs: dict[str, dict] = {}
    for name, argv_ in (("ungrouped", base), ("grouped", [*base, "--group-by", "g"])):
        for _ in range(args.repeat):
            wall, docs[name] = timed(argv_)
            best[name] = min(best.get(name, float("inf")), wall)
    ratio = best["grouped"] / best["ungrouped"]
    slices = docs["grouped"]["slices"]
    print(f"{args.rows:,} rows, {len(slices):,} slices (best of {args.repeat})")
    print(f"  ungrouped {best['ungrouped']:.2f} s")
    print(f"  grouped   {best['grouped']:.2f} s")
    print(f"  ratio     {ratio:.2f} (bar: <= {BAR})")
    print(f"  load average before the runs: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}")
    same = docs["grouped"]["results"][0]["value"] == docs["ungrouped"]["results"][0]["value"]
    counted = sum(s["n"] for s in slices) == args.rows
    if not (same and counted):
        print("the grouped run disagrees with the ungrouped one", file=sys.stderr)
        return 1
    if not args.quick:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(_table(args, len(slices), best, ratio, load))
    return 0 if ratio <= BAR else 1


def _table(
    args: argparse.Namespace, slices: int, best: dict[str, float], ratio: float, load: Any
) -> str:
    """The markdown that ``make readme`` splices into README's Performance section."""
    verdict = "within" if ratio <= BAR else "over"
    return (
        "| run | rows | slices | wall time (best of "
        f"{args.repeat}) |\n|---|---:|---:|---:|\n"
        f"| `compute --loss mse` | {args.rows:,} | — | {best['ungrouped']:.2f} s |\n"
        f"| `compute --loss mse --group-by g` | {args.rows:,} | {slices:,} | "
        f"{best['grouped']:.2f} s |\n\n"
        f"Grouped / ungrouped: **{ratio:.2f}×** ({verdict} the 1.5× bar), a text group "
        f"column in the predictions CSV; `bench/bench_slices.py`, {os.cpu_count()} cores, "
        f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min) "
        "before the runs.\n"
    )


if __name__ == "__main__":
    sys.exit(main())
