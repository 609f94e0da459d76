"""How an interrupted run ends: one line on stderr, exit 128 + the signal, nothing left behind.

SIGINT (Ctrl-C) and SIGTERM raise ``Interrupted`` in the main thread, so ``with`` and
``finally`` blocks remove temporary and half-written files on the way out, and the CLI prints
one line and exits 130 or 143. Python runs a signal handler only when the main thread is back
in Python code; a thread stuck in C (an open or read of a FIFO that never gets data, inside
pyarrow) would ignore the signal forever. So the handlers also wake a watchdog thread (through
``signal.set_wakeup_fd``, which the C-level handler writes to at once): if the process is still
alive ``GRACE`` seconds after the signal, the watchdog removes every registered temporary path
(``losscli.io.cleanup``), prints the line itself and ends the process with the same code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from types import FrameType

from losscli.errors import ExitCode, Interrupted

GRACE = 1.0  # seconds the main thread gets to unwind before the watchdog ends the process

_CODES = {
    signal.SIGINT: ExitCode.INTERRUPTED,
    signal.SIGTERM: ExitCode.TERMINATED,
}
_MESSAGES = {
    signal.SIGINT: "interrupted by Ctrl-C (SIGINT); no output file was written",
    signal.SIGTERM: "terminated by SIGTERM; no output file was written",
}


def interruption(signum: int) -> Interrupted:
    """The ``Interrupted`` a signal stands for."""
    sig = signal.Signals(signum)
    return Interrupted(_CODES[sig], _MESSAGES[sig])


def _raise(signum: int, frame: FrameType | None) -> None:
    raise interruption(signum)


def _watch(read_fd: int) -> None:
    """Wait for a signal number from the wakeup pipe; end the process if it outlives GRACE."""
    while True:
        try:
            data = os.read(read_fd, 64)
        except OSError:
            return
        if not data:
            return
        signums = [s for s in data if s in _CODES]
        if not signums:
            continue
        time.sleep(GRACE)
        from losscli.io import cleanup

        stop = interruption(signums[0])
        with contextlib.suppress(OSError):
            os.write(sys.stderr.fileno(), f"error: {stop}\n".encode())
        cleanup.remove_all_and_exit(int(stop.exit_code))


def install() -> None:
    """Route SIGINT and SIGTERM to ``Interrupted`` and start the watchdog (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    for signum in _CODES:
        signal.signal(signum, _raise)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(read_fd,), name="losscli-signals", daemon=True).start()
