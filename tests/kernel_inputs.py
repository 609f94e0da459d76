"""Inputs of the kernel reference cases, made by exact integer arithmetic so that
``tests/reference/generate_kernels.py`` (NumPy of the reference environment) and
``tests/test_kernels.py`` (losscli's NumPy) build bit-identical arrays: each value is one
correctly rounded division of two integers, then one correctly rounded cast."""

from __future__ import annotations

import numpy as np

PRIME = 65521
IGNORE = -100


def _hash(shape: tuple[int, ...], salt: int) -> np.ndarray:
    """Integers in 0..PRIME-1 over a grid of ``shape``, mixed from the indices."""
    grids = np.indices(shape, dtype=np.int64)
    h = np.full(shape, salt, dtype=np.int64)
    for k, g in enumerate(grids):
        h = (h * 40503 + g * (9973 + 2 * k) + (g * g) % 7919) % PRIME
    return h


def logits(shape: tuple[int, ...], dtype: str, scale: float = 6.0, salt: int = 1) -> np.ndarray:
    """Scores in [−scale, scale] (scale a power of two times an integer keeps it exact)."""
    h = _hash(shape, salt)
    return ((2 * h - (PRIME - 1)) / (PRIME - 1) * scale).astype(dtype)


def labels(shape: tuple[int, ...], n_classes: int, ignore_every: int = 0) -> np.ndarray:
    """Class indices (n,) or (n, d1, ...); with ``ignore_every`` k, every k-th is IGNORE."""
    y = _hash(shape, 7) % n_classes
    if ignore_every:
        y.reshape(-1)[3::ignore_every] = IGNORE
    return y


def distributions(n: int, n_classes: int) -> np.ndarray:
    """Float64 rows summing to 1 (one division each), with exact zeros in some classes."""
    h = _hash((n, n_classes), 3)
    h[h % 5 == 0] = 0
    h[:, 0] += 1  # no empty row
    return h / h.sum(axis=1, keepdims=True)


def class_weights(n_classes: int) -> list[float]:
    """One weight per class: 1, 1.25, 1.5, 1.75, 2, 1, ... (exact)."""
    return [1.0 + (c % 5) / 4 for c in range(n_classes)]


def extreme(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows with ±1e4, −inf (float32 only: the engine refuses non-finite rows) and ties."""
    inf = -np.inf if dtype == "float32" else -1e4
    z = np.array(
        [
            [1e4, -1e4, 0.0, 3.0, -3.0],
            [-1e4, 1e4, 1e4, 0.0, 1.0],
            [inf, 2.0, 1.0, inf, 0.5],
            [inf, inf, inf, inf, -1e4],
            [7.0, 7.0, 7.0, 7.0, 7.0],
            [1e4, 1e4 - 1.0, 1e4 - 2.0, -1e4, inf],
            [-1e4, -1e4, -1e4 + 1.0, -1e4, -1e4],
            [inf, 0.0, 1.0, 2.0, 3.0],
        ],
        dtype=dtype,
    )
    return z, np.array([0, 0, 1, 4, 2, 1, 2, 0])
