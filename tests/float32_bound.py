"""The error bound of the cross-entropy kernels' float32 path, for the tests that compare
float32 logits with the float64 computation on the same values.

Derived in ``losscli/losses/kernels.py``'s docstring and restated here, so that no test takes
its tolerance from the code under test. With u = 2^-24 (float32's unit roundoff) and
ε = 4u the relative error of NumPy's float32 exp on normal results (the worst over every
float32 in [−87.33, 0] is 3.57u on the AVX-512 and AVX2 paths, ``scripts/exp32_error.py``),
each row's l = log Σ_c exp(z_c − max z), for C classes, is off by at most

    B(C) = (1 + 1e-4)(ε + u ln C) + (100 C + l)·2^-52,

and so is −log p_y = l − (z_y − max z) (the second term exact). A row's loss is off by at most
``mass``·B(C) (its weight mass: w_y for hard labels, (1 − ε_s) w_y + ε_s Σ w / C with label
smoothing, Σ_c target_c for soft targets), plus 2u·|loss| when the loss has a dot Σ_c a_c (z_c
− max z) (label smoothing, soft targets); focal (1 − p)^γ (−log p) by (1 + γ/e) times that.
A mean over rows (divided by the rows' weights) is off by at most the same with its mass.
"""

from __future__ import annotations

import math

U = 2.0**-24
EXP_ERROR = 4 * U


def log_sum_bound(n_classes: int, log_sum: float = 0.0) -> float:
    """B(C): the largest error of a row's l (or −log p_y) on the float32 path."""
    rounding = (100 * n_classes + abs(log_sum)) * 2.0**-52
    return (1 + 1e-4) * (EXP_ERROR + U * math.log(n_classes)) + rounding


def loss_bound(
    n_classes: int,
    value: float,
    *,
    mass: float = 1.0,
    dot: bool = False,
    gamma: float = 0.0,
    rel: float = 1e-12,
) -> float:
    """The largest error of a loss ``value`` (a row, or a mean over rows) on the float32 path,
    plus ``rel``·|value| for the float64 rounding of the reference it is compared with (1e-12
    for NumPy's float64 computation on the same values; 1e-10, ARCHITECTURE's float64
    tolerance, for torch's float64 numbers)."""
    bound = mass * log_sum_bound(n_classes, abs(value)) + (2 * U * abs(value) if dot else 0.0)
    return (1 + gamma / math.e) * bound + rel * abs(value)
