"""Helpers shared by the saved-state tests: a JSON report through the CLI, states saved from
row ranges of one CSV, and a structural comparison with floats to 1e-12 relative (merged
states sum in another order than one run)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import CLI_ENV, invoke


def report_json(args: list[Any]) -> dict[str, Any]:
    """The ``--format json`` report of a CLI run that must succeed."""
    result = invoke([*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def installed_merge_json(states: list[Path]) -> dict[str, Any]:
    """``losscli merge STATES... -f json`` through the installed command, which must succeed."""
    exe = Path(sys.executable).parent / "losscli"
    proc = subprocess.run(
        [str(exe), "merge", *map(str, states), "-f", "json"],
        capture_output=True,
        text=True,
        env={k: v for k, v in CLI_ENV.items() if v is not None},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def save_part_states(
    tmp_path: Path, whole: Path, args: list[str], cuts: list[tuple[int, int]]
) -> list[Path]:
    """One ``--save-state`` file per row range of ``whole`` (a one-file CSV)."""
    frame = pd.read_csv(whole)
    states = []
    for i, (a, b) in enumerate(cuts):
        part = tmp_path / f"part{i}.csv"
        frame.iloc[a:b].to_csv(part, index=False)
        states.append(tmp_path / f"part{i}.state.json")
        result = invoke(["compute", part, *args, "--save-state", states[-1]])
        assert result.exit_code == 0, result.output
    return states


def assert_close(got: Any, want: Any, *, abs_tol: float = 0.0, skip: Collection[str] = ()) -> None:
    """Equal structure, ints, texts and booleans; floats to 1e-12 relative (and ``abs_tol``);
    dict keys in ``skip`` are not compared."""
    if isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-12, abs=abs_tol)
    elif isinstance(want, dict):
        assert got.keys() == want.keys()
        for key in want:
            if key not in skip:
                assert_close(got[key], want[key], abs_tol=abs_tol, skip=skip)
    elif isinstance(want, list):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert_close(g, w, abs_tol=abs_tol, skip=skip)
    else:
        assert got == want
