"""The exception family of losscli; each error carries the exit code the CLI maps it to."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes (a contract: CI scripts depend on them)."""

    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    INPUT = 3
    INTERNAL = 4
    # 128 + the signal's number, as shells report a process a signal stopped.
    INTERRUPTED = 130  # SIGINT (Ctrl-C)
    BROKEN_PIPE = 141  # SIGPIPE: the reader of standard output went away (``| head``)
    TERMINATED = 143  # SIGTERM


class LossCliError(Exception):
    """Base of every error losscli raises on purpose. The message is shown to the user as is."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(LossCliError):
    """The command line is wrong: unknown loss, bad parameter, conflicting flags, ambiguity."""

    exit_code = ExitCode.USAGE


class InputError(LossCliError):
    """The files are wrong: missing, unreadable, malformed, mismatched, out of range, NaN."""

    exit_code = ExitCode.INPUT


class OutputError(LossCliError):
    """An output (standard output, ``-o``, ``--per-sample``) cannot be written: the OS reason."""

    exit_code = ExitCode.INPUT


# What a run says when the reader of its standard output went away (``losscli ... | head``).
READER_GONE = "standard output was closed by its reader (broken pipe); stopped"


class Interrupted(BaseException):
    """The run was stopped from outside: a signal, or standard output closed by its reader.

    A ``BaseException`` so that ``except Exception`` blocks let it pass while ``finally`` and
    ``with`` blocks still remove temporary and half-written files on the way out.
    """

    def __init__(self, exit_code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class CheckFailed(LossCliError):
    """A ``check`` rule failed (raised after the report has been printed and written)."""

    exit_code = ExitCode.CHECK_FAILED


class DomainError(InputError):
    """Some rows of a chunk hold values outside a loss's domain.

    ``bad`` is a boolean mask over the chunk's rows; the engine turns it into row numbers
    (or ids) so the message can name the first offending rows.
    """

    def __init__(self, problem: str, fix: str, bad: object) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem = problem
        self.fix = fix
        self.bad = bad
