"""``compare`` in one-file mode (issue 11.2), as ``compute``/``check`` have it: the labels are
``--label-col`` of the first file instead of ``--labels``; one file holding every model takes
a ``--pred-cols`` per model. Expected output: the two-file ``compare`` of the same columns
(the same numbers, to the last bit: the same values are read)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import CLI_ENV, invoke

ENTRY_POINT = Path(sys.executable).parent / "losscli"
A, B = ["a0", "a1", "a2"], ["b0", "b1", "b2"]
LOSSES = ["--loss", "ce", "--loss", "brier", "--logits", "--top", "4"]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(13)
    n = 180
    a = pd.DataFrame(rng.normal(size=(n, 3)), columns=A)
    b = pd.DataFrame(rng.normal(size=(n, 3)) * 2, columns=B)
    y = pd.DataFrame({"label": rng.integers(0, 3, n)})
    out = {name: tmp_path / f"{name}.parquet" for name in ("a", "b", "y", "all", "a_l", "b_l")}
    a.to_parquet(out["a"], index=False)
    b.to_parquet(out["b"], index=False)
    y.to_parquet(out["y"], index=False)
    both = pd.concat([a, b, y], axis=1)
    both["row_id"] = [f"r{i}" for i in range(n)]
    both.to_parquet(out["all"], index=False)
    pd.concat([a, y], axis=1).to_parquet(out["a_l"], index=False)
    pd.concat([b, y], axis=1).to_parquet(out["b_l"], index=False)
    return out


def _compare(args: list[Any]) -> dict[str, Any]:
    result = invoke(["compare", *args, *LOSSES, "-f", "json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def _numbers(doc: dict[str, Any]) -> Any:
    """Everything but the names of the models and of the labels."""
    return doc["n_samples"], doc["n_paired"], doc["losses"], doc["disagreements"]


def _unnamed(doc: dict[str, Any]) -> Any:
    """The numbers, with model names and the signatures' labels hash (the sha256 of the file
    the labels were read from: the whole file in one-file mode) masked."""
    text = re.sub(r"labels:[0-9a-f]+", "labels:HASH", json.dumps(_numbers(doc)))
    for name in [*doc["models"], *doc["paths"]]:
        text = text.replace(json.dumps(name), '"MODEL"')
    return json.loads(text)


def test_one_file_with_a_pred_cols_per_model(files: dict[str, Path]) -> None:
    want = _compare([files["a"], files["b"], "--labels", files["y"]])
    args = ["--label-col", "label", "--pred-cols", ",".join(A), "--pred-cols", ",".join(B)]
    got = _compare([files["all"], *args])
    assert got["models"] == ["all.parquet[a0,a1,a2]", "all.parquet[b0,b1,b2]"]
    assert got["paths"] == [f"{files['all']}[a0,a1,a2]", f"{files['all']}[b0,b1,b2]"]
    assert got["labels"] == str(files["all"])
    assert _unnamed(got) == _unnamed(want)
    assert want["losses"][0]["vs_first"][1]["p_value"] < 0.05  # the models differ: can fail


def test_files_holding_the_labels(files: dict[str, Path]) -> None:
    """Several files, each with its model's columns and the label column: the labels are the
    first file's, and each file's predictions are its numeric columns but the label."""
    want = _compare([files["a"], files["b"], "--labels", files["y"]])
    got = _compare([files["a_l"], files["b_l"], "--label-col", "label"])
    assert got["labels"] == str(files["a_l"])
    assert _unnamed(got) == _unnamed(want)


def test_the_table_names_the_models_of_one_file(files: dict[str, Path]) -> None:
    args = ["--label-col", "label", "--pred-cols", ",".join(A), "--pred-cols", ",".join(B)]
    result = invoke(["compare", files["all"], *args, *LOSSES])
    assert result.exit_code == 0, result.output
    # Rich markup would eat "[a0,a1,a2]" in the title: the name is escaped.
    assert f"Against {files['all'].name}[a0,a1,a2]:" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["all"], "or --label-col NAME"),
        (["all", "--label-col", "label"], "or one file with a --pred-cols for each model"),
        (["a_l", "b_l", "--label-col", "label", "--pred-cols", "a0", "--pred-cols", "b0"], "got 2"),
    ],
)
def test_one_file_usage_errors(files: dict[str, Path], args: list[str], message: str) -> None:
    result = invoke(["compare", *[files.get(a, a) for a in args], "--loss", "ce"])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stdout == ""


def test_a_missing_label_column_exits_with_a_message(files: dict[str, Path]) -> None:
    args = ["--label-col", "nope", "--pred-cols", ",".join(A), "--pred-cols", ",".join(B)]
    result = invoke(["compare", files["all"], *args, "--loss", "ce"])
    assert result.exit_code in (2, 3), result.output
    assert "nope" in result.stderr and "Traceback" not in result.stderr


def test_installed_compare_one_file(files: dict[str, Path]) -> None:
    env = {k: v for k, v in CLI_ENV.items() if v is not None}

    def run(*args: Any) -> subprocess.CompletedProcess[str]:
        cmd = [str(ENTRY_POINT), "compare", *map(str, args), *LOSSES, "-f", "json"]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)

    want = run(files["a"], files["b"], "--labels", files["y"])
    cols = ["--pred-cols", ",".join(A), "--pred-cols", ",".join(B)]
    got = run(files["all"], "--label-col", "label", *cols)
    assert got.returncode == 0, got.stderr
    assert _unnamed(json.loads(got.stdout)) == _unnamed(json.loads(want.stdout))
    bad = run(files["all"], "--label-col", "label")
    assert bad.returncode == 2 and "--pred-cols for each model" in bad.stderr
