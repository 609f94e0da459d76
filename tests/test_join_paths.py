"""The --id-col join, in memory (sort-merge on 128-bit id hashes) and on disk (external hash
join, forced here with ``MEMORY_ROWS = 0``): the same values and the same errors.

Expected values: NumPy's mean of squared differences after matching the rows by id in
Python (a dict), written next to each case.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import Result

from losscli.interpret import memjoin
from losscli.interpret.memjoin import id_hashes

RunCli = Callable[..., Result]
Write = Callable[..., Path]


@pytest.fixture(params=["memory", "disk"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "disk":
        monkeypatch.setattr(memjoin, "MEMORY_ROWS", 0)
    return str(request.param)


def _mse(run_cli: RunCli, *args: Any) -> float:
    result = run_cli(["compute", *args, "--loss", "mse", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return float(json.loads(result.stdout)["results"][0]["value"])


@pytest.mark.parametrize(
    "make_id",
    [
        lambda i: f"r{i:07d}",  # 8 bytes: packed exactly
        lambda i: f"image-{i:05d}-of-a-long-dataset.png",  # several 8-byte words
        lambda i: "x" * (i % 19 + 1) + str(i),  # every length from 2 to 25
    ],
    ids=["8-bytes", "long", "mixed-lengths"],
)
def test_shuffled_ids_match_by_id(
    write: Write, run_cli: RunCli, path: str, make_id: Callable[[int], str]
) -> None:
    rng = np.random.default_rng(5)
    n = 3000
    ids = [make_id(i) for i in range(n)]
    p, y = rng.normal(size=n), rng.normal(size=n)
    perm = rng.permutation(n)
    preds = write("p.csv", {"id": ids, "p": list(p)})
    labels = write("y.csv", {"id": [ids[i] for i in perm], "y": list(y[perm])})
    expected = float(np.mean((p - y) ** 2))  # labels matched back by construction
    assert _mse(run_cli, preds, labels, "--id-col", "id") == pytest.approx(expected, rel=1e-12)


def test_numeric_and_text_ids_match(write: Write, run_cli: RunCli, path: str) -> None:
    preds = write("p.csv", {"id": [7, 8, 9], "p": [1.0, 2.0, 4.0]})
    labels = write("y.csv", {"id": ["9", "7", "8"], "y": [1.0, 1.0, 1.0]})
    # id 7: (1-1)², 8: (2-1)², 9: (4-1)² -> mean 10/3
    assert _mse(run_cli, preds, labels, "--id-col", "id") == pytest.approx(10 / 3, rel=1e-12)


def test_inner_join_uses_the_shared_ids(write: Write, run_cli: RunCli, path: str) -> None:
    preds = write("p.csv", {"id": ["a", "b", "c", "d"], "p": [1.0, 2.0, 3.0, 9.0]})
    labels = write("y.csv", {"id": ["c", "z", "a", "b"], "y": [0.0, 5.0, 0.0, 0.0]})
    # shared a, b, c: (1², 2², 3²) -> mean 14/3
    got = _mse(run_cli, preds, labels, "--id-col", "id", "--join", "inner")
    assert got == pytest.approx(14 / 3, rel=1e-12)


@pytest.mark.parametrize(
    ("pred_ids", "label_ids", "message"),
    [
        (["a", "a", "c"], ["a", "b", "c"], r"p\.csv: duplicate ids in 'id': a \(1 duplicates\)"),
        (
            ["a", "b", "c", "d"],
            ["a", "b", "b", "b"],
            r"y\.csv: duplicate ids in 'id': b \(2 duplicates\)",
        ),
        (["a", "b", "q"], ["b", "a", "z"], r"1 ids only in .*p\.csv \(e\.g\. q\); 1 ids only in "),
        (["a", "b"], ["x", "y"], r"ids only in"),
    ],
    ids=["dup-preds", "dup-labels", "one-sided", "nothing-shared"],
)
def test_join_errors(
    write: Write,
    run_cli: RunCli,
    path: str,
    pred_ids: list[str],
    label_ids: list[str],
    message: str,
) -> None:
    import re

    preds = write("p.csv", {"id": pred_ids, "p": [0.5] * len(pred_ids)})
    labels = write("y.csv", {"id": label_ids, "y": [1.0] * len(label_ids)})
    result = run_cli(["compute", preds, labels, "--id-col", "id", "--loss", "mse"])
    assert result.exit_code == 3, result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr


def test_id_hashes_tell_every_id_apart() -> None:
    import pyarrow as pa

    ids = ["a", "ab", "ab\x00", "b", "abcdefgh", "abcdefgh\x00", "abcdefghi", "abcdefgi"]
    ids += ["x" * k for k in range(1, 40)] + ["é", "e\u0301", "id-1", "id-10", "1d-1"]
    h1, h2 = id_hashes(pa.array(ids))
    assert len(set(zip(h1.tolist(), h2.tolist(), strict=True))) == len(ids)
    # The same ids, as a slice of a larger array (an Arrow offset), hash the same.
    s1, s2 = id_hashes(pa.array(["zzz", *ids])[1:])
    np.testing.assert_array_equal(s1, h1)
    np.testing.assert_array_equal(s2, h2)
