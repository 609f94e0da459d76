"""Generate mpmath reference values for losscli.stats and write them to ``stats_cases.json``
beside this script.

Run it in the reference environment (mpmath is NOT a losscli dependency):

    make reference            # runs this script too
    .refenv/bin/python tests/reference/generate_stats.py

``log_gamma_ratio``: log(Γ(a + 1/2) / Γ(a)) at 50 significant digits (mpmath.loggamma), for the
``a`` of ``losscli.stats._log_gamma_ratio``'s Stirling branch (a ≥ 1000; the t distribution calls
it with a = ν/2 and b = 1/2), rounded to the nearest double.
"""

from __future__ import annotations

import json
from pathlib import Path

import mpmath

mpmath.mp.dps = 50
A = [1000.0, 1000.25, 1000.5, 1200.0, 3000.0, 1e4, 5e5]


def main() -> None:
    cases = [
        {
            "a": a,
            "b": 0.5,
            "value": float(mpmath.loggamma(mpmath.mpf(a) + 0.5) - mpmath.loggamma(a)),
        }
        for a in A
    ]
    out = {"mpmath": mpmath.__version__, "log_gamma_ratio": cases}
    path = Path(__file__).resolve().parent / "stats_cases.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
