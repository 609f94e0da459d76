"""Summarise the last ``make mutation`` run: the score, the time spent, and the survivors.

Reads mutmut's per-file results (``mutants/**/*.meta``, written by ``mutmut run``) and prints
killed / total, the mutants no selected test reaches, timeouts, the summed time of the mutant
runs, and the surviving mutants grouped by function (``mutmut show NAME`` prints one).
Run: ``make mutation`` (at the end), or ``.venv/bin/python scripts/mutation_report.py``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parent.parent


def load(mutants: Path) -> tuple[dict[str, str], float]:
    """Every mutant's status (killed, survived, no tests, timeout, ...) and the summed seconds
    of the mutant runs."""
    status: dict[str, str] = {}
    seconds = 0.0
    for meta in sorted(mutants.rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        for name, code in data["exit_code_by_key"].items():
            status[name] = "not checked" if code is None else status_by_exit_code[code]
        seconds += sum(data.get("durations_by_key", {}).values())
    return status, seconds


def main() -> int:
    status, seconds = load(ROOT / "mutants")
    if not status:
        print("no mutation results: run `make mutation` first")
        return 1
    counts = Counter(status.values())
    total = len(status)
    killed = counts["killed"] + counts["caught by type check"]
    print(f"mutants: {total}  " + "  ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    reached = total - counts["no tests"]
    print(f"score: killed {killed} / {total} = {killed / total:.1%}", end="")
    print(f" (of the {reached} that a selected test reaches: {killed / max(reached, 1):.1%})")
    print(f"time in mutant runs: {seconds:.0f} s summed over workers")
    by_function = Counter(
        name.rsplit("__mutmut_", 1)[0] for name, s in status.items() if s == "survived"
    )
    if by_function:
        print("survivors by function (mutmut show <name>__mutmut_<i>):")
        for function, n in by_function.most_common():
            print(f"  {n:4d} {function}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
