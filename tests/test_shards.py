"""Inputs of several files (issue 11): shard directories, quoted globs, Hive datasets.

Every expected number is the single-file run of the same rows: a sharded input must give the
same values, n and worst rows as the file it was cut from.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import CLI_ENV, invoke

from losscli.io.paths import open_path

CUTS = [(0, 70), (70, 71), (71, 160), (160, 200)]  # uneven, one single-row shard
N = CUTS[-1][1]
LOSSES = ["--loss", "ce", "--loss", "focal", "--loss", "multi_margin"]


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    p = rng.random((N, 3)) + 0.05
    p /= p.sum(axis=1, keepdims=True)
    preds = pd.DataFrame(p, columns=["cat", "dog", "eel"])
    preds["id"] = [f"s{i:03d}" for i in range(N)]
    preds["region"] = rng.choice(["eu", "us"], N)
    labels = pd.DataFrame({"id": preds["id"], "label": rng.choice(["cat", "dog", "eel"], N)})
    return preds, labels


def _json(args: list[Any]) -> dict[str, Any]:
    result = invoke(["compute", *args, *LOSSES, "--top", "5", "--format", "json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def _numbers(out: dict[str, Any]) -> list[Any]:
    return [(r["loss"], r["value"], r["n"]) for r in out["results"]]


def _same(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Same losses and n exactly, values to 1e-12 relative (shards sum in another order)."""
    for g, e in zip(_numbers(got), _numbers(expected), strict=True):
        assert (g[0], g[2]) == (e[0], e[2])
        assert g[1] == pytest.approx(e[1], rel=1e-12, abs=0)


@pytest.fixture
def whole(tmp_path: Path) -> tuple[Path, Path]:
    preds, labels = _frames()
    preds.drop(columns=["id", "region"]).to_csv(tmp_path / "preds.csv", index=False)
    labels[["label"]].to_csv(tmp_path / "labels.csv", index=False)
    return tmp_path / "preds.csv", tmp_path / "labels.csv"


def _shard(tmp_path: Path, suffix: str, marker: bool = True) -> tuple[Path, Path]:
    preds, labels = _frames()
    pdir, ldir = tmp_path / f"p_{suffix}", tmp_path / f"l_{suffix}"
    pdir.mkdir()
    ldir.mkdir()
    for i, (a, b) in enumerate(CUTS):
        p, lab = preds.iloc[a:b].drop(columns=["id", "region"]), labels.iloc[a:b][["label"]]
        if suffix == "parquet":
            p.to_parquet(pdir / f"part-{i:05d}.parquet", index=False)
            lab.to_parquet(ldir / f"part-{i:05d}.parquet", index=False)
        else:
            p.to_csv(pdir / f"part-{i:05d}.csv", index=False)
            lab.to_csv(ldir / f"part-{i:05d}.csv", index=False)
    if marker:  # what Spark leaves beside its part files: ignored
        for d in (pdir, ldir):
            (d / "_SUCCESS").write_text("")
            (d / ".part-00000.crc").write_bytes(b"\x00junk")
    return pdir, ldir


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_shard_directories_give_the_single_file_numbers(
    tmp_path: Path, whole: tuple[Path, Path], suffix: str
) -> None:
    expected = _json([*whole])
    pdir, ldir = _shard(tmp_path, suffix)
    got = _json([pdir, ldir])
    _same(got, expected)
    assert got["worst"] == expected["worst"]
    # A sharded input against the single labels file, and a quoted glob.
    _same(_json([pdir, whole[1]]), expected)
    _same(_json([f"{pdir}/part-*.{suffix}", ldir]), expected)


def test_a_hive_dataset_gives_partition_keys_as_columns(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    preds, labels = _frames()
    table = pa.Table.from_pandas(preds.merge(labels, on="id"), preserve_index=False)
    pq.write_to_dataset(table, tmp_path / "ds", partition_cols=["region"])
    # Expected: the same rows as one file, matched by id (the dataset orders rows by region).
    preds.merge(labels, on="id").drop(columns=["region"]).to_csv(tmp_path / "all.csv", index=False)
    cols = ["--pred-cols", "cat,dog,eel", "--label-col", "label", "--id-col", "id"]
    one = _json([tmp_path / "all.csv", tmp_path / "all.csv", *cols])
    ds = _json([tmp_path / "ds", tmp_path / "all.csv", *cols])
    _same(ds, one)
    # The partition key is a column with each row's value.
    src = open_path(tmp_path / "ds", tmp_path / "ds", None, 64)
    assert "region" in src.columns
    got = {
        i: r
        for chunk in src.chunks(["id", "region"])
        for i, r in zip(chunk["id"], chunk["region"], strict=True)
    }
    assert got == dict(zip(preds["id"], preds["region"], strict=True))


def test_shards_of_different_lengths_name_the_shards(tmp_path: Path) -> None:
    pdir, ldir = _shard(tmp_path, "parquet")
    _, labels = _frames()
    # Move one row from shard 2 to shard 3 of the labels: totals agree, shards do not.
    labels.iloc[71:159][["label"]].to_parquet(ldir / "part-00002.parquet", index=False)
    labels.iloc[159:200][["label"]].to_parquet(ldir / "part-00003.parquet", index=False)
    result = invoke(["compute", pdir, ldir, "--loss", "ce"])
    assert result.exit_code == 3
    assert "part-00002.parquet has 89 rows" in result.stderr
    assert "has 88" in result.stderr and "--id-col" in result.stderr


def test_csv_shards_of_different_lengths_are_caught_while_streaming(tmp_path: Path) -> None:
    pdir, ldir = _shard(tmp_path, "csv")
    _, labels = _frames()
    labels.iloc[71:159][["label"]].to_csv(ldir / "part-00002.csv", index=False)
    labels.iloc[159:200][["label"]].to_csv(ldir / "part-00003.csv", index=False)
    result = invoke(["compute", pdir, ldir, "--loss", "ce"])
    assert result.exit_code == 3
    assert "part-00002.csv has 89 rows" in result.stderr and "--id-col" in result.stderr


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("empty", "holds no data files"),
        ("mixed", "shards of several formats"),
        ("columns", "every shard needs the same columns"),
        ("nested", "holds folders"),
        ("count", "has 4 shards but"),
    ],
)
def test_bad_shard_inputs_exit_3(tmp_path: Path, setup: str, message: str) -> None:
    pdir, ldir = _shard(tmp_path, "parquet", marker=False)
    if setup == "empty":
        pdir = tmp_path / "empty"
        pdir.mkdir()
    elif setup == "mixed":
        pd.DataFrame({"cat": [0.5], "dog": [0.25], "eel": [0.25]}).to_csv(pdir / "z.csv")
    elif setup == "columns":
        pd.DataFrame({"cat": [0.5], "dog": [0.5]}).to_parquet(pdir / "part-00009.parquet")
    elif setup == "nested":
        (pdir / "sub").mkdir()
    else:
        (ldir / "part-00003.parquet").unlink()
    result = invoke(["compute", pdir, ldir, "--loss", "ce"])
    assert result.exit_code == 3, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_npy_shards(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    p, y = rng.normal(size=(50, 4)), rng.integers(0, 4, 50)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", y)
    (tmp_path / "pd").mkdir()
    (tmp_path / "yd").mkdir()
    for i, (a, b) in enumerate([(0, 20), (20, 50)]):
        np.save(tmp_path / "pd" / f"{i}.npy", p[a:b])
        np.save(tmp_path / "yd" / f"{i}.npy", y[a:b])
    args = ["--loss", "ce", "--logits", "--format", "json"]
    one = invoke(["compute", tmp_path / "p.npy", tmp_path / "y.npy", *args])
    shards = invoke(["compute", tmp_path / "pd", tmp_path / "yd", *args])
    assert shards.exit_code == 0, shards.output
    _same(json.loads(shards.stdout), json.loads(one.stdout))


def test_the_installed_command_reads_a_spark_like_directory(
    tmp_path: Path, whole: tuple[Path, Path]
) -> None:
    pdir, ldir = _shard(tmp_path, "parquet")
    exe = Path(sys.executable).parent / "losscli"
    env = {k: v for k, v in CLI_ENV.items() if v is not None}
    cmd = [str(exe), "compute", "--loss", "ce", "--format", "json"]
    proc = subprocess.run([*cmd, str(pdir), str(ldir)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    single = subprocess.run([*cmd, *map(str, whole)], capture_output=True, text=True, env=env)
    _same(json.loads(proc.stdout), json.loads(single.stdout))
    (ldir / "part-00001.parquet").unlink()
    bad = subprocess.run([*cmd, str(pdir), str(ldir)], capture_output=True, text=True, env=env)
    assert bad.returncode == 3 and "shards" in bad.stderr and "Traceback" not in bad.stderr
