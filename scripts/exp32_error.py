"""The largest relative error of NumPy's float32 ``exp`` over every float32 t in [−87.33, 88.72].

    .venv/bin/python scripts/exp32_error.py
    NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL" .venv/bin/python scripts/exp32_error.py  # AVX2

The cross-entropy kernels exponentiate float32 logits z (unshifted) or shifts z − max z <= 0
in float32 (``losscli/losses/kernels.py``); their error bound takes NumPy's float32 exp to be
within ε = 4u (u = 2^-24) of e^t wherever e^t is a finite normal float32 (−87.33 <= t <=
88.72). This script walks every such float32 (about 2.2e9 values, a few minutes), compares
with the float64 exp of the same value (exact to 1e-16, far below u) and prints the worst
case, in units of u. It also checks exp(0) == 1 exactly (the row maximum's term).
"""

from __future__ import annotations

import numpy as np

U = 2.0**-24
STEP = 1 << 24


def worst_between(first: int, last: int) -> tuple[float, float]:
    """The largest relative error, and where, over float32 bit patterns first..last."""
    worst, at = 0.0, 0.0
    for lo in range(first, last + 1, STEP):
        t = np.arange(lo, min(lo + STEP, last + 1), dtype=np.uint32).view(np.float32)
        exact = np.exp(t.astype(np.float64))
        rel = np.abs(np.exp(t).astype(np.float64) - exact) / exact
        i = int(np.argmax(rel))
        if rel[i] > worst:
            worst, at = float(rel[i]), float(t[i])
    return worst, at


def main() -> None:
    bits = [int(np.float32(v).view(np.uint32)) for v in (-0.0, -87.33, 0.0, 88.72)]
    # Negative floats' bits grow as t goes down: −0 .. −87.33; then 0 .. 88.72.
    for first, last in ((bits[0], bits[1]), (bits[2], bits[3])):
        worst, at = worst_between(first, last)
        span = f"[{np.uint32(first).view(np.float32)}, {np.uint32(last).view(np.float32)}]"
        print(
            f"NumPy {np.__version__}, t in {span}: max relative error {worst:.4e}"
            f" = {worst / U:.3f} u at t = {at!r}"
        )
    print(f"exp(0) == 1 exactly: {bool(np.all(np.exp(np.zeros(64, np.float32)) == 1))}")


if __name__ == "__main__":
    main()
