"""Paired accumulators fed as a stream, for the tests of compare's statistics."""

from __future__ import annotations

import numpy as np

from losscli.engine.paired import PairedMoments


def fed(
    a: tuple[np.ndarray, np.ndarray | None],
    b: tuple[np.ndarray, np.ndarray | None],
    chunk: int = 1 << 30,
) -> PairedMoments:
    """``PairedMoments`` fed model A's and model B's (values, weights) ``chunk`` rows at a time."""
    m = PairedMoments()
    for s in range(0, len(a[0]), chunk):
        cut = slice(s, s + chunk)
        m.update(
            (a[0][cut], None if a[1] is None else a[1][cut]),
            (b[0][cut], None if b[1] is None else b[1][cut]),
        )
    return m
