"""The largest relative error of NumPy's float32 ``exp`` over every float32 t in [−87.33, 0].

    .venv/bin/python scripts/exp32_error.py
    NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL" .venv/bin/python scripts/exp32_error.py  # AVX2

The cross-entropy kernels exponentiate float32 shifts t = z − max z <= 0 in float32
(``losscli/losses/kernels.py``); their error bound takes NumPy's float32 exp to be within
ε = 4u (u = 2^-24) of e^t wherever e^t is a normal float32 (t >= −87.33). This script walks
every such float32 (about 1.1e9 values, a minute or two), compares with the float64 exp of the
same value (exact to 1e-16, far below u) and prints the worst case, in units of u. It also
checks exp(0) == 1 exactly (the row maximum's term).
"""

from __future__ import annotations

import numpy as np

U = 2.0**-24
STEP = 1 << 24


def main() -> None:
    first = int(np.float32(-0.0).view(np.uint32))  # 0x80000000; bits grow as t goes down
    last = int(np.float32(-87.33).view(np.uint32))
    worst, at = 0.0, 0.0
    for lo in range(first, last + 1, STEP):
        t = np.arange(lo, min(lo + STEP, last + 1), dtype=np.uint32).view(np.float32)
        exact = np.exp(t.astype(np.float64))
        rel = np.abs(np.exp(t).astype(np.float64) - exact) / exact
        i = int(np.argmax(rel))
        if rel[i] > worst:
            worst, at = float(rel[i]), float(t[i])
    print(
        f"NumPy {np.__version__}: max relative error {worst:.4e} = {worst / U:.3f} u at t = {at!r}"
    )
    print(f"exp(0) == 1 exactly: {bool(np.all(np.exp(np.zeros(64, np.float32)) == 1))}")


if __name__ == "__main__":
    main()
