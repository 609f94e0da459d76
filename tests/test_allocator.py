"""The console script's allocator settings (``losscli.cli.allocator``): fixed glibc
thresholds so freed chunk arrays are reused instead of faulted in again, set by the entry
point only, and nothing at all where the C library has no ``mallopt``.

The parameter numbers are glibc's malloc.h: M_TRIM_THRESHOLD −1, M_MMAP_THRESHOLD −3."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from losscli.cli import allocator
from losscli.cli.allocator import keep_freed_memory


class _Libc:
    """A C library that records its mallopt calls and answers ``ok``."""

    def __init__(self, ok: int = 1) -> None:
        self.calls: list[tuple[int, int]] = []
        self.ok = ok

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.ok


def test_sets_the_mmap_and_trim_thresholds() -> None:
    libc = _Libc()
    assert keep_freed_memory(libc) is True
    assert libc.calls == [(-3, 32 << 20), (-1, 64 << 20)]


def test_a_refusal_is_reported() -> None:
    assert keep_freed_memory(_Libc(ok=0)) is False


def test_a_libc_without_mallopt_is_left_alone() -> None:
    assert keep_freed_memory(object()) is False


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_glibc_takes_the_settings_in_a_real_process() -> None:
    code = "from losscli.cli.allocator import keep_freed_memory; print(keep_freed_memory())"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def test_the_entry_point_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from losscli.cli import main, signals

    monkeypatch.setattr(signals, "install", lambda: None)  # the test process keeps its own
    called: list[bool] = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: called.append(True) or True)
    monkeypatch.setattr(sys, "argv", ["losscli", "--version"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code in (0, None)
    assert called == [True]
