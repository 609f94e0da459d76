"""Output files written whole or not at all.

Every file losscli writes (``-o`` reports, ``--per-sample``, saved states) is written to a
temporary file beside its target and renamed over it (``os.replace``, atomic on one file
system) only when complete, with the permissions the target had (or the usual ``0666 & ~umask``
for a new file). A symlink is written through to the file it points at. A target that exists
and is not a regular file (``/dev/stdout``, a FIFO, ``/dev/null``) is written straight into,
since renaming over a device would replace it. Any OS failure is an ``OutputError`` (exit 3)
naming the OS reason; an output that is also an input is refused (exit 2) before any work.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

from losscli.errors import OutputError, UsageError
from losscli.io import cleanup


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def os_reason(exc: OSError) -> str:
    """The OS's words for ``exc``; pyarrow puts the errno inside its own message."""
    found = re.search(r"\[errno (\d+)\]", str(exc), re.IGNORECASE)
    if found:
        return os.strerror(int(found.group(1)))
    return exc.strerror or str(exc)


def output_error(option: str, target: Path, exc: OSError) -> OutputError:
    """The exit-3 error for an OS failure while writing ``target``."""
    reason = os_reason(exc)
    return OutputError(f"{option} {target}: cannot write the file ({reason})")


def _local(option: str, target: Path) -> None:
    """Outputs are local files: a URL (read through fsspec as an input) is refused (exit 2)."""
    from losscli.io.remote import remote_url

    url = remote_url(target)
    if url is not None:
        raise UsageError(
            f"{option} {url}: losscli writes local files only; write it here and upload it"
        )


def check_target(option: str, target: Path, inputs: Iterable[Path | None] = ()) -> None:
    """Refuse, before any work, an output whose folder is missing (exit 2) or is a file
    (exit 3), or that is one of ``inputs`` (exit 2)."""
    _local(option, target)
    folder = Path(os.path.realpath(target)).parent
    if not os.path.lexists(folder):
        raise UsageError(f"{option} {target}: the folder {target.parent} does not exist")
    if not folder.is_dir():  # found before any work rather than when writing
        raise output_error(option, target, NotADirectoryError(errno.ENOTDIR, "Not a directory"))
    for given in inputs:
        if given is None or str(given) == "-":
            continue
        if _same_file(target, given):
            raise UsageError(
                f"{option} {target} is also an input ({given}); writing it would destroy "
                "the data being read: choose another output path"
            )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


class OutputFile:
    """A file being written: write to ``path``, then ``commit`` (or ``discard`` on failure).

    Used as a context manager, it commits when the block succeeds and discards otherwise.
    """

    def __init__(self, target: Path, option: str) -> None:
        _local(option, target)
        self.target = target
        self.option = option
        try:
            info = target.stat()  # follows symlinks, /dev/stdout included
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise output_error(option, target, exc) from None
        self.direct = info is not None and not stat.S_ISREG(info.st_mode)
        self.mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
        if self.direct:
            self.final = self.path = target
            return
        self.final = Path(os.path.realpath(target))
        try:
            self.path = cleanup.temp_file(
                self.final.parent, prefix=f".{self.final.name}.", suffix=".tmp"
            )
        except OSError as exc:
            raise output_error(option, target, exc) from None

    def error(self, exc: OSError) -> OutputError:
        """The exit-3 error for ``exc`` raised while writing ``path``."""
        return output_error(self.option, self.target, exc)

    def commit(self) -> None:
        """Move the finished file into place, keeping the target's permissions."""
        if self.direct:
            return
        try:
            self.path.chmod(self.mode)
            self.path.replace(self.final)
        except OSError as exc:
            self.discard()
            raise self.error(exc) from None
        cleanup.forget(self.path)

    def discard(self) -> None:
        """Remove the temporary file; the target is left as it was."""
        if not self.direct:
            cleanup.remove(self.path)

    def __enter__(self) -> OutputFile:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.commit()
        else:
            self.discard()


def write_text(target: Path, text: str, option: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` whole or not at all."""
    with OutputFile(target, option) as out:
        try:
            with out.path.open("w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise out.error(exc) from None
