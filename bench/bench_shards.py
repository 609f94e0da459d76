"""Benchmark sharded inputs (issue 11.6): 100 million rows as 16 Parquet shards, evaluated by
the local engine, by ``--engine dask`` on a LocalCluster of 2 workers, and in one-file mode.

    .venv/bin/python bench/bench_shards.py [--rows N] [--shards S] [--quick] [--own-cluster]

Writes once (cached in ``bench/.cache/shards-v1-rows-N-shards-S/``) a binary classification
data set: ``preds/part-000NN.parquet`` (a probability column ``p``), ``labels/`` the same way
(an int8 column ``label``), and ``results.parquet``, one file holding both columns (row
groups of 1M rows). Then runs, each a fresh subprocess of the installed entry point:

- local:    ``losscli compute preds/ labels/ --loss bce --loss brier --format json``
- dask:     the same with ``--engine dask --scheduler ADDRESS`` on a LocalCluster of 2 worker
            processes (1 thread each) started by this script before the clock starts;
- one-file: ``losscli compute results.parquet --label-col label ...`` (local engine);
- with ``--own-cluster``: ``--engine dask --workers 2``, the cluster started (and stopped) by
  losscli inside the timed run.

Wall time and peak RSS of every process: the losscli process (``wait4``), and each Dask
worker (``ru_maxrss`` read on the worker through ``Client.run``). The target is at most
300 MiB per process. Checks that all runs print the same values (to 1e-12 relative) and n.
Prints the figures (and ratios to the local run) and writes bench/results/bench_shards.md.
Exit codes: 0 all within the memory target and agreeing; 1 otherwise; 2 losscli failed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results" / "bench_shards.md"
EXE = Path(sys.executable).parent / "losscli"
SEED = 2026
BLOCK = 1_000_000
TARGET_MIB = 300
LOSSES = ["--loss", "bce", "--loss", "brier"]


def write_data(folder: Path, rows: int, shards: int) -> tuple[Path, Path, Path]:
    """The shards and the one file (written once, then reused)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    preds, labels, one = folder / "preds", folder / "labels", folder / "results.parquet"
    if (folder / "done").exists():
        return preds, labels, one
    for d in (preds, labels):
        d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    bounds = np.linspace(0, rows, shards + 1).astype(np.int64)
    schema = pa.schema([("p", pa.float64()), ("label", pa.int8())])
    with pq.ParquetWriter(one, schema) as whole:
        for i in range(shards):
            name = f"part-{i:05d}.parquet"
            with (
                pq.ParquetWriter(preds / name, pa.schema([schema.field("p")])) as wp,
                pq.ParquetWriter(labels / name, pa.schema([schema.field("label")])) as wl,
            ):
                for start in range(int(bounds[i]), int(bounds[i + 1]), BLOCK):
                    n = min(BLOCK, int(bounds[i + 1]) - start)
                    p = 1 / (1 + np.exp(-rng.normal(0, 2, n)))
                    y = (rng.random(n) < p).astype(np.int8)
                    wp.write_table(pa.table({"p": p}))
                    wl.write_table(pa.table({"label": y}))
                    whole.write_table(pa.table({"p": p, "label": y}, schema=schema))
    (folder / "done").write_text("")
    return preds, labels, one


def timed(args: list[str]) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds, peak RSS (MiB) of the losscli process (``wait4``) and its JSON report."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(EXE), "compute", *args, *LOSSES, "--format", "json"], stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            print(f"losscli failed ({proc.returncode}): {err.read().strip()}", file=sys.stderr)
            raise SystemExit(2)
        return wall, usage.ru_maxrss / 1024, json.loads(out.read())


def worker_rss(client: Any) -> list[float]:
    """Peak RSS (MiB) of every worker process since it started."""
    peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return [peaks[w] / 1024 for w in sorted(peaks)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="1M rows: a smoke run in seconds")
    parser.add_argument("--own-cluster", action="store_true", help="also time --workers N")
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    ns = parser.parse_args()
    rows = 1_000_000 if ns.quick else ns.rows
    folder = CACHE / f"shards-v1-rows-{rows}-shards-{ns.shards}"
    t0 = time.perf_counter()
    preds, labels, one = write_data(folder, rows, ns.shards)
    print(f"data: {rows:,} rows in {ns.shards} shards ({time.perf_counter() - t0:.1f} s)")
    runs = measure(preds, labels, one, ns.workers, ns.own_cluster)
    ok = report(runs, rows, ns, not ns.no_write)
    return 0 if ok else 1


def measure(preds: Path, labels: Path, one: Path, workers: int, own: bool) -> list[dict[str, Any]]:
    """Every mode's wall time, per-process peak RSS and report."""
    from dask.distributed import Client, LocalCluster

    runs = []
    wall, rss, doc = timed([str(preds), str(labels)])
    runs.append({"mode": "local engine", "wall": wall, "procs": [("losscli", rss)], "doc": doc})
    print(f"local:    {wall:7.2f} s, losscli {rss:.0f} MiB")
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        address = cluster.scheduler_address
        wall, rss, doc = timed(
            [str(preds), str(labels), "--engine", "dask", "--scheduler", address]
        )
        peaks = worker_rss(client)
    procs = [("losscli", rss)] + [(f"worker {i + 1}", r) for i, r in enumerate(peaks)]
    runs.append({"mode": f"Dask, {workers} workers", "wall": wall, "procs": procs, "doc": doc})
    print(f"dask:     {wall:7.2f} s, " + ", ".join(f"{n} {r:.0f} MiB" for n, r in procs))
    wall, rss, doc = timed([str(one), "--label-col", "label"])
    runs.append({"mode": "one-file mode", "wall": wall, "procs": [("losscli", rss)], "doc": doc})
    print(f"one-file: {wall:7.2f} s, losscli {rss:.0f} MiB")
    if own:
        args = [str(preds), str(labels), "--engine", "dask", "--workers", str(workers)]
        wall, _, doc = timed(args)
        mode = f"Dask, own LocalCluster (`--workers {workers}`)"
        runs.append({"mode": mode, "wall": wall, "procs": [], "doc": doc})
        print(f"dask own: {wall:7.2f} s (cluster start and stop included)")
    return runs


def _agree(runs: list[dict[str, Any]]) -> bool:
    first = runs[0]["doc"]["results"]
    for run in runs[1:]:
        for a, b in zip(first, run["doc"]["results"], strict=True):
            if a["n"] != b["n"] or abs(a["value"] - b["value"]) > 1e-12 * abs(a["value"]):
                print(
                    f"{run['mode']}: {b['loss']} {b['value']} n={b['n']} differs", file=sys.stderr
                )
                return False
    return True


def report(runs: list[dict[str, Any]], rows: int, ns: argparse.Namespace, write: bool) -> bool:
    agree = _agree(runs)
    local = runs[0]["wall"]
    worst = max(r for run in runs for _, r in run["procs"])
    load = os.getloadavg()
    lines = [
        f"{rows:,} rows of a binary task (`--loss bce --loss brier`) as {ns.shards} Parquet "
        f"shards per side, or one Parquet file holding both columns; one run each on this "
        f"project's 2-core machine (load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        "when the run ended):",
        "",
        "| mode | wall time | vs local | peak RSS per process |",
        "|---|---:|---:|---|",
    ]
    for run in runs:
        procs = ", ".join(f"{n} {r:.0f} MiB" for n, r in run["procs"]) or "not measured"
        ratio = run["wall"] / local
        lines.append(f"| {run['mode']} | {run['wall']:.1f} s | {ratio:.2f}× | {procs} |")
    lines += [
        "",
        f"Every run printed the same values and n: {'yes' if agree else 'NO'}. "
        f"Largest process: {worst:.0f} MiB (target ≤ {TARGET_MIB} MiB: "
        f"{'met' if worst <= TARGET_MIB else 'NOT met'}). The Dask row's cluster was started "
        "before the clock (its workers' peaks include their start-up).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if write:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")
    return agree and worst <= TARGET_MIB


if __name__ == "__main__":
    sys.exit(main())
