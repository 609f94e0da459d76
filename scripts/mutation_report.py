"""Run ``make mutation`` and summarise it: the score, the time spent, and the survivors.

``mutation_report.py run CMD...`` runs CMD (``make mutation`` passes ``mutmut run``), records
its wall time, the CPU seconds of it and its children and the load average before and after
in ``mutants/run-times.json``, then prints the summary. Without ``run`` it prints the summary
of the last run: read from mutmut's per-file results (``mutants/**/*.meta``): killed / total,
the mutants no selected test reaches, timeouts, the summed time of the mutant runs, the
recorded times, and the surviving mutants grouped by function (``mutmut show NAME`` prints
one; tests/mutation/EQUIVALENT.md lists those that no test can kill).
Run: ``make mutation``, or ``.venv/bin/python scripts/mutation_report.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
TIMES = MUTANTS / "run-times.json"


def load(mutants: Path) -> tuple[dict[str, str], float]:
    """Every mutant's status (killed, survived, no tests, timeout, ...) and the summed seconds
    of the mutant runs."""
    from mutmut.stats import status_by_exit_code

    status: dict[str, str] = {}
    seconds = 0.0
    for meta in sorted(mutants.rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        for name, code in data["exit_code_by_key"].items():
            status[name] = "not checked" if code is None else status_by_exit_code[code]
        seconds += sum(data.get("durations_by_key", {}).values())
    return status, seconds


def run(command: list[str]) -> int:
    """Run ``command``, recording its wall time, its CPU seconds (user + system, children
    included: mutmut's workers) and the load average around it."""
    load_before, start = os.getloadavg(), time.monotonic()
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    MUTANTS.mkdir(exist_ok=True)
    record = {
        "command": command,
        "exit_code": code,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    TIMES.write_text(json.dumps(record, indent=2) + "\n")
    return code


def times() -> None:
    if not TIMES.exists():
        print("wall time: not recorded (run `make mutation`)")
        return
    t = json.loads(TIMES.read_text())
    print(
        f"wall time of the last run: {t['wall_seconds'] / 60:.1f} min"
        f"  (CPU {t['cpu_seconds']:.0f} s on {t['cpus']} cores; load average before"
        f" {t['load_average_before'][0]:.2f}, after {t['load_average_after'][0]:.2f};"
        f" exit code {t['exit_code']})"
    )


def report() -> int:
    status, seconds = load(MUTANTS)
    if not status:
        print("no mutation results: run `make mutation` first")
        return 1
    counts = Counter(status.values())
    total = len(status)
    # mutmut's own score counts a timeout as a kill (the mutant did not pass the tests), and a
    # mutant mypy rejects could not land (make lint runs mypy), so both count as killed here.
    killed = counts["killed"] + counts["caught by type check"] + counts["timeout"]
    print(f"mutants: {total}  " + "  ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    print(
        f"score: {killed} / {total} = {killed / total:.1%} killed"
        f" (by the tests {counts['killed']}, by mypy {counts['caught by type check']},"
        f" timeouts {counts['timeout']}); survived {counts['survived']},"
        f" reached by no selected test {counts['no tests']}"
    )
    tested = total - counts["caught by type check"] - counts["no tests"]
    if tested:
        print(
            f"of the {tested} mutants the tests ran on: {counts['killed'] + counts['timeout']}"
            f" killed ({(counts['killed'] + counts['timeout']) / tested:.1%})"
        )
    print(f"time in mutant runs: {seconds:.0f} s summed over workers")
    times()
    by_function = Counter(
        name.rsplit("__mutmut_", 1)[0] for name, s in status.items() if s == "survived"
    )
    if by_function:
        print("survivors by function (mutmut show <name>__mutmut_<i>):")
        for function, n in by_function.most_common():
            print(f"  {n:4d} {function}")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["run"]:
        code = run(argv[1:])
        report()
        return code
    return report()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
