"""--id-col when one input is a folder of shards (read chunk by chunk, joined through Arrow):
--group-by columns of the shards, and an empty numeric id in a CSV shard.

Expected values are pandas' own: the files are merged on the id with ``DataFrame.merge`` and
the squared errors averaged per group with ``groupby`` in the test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from losscli.interpret import memjoin

ENTRY_POINT = Path(sys.executable).parent / "losscli"


@pytest.fixture(params=["memory", "disk"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "disk":
        monkeypatch.setattr(memjoin, "MEMORY_ROWS", 0)
    return str(request.param)


def _shards(tmp_path: Path, group: list[object]) -> tuple[Path, Path, pd.DataFrame]:
    """Predictions in one CSV, labels in two Parquet shards carrying the group column, rows
    in another order; returns both paths and the rows joined by pandas."""
    rng = np.random.default_rng(15)
    n = len(group)
    preds = pd.DataFrame({"id": [f"s{i}" for i in range(n)], "p": rng.normal(size=n)})
    order = rng.permutation(n)
    labels = pd.DataFrame(
        {
            "id": preds["id"].to_numpy()[order],
            "y": rng.normal(size=n),
            "g": [group[i] for i in order],
        }
    )
    preds.to_csv(tmp_path / "p.csv", index=False)
    folder = tmp_path / "labels"
    folder.mkdir()
    labels.iloc[: n // 2].to_parquet(folder / "part-0.parquet", index=False)
    labels.iloc[n // 2 :].to_parquet(folder / "part-1.parquet", index=False)
    return tmp_path / "p.csv", folder, preds.merge(labels, on="id")


@pytest.mark.parametrize(
    "group",
    [["en", "fr", "de"] * 7, [3, 1, 2] * 7, [True, False, None] * 7],
    ids=["text", "integers", "booleans-with-missing"],
)
def test_group_by_a_column_of_label_shards(
    tmp_path: Path, run_cli, path: str, group: list[object]
) -> None:
    preds, labels, joined = _shards(tmp_path, group)
    args = ["compute", str(preds), str(labels), "--id-col", "id", "--loss", "mse"]
    result = run_cli([*args, "--group-by", "g", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    got = {
        str(s["slice"]["g"]): s["results"][0]["value"] for s in json.loads(result.stdout)["slices"]
    }
    joined["se"] = (joined["p"] - joined["y"]) ** 2
    keys = joined["g"].map(lambda v: "None" if v is None else str(v))
    expected = joined.groupby(keys)["se"].mean()
    assert got == pytest.approx(expected.to_dict(), rel=1e-12)


def test_an_empty_numeric_id_in_a_csv_shard_is_named(tmp_path: Path, run_cli, path: str) -> None:
    folder = tmp_path / "preds"
    folder.mkdir()  # pandas writes the ids as 1.0, (empty), 3.0: a float column with a NaN
    pd.DataFrame({"id": [1, None, 3], "p": [0.5, 0.25, 1.0]}).to_csv(folder / "a.csv", index=False)
    pd.DataFrame({"id": [4, 5], "p": [0.5, 0.25]}).to_csv(folder / "b.csv", index=False)
    labels = tmp_path / "y.csv"
    pd.DataFrame({"id": [1, 2, 3, 4, 5], "y": [1.0] * 5}).to_csv(labels, index=False)
    result = run_cli(["compute", str(folder), str(labels), "--id-col", "id", "--loss", "mse"])
    assert result.exit_code == 3, result.stderr
    assert "the id column 'id' has empty values (rows 1)" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_the_installed_command_groups_label_shards_by_text(tmp_path: Path) -> None:
    preds, labels, joined = _shards(tmp_path, ["a", "b"] * 5)
    args = [str(preds), str(labels), "--id-col", "id", "--loss", "mse", "--group-by", "g"]
    done = subprocess.run(
        [str(ENTRY_POINT), "compute", *args, "--format", "json"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    slices = json.loads(done.stdout)["slices"]
    joined["se"] = (joined["p"] - joined["y"]) ** 2
    expected = joined.groupby("g")["se"].mean()
    assert {s["slice"]["g"]: s["results"][0]["value"] for s in slices} == pytest.approx(
        expected.to_dict(), rel=1e-12
    )
