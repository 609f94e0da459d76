"""Benchmark ``losscli compare`` of two models at 10 million rows: time and peak memory against
the pandas one-liner that computes the same paired mean difference.

    .venv/bin/python bench/bench_compare.py [--rows N] [--repeat R] [--quick]

Data: ``labels.csv`` (header ``label``, a skewed target) and two models' ``a.csv`` and
``b.csv`` (header ``pred``, noisy predictions; B a little better), values with ~6 significant
digits, generated once into ``bench/.cache/compare-v1-rows-N/`` (git-ignored) and reused.

Each run is a fresh process reaped with ``os.wait4`` (so ``ru_maxrss`` is its own peak):

- ``losscli compare a.csv b.csv --labels labels.csv --loss mse --format json``: the models
  streamed side by side and paired in chunks (its ``diff`` is mse(B) − mse(A));
- the one-liner: pandas reads the three files and prints the mean of the per-sample
  differences ``((b − y)² − (a − y)²).mean()``, the same number without an interval.

Prints best wall time and peak RSS per tool, their ratios, whether losscli's peak is within
the 300 MiB target (issue 16.2), checks that both print the same difference to 1e-9
relative, and writes the table to ``bench/results/bench_compare.md`` (spliced into the README
by ``make readme`` between ``<!-- bench:bench_compare -->`` markers). ``--quick``: 200,000
rows, one run each, nothing written (a smoke run of a few seconds).

Exit codes: 0 ok; 1 the values disagree or the memory target is missed; 2 a tool failed.
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results" / "bench_compare.md"
SEED = 16
CHUNK = 1_000_000
TARGET_MIB = 300
REL_TOL = 1e-9
ONE_LINER = (
    "import pandas as pd; a=pd.read_csv({a!r}); b=pd.read_csv({b!r}); "
    "y=pd.read_csv({labels!r})['label']; "
    "print(((b['pred'] - y) ** 2 - (a['pred'] - y) ** 2).mean())"
)


@dataclass(frozen=True)
class Summary:
    tool: str
    wall: float  # best of the runs, seconds
    rss: int  # largest peak RSS of the runs, bytes
    value: float


def mib(n: int) -> float:
    return n / 2**20


def _round6(x):  # type: ignore[no-untyped-def]
    """~6 significant digits, so the CSV text is short."""
    import numpy as np

    exponent = np.floor(np.log10(np.abs(x), where=x != 0, out=np.zeros_like(x)))
    scale = 10.0 ** np.clip(5 - exponent, 0, 22)
    return np.rint(x * scale) / scale


def ensure_data(rows: int) -> Path:
    """The cached folder holding labels.csv, a.csv and b.csv for ``rows`` (made once)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    target = CACHE / f"compare-v1-rows-{rows}"
    if all((target / f).is_file() for f in ("labels.csv", "a.csv", "b.csv")):
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="partial-", dir=CACHE))
    try:
        rng = np.random.default_rng(SEED)
        names = {"labels.csv": "label", "a.csv": "pred", "b.csv": "pred"}
        files = {name: (tmp / name).open("wb") for name in names}
        for name, fh in files.items():
            fh.write(names[name].encode() + b"\n")
        no_header = pacsv.WriteOptions(include_header=False)
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            y = rng.lognormal(1.0, 0.6, n)
            cols = {
                "labels.csv": y,
                "a.csv": y + rng.normal(0.0, 0.6, n),
                "b.csv": y + rng.normal(0.0, 0.55, n),
            }
            for name, values in cols.items():
                table = pa.table({names[name]: _round6(values)})
                pacsv.write_csv(table, files[name], no_header)
        for fh in files.values():
            fh.close()
        tmp.chmod(0o755)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def measured(argv: list[str]) -> tuple[int, float, int, str, str]:
    """(exit code, wall seconds, peak RSS bytes, stdout, stderr) of a fresh process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return (
            os.waitstatus_to_exitcode(status),
            wall,
            usage.ru_maxrss * 1024,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def bench(tool: str, argv: list[str], parse, repeat: int) -> Summary:  # type: ignore[no-untyped-def]
    walls, peaks, values = [], [], set()
    for i in range(repeat):
        code, wall, rss, stdout, stderr = measured(argv)
        if code != 0:
            tail = "\n".join(stderr.strip().splitlines()[-5:])
            raise RuntimeError(f"{tool} exited with {code}:\n{tail}")
        walls.append(wall)
        peaks.append(rss)
        values.add(parse(stdout))
        print(f"  {tool} run {i + 1}/{repeat}: {wall:.2f} s, {mib(rss):.0f} MiB", file=sys.stderr)
    return Summary(tool, min(walls), max(peaks), values.pop())


def losscli_diff(stdout: str) -> float:
    return float(json.loads(stdout)["losses"][0]["vs_first"][1]["diff"])


def table(rows: int, ours: Summary, theirs: Summary) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    ratio = theirs.wall / ours.wall
    speed = f"{ratio:.2f}× faster" if ratio >= 1 else f"{1 / ratio:.2f}× slower"
    return (
        "| `compare`, two models, `--loss mse` | rows | losscli | pandas one-liner | "
        "time ratio | peak memory (losscli / one-liner) |\n"
        "|---|---:|---:|---:|---:|---:|\n"
        f"| paired mean difference (+ t interval, shares, disagreements) | {rows:,} | "
        f"{ours.wall:.2f} s | {theirs.wall:.2f} s | {speed} | "
        f"{mib(ours.rss):.0f} / {mib(theirs.rss):.0f} MiB |\n\n"
        f"losscli's peak is {mib(ours.rss):.0f} MiB against a target of {TARGET_MIB} MiB "
        f"({'met' if mib(ours.rss) <= TARGET_MIB else 'missed'}); both print the same "
        f"difference ({ours.value:.9g}). losscli also reports both models' values, the paired "
        "t interval, the shares and the top disagreements, and hashes the three files. "
        "Best of the runs, each a fresh "
        f"process, on {os.cpu_count()} cores at load average {load} "
        f"(`bench/bench_compare.py`, Python {platform.python_version()}).\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="200,000 rows, one run each")
    args = parser.parse_args()
    rows, repeat = (200_000, 1) if args.quick else (args.rows, args.repeat)
    folder = ensure_data(rows)
    files = {name: str(folder / f"{name}.csv") for name in ("labels", "a", "b")}
    exe = str(Path(sys.executable).parent / "losscli")
    argv = [exe, "compare", files["a"], files["b"], "--labels", files["labels"], "--loss", "mse"]
    try:
        ours = bench("losscli", [*argv, "--format", "json"], losscli_diff, repeat)
        code = ONE_LINER.format(**files)
        theirs = bench("one-liner", [sys.executable, "-c", code], float, repeat)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = table(rows, ours, theirs)
    print(text)
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")
    if abs(ours.value - theirs.value) > REL_TOL * abs(theirs.value):
        print(f"error: differences disagree: {ours.value!r} vs {theirs.value!r}", file=sys.stderr)
        return 1
    if mib(ours.rss) > TARGET_MIB:
        print(f"target missed: peak {mib(ours.rss):.0f} MiB > {TARGET_MIB} MiB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
