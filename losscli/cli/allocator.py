"""The C allocator's settings for a command-line run (glibc only; elsewhere nothing changes).

A run streams chunks of ~1 MiB arrays (128k float64 values): every chunk allocates a few and
frees them. By default glibc serves blocks that large with a fresh ``mmap`` once its
adaptive threshold says so and hands freed heap memory back to the system as soon as 2× that
threshold is free at the top, so the next chunk's arrays fault their pages in again: about a
fifth of a 10M-row CSV run's CPU time was the kernel zeroing pages. Fixed thresholds keep
freed chunk memory in the heap for the next chunk (memory is still returned above
``TRIM_BYTES``), which is what ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` in
the environment would do. Only the console script calls this, never the library: a process
that imports losscli keeps its own allocator settings.
"""

from __future__ import annotations

import sys
from typing import Any

# mallopt(3) parameters (malloc.h): M_TRIM_THRESHOLD, M_MMAP_THRESHOLD.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_BYTES = 32 << 20  # blocks below this come from the heap (32 MiB: glibc's own maximum)
TRIM_BYTES = 64 << 20  # free memory at the heap's top beyond this goes back to the system


def keep_freed_memory(libc: Any = None) -> bool:
    """Set the thresholds above through ``mallopt``; whether the C library took them.
    ``libc``: the C library (the process's own by default)."""
    if libc is None:
        if not sys.platform.startswith("linux"):
            return False
        import ctypes

        try:
            libc = ctypes.CDLL(None)
        except OSError:
            return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:  # not glibc (or a libc without it)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_BYTES)
    )
