"""Issue 8 leftovers: --header/--no-header, --delimiter, --decimal and --class-labels on
``check`` and ``compare`` as on ``compute``, and accepted for a folder (or glob) of CSV shards.

Expected numbers (hand derivations, written here):
- EURO: p(class 1) = 0.8, 0.1, 0.6 against labels 1, 0, 0: cross-entropy
  -(ln 0.8 + ln 0.9 + ln 0.4) / 3 = 0.4149315996, scikit-learn's log_loss on the article's
  example in shared/REFERENCES.md (the same three probabilities of the true class).
- NUMBERED: columns named 1, 2, 3 and labels 1, 2, 2: read as names p = 0.2, 0.1, 0.3 ->
  1.7053319366; as positions p = 0.5, 0.8, 0.1 -> 1.0729586083 (tests/test_real_inputs.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import CLI_ENV, invoke

ENTRY_POINT = Path(sys.executable).parent / "losscli"
EURO_CE = 0.4149315996
EURO = ["--delimiter", ";", "--decimal", ","]
AS_NAMES, AS_POSITIONS = 1.7053319366, 1.0729586083


@pytest.fixture
def euro(tmp_path: Path) -> dict[str, Path]:
    """A European CSV (';' between fields, ',' as decimal mark), whole and as a folder of
    headerless shards, with headerless labels beside it."""
    (tmp_path / "shards").mkdir()
    files = {
        "preds.csv": "a;b\n0,2;0,8\n0,9;0,1\n0,4;0,6\n",
        "labels.csv": "y\n1\n0\n0\n",
        "bare_labels.csv": "1\n0\n0\n",
        "shards/part-0.csv": "0,2;0,8\n0,9;0,1\n",
        "shards/part-1.csv": "0,4;0,6\n",
        "numbered.csv": "1,2,3\n0.2,0.5,0.3\n0.1,0.1,0.8\n0.6,0.3,0.1\n",
        "numbered_labels.csv": "y\n1\n2\n2\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return {name: tmp_path / name for name in [*files, "shards"]}


def _json(args: list[Any]) -> dict[str, Any]:
    result = invoke([*args, "-f", "json"])
    assert result.exit_code in (0, 1), result.output
    return dict(json.loads(result.stdout))


def test_check_reads_european_csv(euro: dict[str, Path]) -> None:
    base = ["check", euro["preds.csv"], euro["labels.csv"], *EURO, "-l", "ce", "--probs"]
    doc = _json([*base, "--max", "ce=0.5"])
    assert doc["results"][0]["value"] == pytest.approx(EURO_CE, abs=1e-10)
    assert doc["passed"] is True
    assert invoke([*base, "--max", "ce=0.4"]).exit_code == 1
    refused = invoke(["check", euro["preds.csv"], euro["labels.csv"], "-l", "ce", "--max", "ce=1"])
    assert refused.exit_code in (2, 3)  # read with ',' the file is one text column


def test_compare_reads_european_csv(euro: dict[str, Path]) -> None:
    args = ["compare", euro["preds.csv"], euro["preds.csv"], "--labels", euro["labels.csv"]]
    doc = _json([*args, *EURO, "-l", "ce", "--probs"])
    assert doc["losses"][0]["values"] == pytest.approx([EURO_CE, EURO_CE], abs=1e-10)


@pytest.mark.parametrize("shards", ["shards", "shards/*.csv"])
def test_a_headerless_shard_folder_takes_the_text_options(
    euro: dict[str, Path], shards: str
) -> None:
    path = str(euro["shards"]) + shards.removeprefix("shards")
    args = [path, euro["bare_labels.csv"], *EURO, "--no-header", "-l", "ce", "--probs"]
    doc = _json(["compute", *args])
    assert doc["results"][0]["value"] == pytest.approx(EURO_CE, abs=1e-10)
    checked = _json(["check", *args, "--max", "ce=0.5"])
    assert checked["passed"] is True and checked["n_samples"] == 3


def test_text_options_need_a_text_input(tmp_path: Path) -> None:
    import numpy as np

    np.save(tmp_path / "p.npy", np.array([0.2, 0.7]))
    np.save(tmp_path / "y.npy", np.array([0, 1]))
    args = [tmp_path / "p.npy", tmp_path / "y.npy", "-l", "mse", "--delimiter", ";"]
    for command in (["check", *args, "--max", "mse=1"], ["compare", args[0], *args]):
        if command[0] == "compare":
            command = ["compare", args[0], args[0], "--labels", args[1], *args[2:]]
        result = invoke(command)
        assert result.exit_code == 2, result.output
        assert "apply to text tables" in result.stderr


def test_class_labels_on_check_and_compare(euro: dict[str, Path]) -> None:
    preds, labels = euro["numbered.csv"], euro["numbered_labels.csv"]
    asked = invoke(["check", preds, labels, "-l", "ce", "--max", "ce=9"])
    assert asked.exit_code == 2 and "--class-labels" in asked.stderr
    named = _json(["check", preds, labels, "-l", "ce", "--max", "ce=9", "--class-labels", "name"])
    assert named["results"][0]["value"] == pytest.approx(AS_NAMES, abs=1e-10)
    cmp = ["compare", preds, preds, "--labels", labels, "-l", "ce", "--class-labels", "index"]
    assert _json(cmp)["losses"][0]["values"] == pytest.approx([AS_POSITIONS] * 2, abs=1e-10)


def test_state_refuses_text_options(tmp_path: Path) -> None:
    result = invoke(["check", "--state", tmp_path / "s.json", "--no-header", "--max", "ce=1"])
    assert result.exit_code == 2
    assert "leave out delimiter/decimal/header" in result.stderr


def test_installed_check_and_compare_take_the_text_options(euro: dict[str, Path]) -> None:
    env = {k: v for k, v in CLI_ENV.items() if v is not None}

    def run(*args: Any) -> subprocess.CompletedProcess[str]:
        command, *rest = map(str, args)  # the options given last win over EURO
        cmd = [str(ENTRY_POINT), command, *EURO, *rest, "-l", "ce", "--probs", "-f", "json"]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)

    check = run("check", euro["shards"], euro["bare_labels.csv"], "--no-header", "--max", "ce=0.4")
    assert check.returncode == 1, check.stderr
    assert json.loads(check.stdout)["results"][0]["value"] == pytest.approx(EURO_CE, abs=1e-10)
    both = run("compare", euro["preds.csv"], euro["preds.csv"], "--labels", euro["labels.csv"])
    assert both.returncode == 0, both.stderr
    bad = run(
        "compare",
        euro["preds.csv"],
        euro["preds.csv"],
        "--labels",
        euro["labels.csv"],
        "--delimiter",
        ",",
    )  # the decimal mark ',' as the field separator too
    assert bad.returncode == 2 and "is also the field separator" in bad.stderr
