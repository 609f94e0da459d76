"""``--save-state`` with ``--group-by`` and ``losscli merge``: the tickets sample data cut into
parts (one part of a single row, so most slices are absent from it), each part's state saved
with its slices, the states merged. Expected: the one run over the whole file, slice by slice
(values, std and intervals to 1e-12 relative: another summation order; n, order, hidden
slices and group values exact)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CLI_ENV, ROOT, invoke
from state_helpers import assert_close, report_json, save_part_states

# The signature names the merged files' hash, not the whole file's.
SKIP = ("signature",)
CUTS = [(0, 250), (250, 251), (251, 600)]
SAMPLE = ROOT / "sample_data"
ENTRY_POINT = Path(sys.executable).parent / "losscli"


def _tickets(tmp_path: Path) -> Path:
    """The tickets data in one file, with a boolean column (missing in some rows) and weights."""
    frame = pd.concat(
        [pd.read_csv(SAMPLE / "tickets_probs_v2.csv"), pd.read_csv(SAMPLE / "tickets_labels.csv")],
        axis=1,
    )
    rng = np.random.default_rng(31)
    flag = pd.array(rng.integers(0, 2, len(frame)).astype(bool), dtype="boolean")
    flag[rng.integers(0, len(frame), 40)] = pd.NA
    frame["mobile"] = flag
    frame["w"] = rng.uniform(0.2, 2.0, len(frame)).round(3)
    frame.to_csv(tmp_path / "all.csv", index=False)
    return tmp_path / "all.csv"


ARGS = ["--label-col", "intent", "--pred-cols", "billing,bug,other", "--loss", "ce"]
ARGS += ["--loss", "focal:gamma=2", "--group-by", "lang", "--group-by", "mobile"]


@pytest.mark.parametrize(
    "extra",
    [[], ["--weight-col", "w", "--min-slice-size", "30"]],
    ids=["plain", "weighted-min-size"],
)
def test_merged_slice_states_equal_one_run(tmp_path: Path, extra: list[str]) -> None:
    whole = _tickets(tmp_path)
    args = [*ARGS, *extra]
    expected = report_json(["compute", whole, *args])
    merged = report_json(["merge", *save_part_states(tmp_path, whole, args, CUTS)])
    assert len(expected["slices"]) == 9  # 3 languages × (true, false, missing)
    assert_close(merged["slices"], expected["slices"], skip=SKIP)
    assert_close(merged["results"], expected["results"], skip=SKIP)
    assert merged["group_by"] == expected["group_by"] == ["lang", "mobile"]
    assert merged.get("weight_col") == expected.get("weight_col")
    if extra:
        assert any(s["hidden"] for s in merged["slices"])


def test_merge_prints_the_slices_table(tmp_path: Path) -> None:
    whole = _tickets(tmp_path)
    result = invoke(["merge", *save_part_states(tmp_path, whole, ARGS, CUTS)])
    assert result.exit_code == 0, result.output
    assert "Losses by lang × mobile" in result.stdout
    assert "lang=de, mobile=true" in result.stdout
    assert "lang=en, mobile=(missing)" in result.stdout


def test_a_slice_state_keeps_value_types_and_exact_sums(tmp_path: Path) -> None:
    whole = _tickets(tmp_path)
    state = tmp_path / "s.json"
    assert invoke(["compute", whole, *ARGS, "--save-state", state]).exit_code == 0
    doc = json.loads(state.read_text())
    assert doc["version"] == 2
    assert doc["meta"] == {"weight": None, "groups": ["lang", "mobile"]}
    slices = doc["slices"]
    assert {type(k[1]) for k in slices["keys"]} == {bool, type(None)}  # JSON true/false/null
    assert sum(slices["rows"]) == 600
    assert all(isinstance(x, str) for x in slices["moments"][0]["sum_v"])  # float.hex


def test_states_with_other_group_columns_refuse_to_merge(tmp_path: Path) -> None:
    whole = _tickets(tmp_path)
    a, b, c = (tmp_path / f"{x}.json" for x in "abc")
    assert invoke(["compute", whole, *ARGS, "--save-state", a]).exit_code == 0
    one = [*ARGS[:8], "--group-by", "lang"]
    assert invoke(["compute", whole, *one, "--save-state", b]).exit_code == 0
    result = invoke(["merge", a, b])
    assert result.exit_code == 3
    assert "group-by" in result.stderr and result.stdout == ""
    plain = [*ARGS[:8]]
    assert invoke(["compute", whole, *plain, "--save-state", c]).exit_code == 0
    assert invoke(["merge", a, c]).exit_code == 3


def test_version_1_states_still_merge(tmp_path: Path) -> None:
    """A state written before slices were kept (version 1: no meta, no slices) reads as one
    without slices."""
    whole = _tickets(tmp_path)
    plain = ARGS[:8]
    state = tmp_path / "s.json"
    assert invoke(["compute", whole, *plain, "--save-state", state]).exit_code == 0
    doc = json.loads(state.read_text())
    for key in ("meta", "slices", "min_slice_size"):
        del doc[key]
    doc["version"] = 1
    state.write_text(json.dumps(doc))
    assert report_json(["merge", state])["n_samples"] == 600


def test_the_installed_command_merges_slices(tmp_path: Path) -> None:
    whole = _tickets(tmp_path)
    states = save_part_states(tmp_path, whole, ARGS, CUTS)
    cmd = [str(ENTRY_POINT), "merge", *map(str, states), "--format", "json"]
    env = {k: v for k, v in CLI_ENV.items() if v is not None}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    slices = json.loads(proc.stdout)["slices"]
    assert sum(s["n"] for s in slices) == 600
    assert {s["slice"]["mobile"] for s in slices} == {True, False, None}
