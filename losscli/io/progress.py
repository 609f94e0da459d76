"""How far the reading of the inputs has got, told to whoever listens (the CLI's progress bar).

io and the engine draw nothing. A source that streams a file says, when a pass over it
starts, how many bytes the pass will read (``Listener.expect``), then, chunk by chunk, how
many more it has read (``Listener.advance``). Readers call these from their prefetch
threads, so a listener must be thread-safe. With no listener (the Python API, ``--quiet``,
stderr not a terminal) a pass costs one lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

T = TypeVar("T")


class Listener(Protocol):
    """Receives the progress of every pass over an input file."""

    def expect(self, total: int) -> None:
        """A pass that will read ``total`` more bytes has started."""

    def advance(self, done: int) -> None:
        """``done`` more bytes have been read."""


_listener: Listener | None = None


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Report the passes started inside the block to ``listener``."""
    global _listener
    before, _listener = _listener, listener
    try:
        yield
    finally:
        _listener = before


def metered(items: Iterator[T], total: int, done: Callable[[T], int]) -> Iterator[T]:
    """``items``, reporting after each one ``done(item)``: the bytes read so far of ``total``.

    Progress never goes back (a reader that restarts with larger blocks re-reads its start)
    and reaches ``total`` when the pass ends."""
    listener = _listener
    if listener is None or total <= 0:
        yield from items
        return
    listener.expect(total)
    reported = 0
    try:
        for item in items:
            now = min(done(item), total)
            if now > reported:
                listener.advance(now - reported)
                reported = now
            yield item
    finally:
        if reported < total:
            listener.advance(total - reported)


def by_rows(total: int, n_rows: int, rows_of: Callable[[T], int]) -> Callable[[T], int]:
    """``done`` for a source of known length: its share of ``total`` bytes by rows read."""
    seen = 0

    def done(item: T) -> int:
        nonlocal seen
        seen += rows_of(item)
        return total if n_rows <= 0 else total * seen // n_rows

    return done
