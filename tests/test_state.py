"""Saved states and ``losscli merge`` (issue 11): a file cut into parts, each part's state
saved, the states merged. Expected numbers: the one run over the whole file (values to 1e-12
relative, n exact, the same worst rows and per-class rows)."""

from __future__ import annotations

import json
import locale
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import CLI_ENV, invoke
from state_helpers import assert_close, installed_merge_json, report_json, save_part_states

from losscli.engine.state import load_state
from losscli.errors import InputError

CUTS = [(0, 130), (130, 131), (131, 300)]


def _multiclass(tmp_path: Path) -> tuple[Path, list[str]]:
    rng = np.random.default_rng(21)
    n = CUTS[-1][1]
    frame = pd.DataFrame(rng.normal(size=(n, 4)) * 2, columns=["a", "b", "c", "d"])
    frame["label"] = rng.choice(["a", "b", "c", "d"], n)
    frame["id"] = [f"x{i}" for i in range(n)]
    frame.to_csv(tmp_path / "all.csv", index=False)
    args = ["--label-col", "label", "--pred-cols", "a,b,c,d", "--logits", "--by-class"]
    return tmp_path / "all.csv", [*args, "--loss", "ce", "--loss", "focal:gamma=2", "--top", "7"]


def _regression(tmp_path: Path) -> tuple[Path, list[str]]:
    rng = np.random.default_rng(22)
    n = CUTS[-1][1]
    frame = pd.DataFrame({"y_hat": rng.normal(size=n), "y": rng.normal(size=n)})
    frame.to_csv(tmp_path / "all.csv", index=False)
    losses = ["--loss", "mse", "--loss", "rmse", "--loss", "huber:delta=0.5", "--loss", "mae"]
    return tmp_path / "all.csv", ["--label-col", "y", "--pred-cols", "y_hat", *losses]


@pytest.mark.parametrize("data", [_multiclass, _regression])
def test_merged_states_equal_one_run(tmp_path: Path, data: Any) -> None:
    whole, args = data(tmp_path)
    expected = report_json(["compute", whole, *args])
    merged = report_json(["merge", *save_part_states(tmp_path, whole, args, CUTS)])
    assert merged["n_samples"] == expected["n_samples"]
    for got, want in zip(merged["results"], expected["results"], strict=True):
        assert (got["loss"], got["n"]) == (want["loss"], want["n"])
        # The per-sample distribution merges exactly: same counts, ends and quantiles.
        assert (got["histogram"], got["quantiles"]) == (want["histogram"], want["quantiles"])
        for key in ("value", "std", "ci_low", "ci_high"):
            assert got[key] == pytest.approx(want[key], rel=1e-12, abs=0)
    assert merged["worst"] == expected["worst"]
    assert_close(merged.get("by_class"), expected.get("by_class"))


def test_a_state_is_versioned_json_with_exact_floats(tmp_path: Path) -> None:
    whole, args = _regression(tmp_path)
    state = tmp_path / "s.json"
    assert invoke(["compute", whole, *args, "--save-state", state]).exit_code == 0
    doc = json.loads(state.read_text())
    assert (doc["format"], doc["version"]) == ("losscli-state", 2)
    assert float.fromhex(doc["moments"][0]["sum_v"]) > 0
    assert list(tmp_path.glob("*.tmp*")) == []


def test_states_of_other_losses_refuse_to_merge(tmp_path: Path) -> None:
    whole, args = _regression(tmp_path)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert invoke(["compute", whole, *args, "--save-state", a]).exit_code == 0
    other = [x if x != "huber:delta=0.5" else "huber:delta=1.5" for x in args]
    assert invoke(["compute", whole, *other, "--save-state", b]).exit_code == 0
    result = invoke(["merge", a, b])
    assert result.exit_code == 3
    assert "differ in losses" in result.stderr and "huber:delta=1.5" in result.stderr
    conv = invoke(["compute", whole, *args, "--convention", "sklearn", "--save-state", b])
    assert conv.exit_code == 0, conv.output
    assert "differ in losses" in invoke(["merge", a, b]).stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a saved state"),
        ('{"format": "other"}', "not a saved state"),
        ('{"format": "losscli-state", "version": 99}', "state version 99"),
    ],
)
def test_bad_state_files_exit_3(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    result = invoke(["merge", path])
    assert result.exit_code == 3
    assert message in result.stderr


def test_bootstrap_intervals_are_not_saved(tmp_path: Path) -> None:
    whole, args = _regression(tmp_path)
    state = tmp_path / "s.json"
    result = invoke(["compute", whole, *args, "--ci", "bootstrap", "--save-state", state])
    assert result.exit_code == 2
    assert "--ci bootstrap" in result.stderr and not state.exists()


def test_the_installed_command_merges(tmp_path: Path) -> None:
    whole, args = _multiclass(tmp_path)
    states = save_part_states(tmp_path, whole, args, CUTS)
    want = report_json(["compute", whole, *args])["results"][0]["value"]
    assert installed_merge_json(states)["results"][0]["value"] == pytest.approx(want, rel=1e-12)
    exe = Path(sys.executable).parent / "losscli"
    env = {k: v for k, v in CLI_ENV.items() if v is not None}
    missing = subprocess.run(
        [str(exe), "merge", str(tmp_path / "nope.json")], capture_output=True, text=True, env=env
    )
    assert missing.returncode == 3 and "no such file" in missing.stderr


def _one_file_entry(tmp_path: Path) -> Path:
    """A damaged state listing one input file instead of two."""
    whole, args = _regression(tmp_path)
    state = tmp_path / "s.json"
    assert invoke(["compute", whole, *args, "--save-state", state]).exit_code == 0
    doc = json.loads(state.read_text())
    doc["files"].pop()
    state.write_text(json.dumps(doc))
    return state


def test_a_state_with_one_file_entry_exits_3_with_the_damaged_part(tmp_path: Path) -> None:
    result = invoke(["merge", _one_file_entry(tmp_path)])
    assert result.exit_code == 3, result.output  # was exit 4: an IndexError in merge_states
    assert "missing or damaged part" in result.stderr


def test_the_installed_command_refuses_a_state_with_one_file_entry(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "losscli"
    env = {k: v for k, v in CLI_ENV.items() if v is not None}
    state = _one_file_entry(tmp_path)
    proc = subprocess.run([str(exe), "merge", str(state)], capture_output=True, text=True, env=env)
    assert proc.returncode == 3 and "missing or damaged part" in proc.stderr


def test_a_state_is_read_as_utf8_whatever_the_locale(tmp_path: Path) -> None:
    """States are written as UTF-8 (``write_text``); under a C locale (ASCII: LC_CTYPE=C,
    Python's locale encoding is then 'ANSI_X3.4-1968') a state holding non-ASCII text must
    still decode: here its version is read and refused, not an ascii decode error."""
    path = tmp_path / "s.json"
    path.write_bytes('{"format": "losscli-state", "version": 99, "x": "é"}'.encode())
    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        locale.setlocale(locale.LC_CTYPE, "C")
        assert locale.getencoding() != "utf-8"  # the locale would not decode UTF-8
        with pytest.raises(InputError, match="state version 99"):
            load_state(path)
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)
