"""The order tests/conftest.py gives the tests of one mutant under `make mutation`.

Expected orders are derived by hand from the recorded times written in each test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import pytest_collection_modifyitems

NODES = ["a.py::slow", "a.py::fast", "b.py::one", "c.py::x", "c.py::y"]
TIMES = {"a.py::slow": 4.0, "a.py::fast": 0.5, "b.py::one": 0.25, "c.py::x": 0.1, "c.py::y": 3.0}


def _order(root: Path) -> list[str]:
    items: list[Any] = [SimpleNamespace(nodeid=n) for n in NODES]
    pytest_collection_modifyitems(SimpleNamespace(rootpath=root), items)  # type: ignore[arg-type]
    return [i.nodeid for i in items]


def _stats(root: Path, times: dict[str, float]) -> None:
    (root / "mutmut-stats.json").write_text(json.dumps({"duration_by_test": times}))


def test_a_mutant_runs_its_tests_fastest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stats(tmp_path, TIMES)
    monkeypatch.setenv("MUTANT_UNDER_TEST", "losscli.stats.x_t_sf__mutmut_3")
    assert _order(tmp_path) == ["c.py::x", "b.py::one", "a.py::fast", "c.py::y", "a.py::slow"]


def test_new_times_are_read_when_mutmut_rewrites_its_stats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUTANT_UNDER_TEST", "losscli.stats.x_t_sf__mutmut_3")
    _stats(tmp_path, TIMES)
    _order(tmp_path)
    # b.py::one now the slowest test (9 s)
    _stats(tmp_path, {**TIMES, "b.py::one": 9.0})
    stats = tmp_path / "mutmut-stats.json"
    stamp = stats.stat().st_mtime_ns + 10**9
    os.utime(stats, ns=(stamp, stamp))
    assert _order(tmp_path) == ["c.py::x", "a.py::fast", "c.py::y", "a.py::slow", "b.py::one"]


@pytest.mark.parametrize("mutant", [None, "stats", "list_all_tests"])
def test_the_order_is_untouched_outside_a_mutant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mutant: str | None
) -> None:
    _stats(tmp_path, TIMES)
    if mutant is None:
        monkeypatch.delenv("MUTANT_UNDER_TEST", raising=False)
    else:
        monkeypatch.setenv("MUTANT_UNDER_TEST", mutant)
    assert _order(tmp_path) == NODES


def test_without_recorded_times_the_order_is_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUTANT_UNDER_TEST", "losscli.stats.x_t_sf__mutmut_3")
    # no mutmut-stats.json: every time is 0, and the sort is stable
    assert _order(tmp_path) == NODES
