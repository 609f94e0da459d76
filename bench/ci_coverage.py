"""Coverage of losscli's 95% intervals by simulation: how often each --ci method's interval
holds the true mean loss, for small and larger n, on a skewed per-sample loss.

Per-sample losses are drawn from an exponential law (true mean 1, non-negative and skewed
like cross-entropy's); each trial runs ``losscli.compute`` on fresh data with each method.
The README's "Intervals" paragraph quotes this script's output (fixed seeds, deterministic):

    .venv/bin/python bench/ci_coverage.py
"""

from __future__ import annotations

import argparse

import numpy as np

import losscli


def coverage(n: int, trials: int, method: str) -> tuple[float, float]:
    """Share of trials whose interval holds the true mean 1, and the median width."""
    rng = np.random.default_rng(n)
    hits, widths = 0, []
    for t in range(trials):
        loss = rng.exponential(size=n)  # mae of predictions 0 against these labels
        r = losscli.compute("mae", np.zeros(n), loss, ci=method, seed=t)
        hits += r.ci_low <= 1.0 <= r.ci_high
        widths.append(r.ci_high - r.ci_low)
    return hits / trials, float(np.median(widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=400)
    args = parser.parse_args()
    print("| n | --ci t: coverage | width | --ci bootstrap: coverage | width |")
    print("|---:|---:|---:|---:|---:|")
    for n in (3, 10, 30, 300):
        t_cov, t_w = coverage(n, args.trials, "t")
        b_cov, b_w = coverage(n, args.trials, "bootstrap")
        print(f"| {n} | {t_cov:.1%} | {t_w:.3g} | {b_cov:.1%} | {b_w:.3g} |")


if __name__ == "__main__":
    main()
