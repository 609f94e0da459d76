"""``--engine dask`` (issue 11.4): shards as Dask partitions on a LocalCluster of 2 worker
processes (one thread each), started once for the module and joined with ``--scheduler``.

Every expected report is the local engine's run over the same shards: the whole JSON document
must be equal (every number to 1e-12 relative, every count, row, id and text exactly), so
n, worst rows, per-class rows, quantiles and intervals are all compared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import CLI_ENV, invoke

distributed = pytest.importorskip("dask.distributed")

CUTS = [(0, 70), (70, 71), (71, 160), (160, 240)]  # uneven, one single-row shard
N = CUTS[-1][1]
EXE = Path(sys.executable).parent / "losscli"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One LocalCluster for the module (its start is the cost): 2 processes, 1 thread each."""
    import dask

    scratch = str(tmp_path_factory.mktemp("dask-scratch"))
    with (
        dask.config.set({"temporary-directory": scratch}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            local_directory=scratch,
        ) as local,
    ):
        yield local.scheduler_address


def _families() -> dict[str, tuple[pd.DataFrame, pd.DataFrame, list[str]]]:
    """Per loss family: predictions, labels and the losses (seeded random data)."""
    rng = np.random.default_rng(114)
    logits = pd.DataFrame(rng.normal(0, 2, (N, 3)), columns=["cat", "dog", "eel"])
    probs = np.exp(logits.to_numpy())
    probs /= probs.sum(axis=1, keepdims=True)
    soft = rng.dirichlet([1.0, 1.0, 1.0], N)
    y = rng.normal(0, 1, N)
    return {
        "regression": (
            pd.DataFrame({"yhat": y + rng.normal(0, 0.5, N)}),
            pd.DataFrame({"y": y}),
            ["mse", "rmse", "mae", "huber:delta=0.5", "quantile:q=0.9"],
        ),
        "binary": (
            pd.DataFrame({"p": rng.uniform(0.01, 0.99, N)}),
            pd.DataFrame({"label": rng.integers(0, 2, N)}),
            ["bce", "focal", "hinge", "brier", "ece"],
        ),
        "multiclass": (
            logits,
            pd.DataFrame({"label": rng.choice(["cat", "dog", "eel"], N)}),
            ["ce", "ce:label_smoothing=0.1", "focal:gamma=1.5", "multi_margin", "hinge"],
        ),
        "multilabel": (
            pd.DataFrame(rng.normal(0, 1, (N, 3)), columns=["a", "b", "c"]),
            pd.DataFrame(rng.integers(0, 2, (N, 3)), columns=["a", "b", "c"]),
            ["bce", "soft_margin", "multilabel_margin"],
        ),
        "soft": (
            pd.DataFrame(probs, columns=["cat", "dog", "eel"]),
            pd.DataFrame(soft, columns=["cat", "dog", "eel"]),
            ["ce", "kl", "js"],
        ),
    }


FAMILIES = _families()


def _shard(folder: Path, frame: pd.DataFrame, suffix: str) -> Path:
    folder.mkdir(parents=True)
    for i, (a, b) in enumerate(CUTS):
        part = frame.iloc[a:b]
        if suffix == "parquet":
            part.to_parquet(folder / f"part-{i:05d}.parquet", index=False)
        else:
            part.to_csv(folder / f"part-{i:05d}.csv", index=False)
    (folder / "_SUCCESS").write_text("")  # a Spark marker: not a shard
    return folder


def _inputs(tmp: Path, family: str, suffix: str) -> tuple[Path, Path, list[str]]:
    preds, labels, losses = FAMILIES[family]
    base = tmp / family / suffix
    return _shard(base / "p", preds, suffix), _shard(base / "l", labels, suffix), losses


def _label_args(family: str) -> list[str]:
    _, labels, _ = FAMILIES[family]
    return [a for c in labels.columns for a in ("--label-col", c)] if labels.shape[1] > 1 else []


def _run(args: list[Any]) -> dict[str, Any]:
    result = invoke(["compute", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def assert_same(got: Any, expected: Any, where: str = "") -> None:
    """Equal documents: floats to 1e-12 relative, everything else exactly."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys(), where
        for key in expected:
            assert_same(got[key], expected[key], f"{where}/{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), where
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert_same(g, e, f"{where}/{i}")
    elif isinstance(expected, float) and not isinstance(got, bool):
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-300, nan_ok=True), where
    else:
        assert got == expected, where


def _losses(names: list[str]) -> list[str]:
    return [a for n in names for a in ("--loss", n)]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_loss_family_gives_the_local_report_on_parquet_shards(
    tmp_path: Path, cluster: str, family: str
) -> None:
    pdir, ldir, losses = _inputs(tmp_path, family, "parquet")
    by_class = ["--by-class"] if family in ("binary", "multiclass", "soft") else []
    args = [pdir, ldir, *_losses(losses), *_label_args(family), "--top", "7", *by_class]
    local = _run(args)
    dask = _run([*args, "--engine", "dask", "--scheduler", cluster])
    assert local["n_samples"] == N and len(local["worst"]) == 7
    assert_same(dask, local)


def test_a_csv_shard_directory_numbers_rows_across_partitions(tmp_path: Path, cluster: str) -> None:
    # CSV shards do not say their row counts: each partition counts from 0 and the merge
    # shifts the rows, so the worst rows keep the local run's row numbers.
    pdir, ldir, losses = _inputs(tmp_path, "multiclass", "csv")
    args = [pdir, ldir, *_losses(losses), "--top", "10", "--by-class"]
    local = _run(args)
    assert {w["row"] for w in local["worst"]} - set(range(71))  # rows beyond the first shards
    assert_same(_run([*args, "--engine", "dask", "--scheduler", cluster]), local)


def test_bootstrap_intervals_match_on_parquet_and_csv_shards(tmp_path: Path, cluster: str) -> None:
    # The bootstrap's draws are keyed by row number: each partition must know its first row
    # (Parquet says so; CSV shards are counted first).
    for suffix in ("parquet", "csv"):
        pdir, ldir, _ = _inputs(tmp_path, "regression", suffix)
        args = [pdir, ldir, "--loss", "mse", "--ci", "bootstrap", "--bootstrap-samples", "200"]
        local = _run(args)
        assert_same(_run([*args, "--engine", "dask", "--scheduler", cluster]), local)


def test_a_state_saved_on_dask_merges_like_a_local_one(tmp_path: Path, cluster: str) -> None:
    pdir, ldir, _ = _inputs(tmp_path, "multiclass", "parquet")
    args = [pdir, ldir, "--loss", "ce", "--loss", "focal", "--by-class", "--top", "5"]
    local_state, dask_state = tmp_path / "local.json", tmp_path / "dask.json"
    local = _run([*args, "--save-state", local_state])
    _run([*args, "--save-state", dask_state, "--engine", "dask", "--scheduler", cluster])
    merged = invoke(["merge", dask_state, "--format", "json"])
    assert merged.exit_code == 0, merged.output
    local_merged = invoke(["merge", local_state, "--format", "json"])
    assert_same(json.loads(merged.stdout), json.loads(local_merged.stdout))
    doc = json.loads(merged.stdout)
    for key in ("worst", "by_class", "n_samples"):
        assert_same(doc[key], local[key], key)
    for got, expected in zip(doc["results"], local["results"], strict=True):
        # One state keeps its files' labels hash (several: the hash of their hashes).
        assert got.pop("signature") == expected.pop("signature")
        assert_same(got, expected)
    # A dask state and a local state of the same run are parts that merge into two copies.
    both = invoke(["merge", dask_state, local_state, "--format", "json"])
    assert both.exit_code == 0, both.output
    assert json.loads(both.stdout)["n_samples"] == 2 * N


def test_per_sample_writes_one_file_per_partition(tmp_path: Path, cluster: str) -> None:
    pdir, ldir, _ = _inputs(tmp_path, "multiclass", "csv")
    args = ["compute", pdir, ldir, "--loss", "ce", "--loss", "hinge"]
    whole, parts = tmp_path / "whole.parquet", tmp_path / "rows.parquet"
    assert invoke([*args, "--per-sample", whole]).exit_code == 0
    parts.mkdir()
    (parts / "stale.txt").write_text("from an earlier run: replaced")
    result = invoke([*args, "--per-sample", parts, "--engine", "dask", "--scheduler", cluster])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in parts.iterdir())
    assert names == [f"part-{i:05d}.parquet" for i in range(len(CUTS))]
    got = pd.read_parquet(parts)  # a folder of Parquet parts reads as one table
    pd.testing.assert_frame_equal(got.reset_index(drop=True), pd.read_parquet(whole))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left


def _id_shards(tmp_path: Path, drop: int = 0, duplicate: bool = False) -> tuple[Path, Path]:
    """Predictions with ids in 4 shards; labels of the ids shuffled into 3 other shards (the
    first ``drop`` ids left out, one id twice with ``duplicate``)."""
    preds, labels, _ = FAMILIES["multiclass"]
    ids = np.array([f"img{i:04d}" for i in range(N)], dtype=object)
    order = np.random.default_rng(7).permutation(N)[drop:]
    if duplicate:
        order = np.concatenate([order, order[:1]])
    by_id = labels.assign(id=ids).iloc[order]
    base = tmp_path / f"ids{drop}{duplicate}"
    pdir = _shard(base / "p", preds.assign(id=ids), "parquet")
    ldir = base / "l"
    ldir.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(by_id)), 3)):
        by_id.iloc[rows].to_parquet(ldir / f"part-{i}.parquet", index=False)
    return pdir, ldir


def test_id_joins_run_through_dask_merge_and_match_the_local_join(
    tmp_path: Path, cluster: str
) -> None:
    pdir, ldir = _id_shards(tmp_path, drop=9)
    losses = ["--loss", "ce", "--loss", "multi_margin", "--by-class", "--top", "6"]
    args = [pdir, ldir, "--id-col", "id", "--join", "inner", *losses]
    local = _run(args)
    dask = _run([*args, "--engine", "dask", "--scheduler", cluster])
    assert local["n_samples"] == N - 9 and local["worst"][0]["id"].startswith("img")
    # The note names 3 example ids of the 9 one-sided ones; which 3 depends on the join order.
    note, local_note = dask["interpretation"].pop(), local["interpretation"].pop()
    assert note["decision"] == local_note["decision"] == f"evaluated the {N - 9} ids in both files"
    assert note["reason"].startswith("--join inner; 9 ids only in ")
    assert_same(dask, local)


@pytest.mark.parametrize(
    ("drop", "duplicate", "message"),
    [(4, False, "4 ids only in "), (0, True, "duplicate ids in 'id'")],
)
def test_id_problems_on_dask_exit_3_as_the_local_join_does(
    tmp_path: Path, cluster: str, drop: int, duplicate: bool, message: str
) -> None:
    pdir, ldir = _id_shards(tmp_path, drop, duplicate)
    args = ["compute", pdir, ldir, "--id-col", "id", "--loss", "ce"]
    for engine in (["--engine", "local"], ["--engine", "dask", "--scheduler", cluster]):
        result = invoke([*args, *engine])
        assert result.exit_code == 3, result.output
        assert message in result.stderr and result.stdout == ""


def test_check_runs_on_dask(tmp_path: Path, cluster: str) -> None:
    pdir, ldir, _ = _inputs(tmp_path, "regression", "parquet")
    local = invoke(["compute", pdir, ldir, "--loss", "mse", "--format", "json"])
    mse = json.loads(local.stdout)["results"][0]["value"]
    base = ["check", pdir, ldir, "--engine", "dask", "--scheduler", cluster]
    passed = invoke([*base, "--max", f"mse={mse * 1.001}", "--format", "json"])
    assert passed.exit_code == 0, passed.output
    assert json.loads(passed.stdout)["results"][0]["value"] == pytest.approx(mse, rel=1e-12)
    assert invoke([*base, "--max", f"mse={mse * 0.999}"]).exit_code == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scheduler", "tcp://127.0.0.1:1"], "--engine dask"),
        (["--workers", "2"], "--engine dask"),
        (["--engine", "dask", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "--workers"),
    ],
)
def test_engine_options_that_contradict_exit_2(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    pdir, ldir, _ = _inputs(tmp_path, "regression", "parquet")
    result = invoke(["compute", pdir, ldir, "--loss", "mse", *extra])
    assert result.exit_code == 2 and message in result.stderr
    assert result.stdout == ""


def test_what_dask_cannot_run_exits_2(tmp_path: Path, cluster: str) -> None:
    pdir, ldir, _ = _inputs(tmp_path, "regression", "parquet")
    one, meta = tmp_path / "one.parquet", tmp_path / "meta.parquet"
    FAMILIES["regression"][0].to_parquet(one, index=False)
    pd.DataFrame({"w": np.ones(N)}).to_parquet(meta, index=False)
    dask = ["--engine", "dask", "--scheduler", cluster]
    weighted = ["--meta", meta, "--weight-col", "w"]
    cases = [
        (["compute", one, ldir, "--loss", "mse", *dask], "is one file"),
        (
            ["check", pdir, ldir, "--baseline-preds", pdir, "--max", "mse=1", *dask],
            "--engine local",
        ),
        (["compute", pdir, ldir, "--loss", "mse", *weighted, *dask], "--meta"),
    ]
    for args, message in cases:
        result = invoke(args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_scheduler_exits_3(tmp_path: Path) -> None:
    pdir, ldir, _ = _inputs(tmp_path, "regression", "parquet")
    args = ["compute", pdir, ldir, "--loss", "mse", "--engine", "dask"]
    result = invoke([*args, "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 3 and "cannot reach the Dask scheduler" in result.stderr


def _env() -> dict[str, str]:
    return {k: v for k, v in {**os.environ, **CLI_ENV}.items() if v is not None}


def test_the_installed_command_starts_and_stops_its_own_local_cluster(tmp_path: Path) -> None:
    pdir, ldir, losses = _inputs(tmp_path, "multiclass", "parquet")
    cmd = [str(EXE), "compute", pdir, ldir, *_losses(losses), "--format", "json"]
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**_env(), "TMPDIR": str(scratch)}
    local = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    dask = subprocess.run(
        [*cmd, "--engine", "dask", "--workers", "2"], capture_output=True, text=True, env=env
    )
    assert dask.returncode == 0, dask.stderr
    assert_same(json.loads(dask.stdout), json.loads(local.stdout))
    assert list(scratch.iterdir()) == []  # the workers' scratch folder is gone


def test_without_dask_the_engine_exits_2_with_the_pip_command(tmp_path: Path) -> None:
    pdir, ldir, _ = _inputs(tmp_path, "regression", "parquet")
    code = (
        "import sys; sys.modules['dask'] = None; sys.modules['distributed'] = None\n"
        "from losscli.cli import main\n"
        f"sys.argv = ['losscli', 'compute', {str(pdir)!r}, {str(ldir)!r}, '--loss', 'mse',"
        " '--engine', 'dask']\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env())
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'losscli[dask]'" in proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr


def test_help_and_local_runs_never_import_dask(tmp_path: Path) -> None:
    pdir, ldir, _ = _inputs(tmp_path, "regression", "parquet")
    code = (
        "import sys\n"
        "from losscli.cli import main\n"
        "for argv in (['--help'], ['compute', '--help'],"
        f" ['compute', {str(pdir)!r}, {str(ldir)!r}, '--loss', 'mse']):\n"
        "    sys.argv = ['losscli', *argv]\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as stop:\n"
        "        assert not stop.code, stop.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
