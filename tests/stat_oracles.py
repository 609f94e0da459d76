"""Statistics written out from their definitions, for tests to check losscli's against."""

from __future__ import annotations


def holm(p: list[float]) -> list[float]:
    """Holm's step-down adjustment by its definition: the i-th smallest of m p-values becomes
    max over j ≤ i of min(1, (m − j + 1)·p_(j))."""
    order = sorted(range(len(p)), key=p.__getitem__)
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out
