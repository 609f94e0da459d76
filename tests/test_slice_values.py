"""Group values as the files type them: text, integers and booleans, and missing values as a
slice of their own, through every reader (CSV written by pandas, pyarrow and R, Parquet
written by pandas and pyarrow, a --meta file, an --id-col join, a directory of shards).

Expected values: each slice's mean squared error recomputed with pandas
(``DataFrame.groupby(..., dropna=False)``) from the same rows; booleans are shown as
``true``/``false`` in every format.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import losscli
from losscli.engine.slices import SliceCoder
from losscli.io.sources import Coded

ENTRY_POINT = Path(sys.executable).parent / "losscli"

P = [0.1, 0.5, 0.9, 0.3, 0.2, 0.7, 0.4, 0.8, 0.6]
Y = [0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0]
FLAG = [True, False, True, None, False, True, None, True, False]
LANG = ["de", "en", None, "de", "", "en", "fr", "de", None]
K = [1, 2, None, 1, 2, 2, 3, 1, None]


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "p": P,
            "y": Y,
            "flag": pd.array(FLAG, dtype="boolean"),
            "lang": pd.array(LANG, dtype="string"),
            "k": pd.array(K, dtype="Int64"),
        }
    )


def expected(column: str) -> dict[Any, tuple[int, float]]:
    """Per slice value (None: missing): rows and mean squared error, by pandas."""
    df = frame()
    df["se"] = (df["p"] - df["y"]) ** 2
    key = df[column].astype(object).where(df[column].notna(), None)
    if column == "lang":  # empty text is missing, as an empty CSV field is
        key = key.where(key != "", None)
    df["key"] = key.map(lambda v: "\0missing" if v is None else v)
    out = {}
    for value, part in df.groupby("key", dropna=False):
        out[None if value == "\0missing" else value] = (len(part), float(part["se"].mean()))
    return out


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


Files = tuple[list[Any], list[Any]]  # (file arguments, extra options)


def pandas_csv(tmp: Path) -> Files:
    frame().to_csv(tmp / "all.csv", index=False)
    return [tmp / "all.csv"], []


def pandas_parquet(tmp: Path) -> Files:
    frame().to_parquet(tmp / "all.parquet")
    return [tmp / "all.parquet"], []


def pyarrow_parquet(tmp: Path) -> Files:
    pq.write_table(pa.Table.from_pandas(frame(), preserve_index=False), tmp / "all.parquet")
    return [tmp / "all.parquet"], []


def pyarrow_csv(tmp: Path) -> Files:  # writes true/false and empty fields
    pacsv.write_csv(pa.Table.from_pandas(frame(), preserve_index=False), tmp / "all.csv")
    return [tmp / "all.csv"], []


def r_csv(tmp: Path) -> Files:
    """As R's write.csv writes a data.frame: TRUE/FALSE, NA, quoted text and names."""

    def cell(v: Any, text: bool) -> str:
        if v is None:
            return "NA"
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        return f'"{v}"' if text else str(v)

    lines = ['"p","y","flag","lang","k"']
    for row in zip(P, Y, FLAG, LANG, K, strict=True):
        p, y, flag, lang, k = row
        fields = [str(p), str(y), cell(flag, False), cell(lang, True), cell(k, False)]
        lines.append(",".join(fields))
    (tmp / "r.csv").write_text("\n".join(lines) + "\n")
    return [tmp / "r.csv"], []


def meta_file(tmp: Path) -> Files:
    df = frame()
    df[["p", "y"]].to_csv(tmp / "preds.csv", index=False)
    df[["flag", "lang", "k"]].to_csv(tmp / "meta.csv", index=False)
    return [tmp / "preds.csv"], ["--meta", tmp / "meta.csv"]


def id_join(tmp: Path) -> Files:
    df = frame()
    df.insert(0, "id", [f"r{i}" for i in range(len(df))])
    df.drop(columns="y").to_parquet(tmp / "preds.parquet")
    df[["id", "y"]].iloc[::-1].to_csv(tmp / "labels.csv", index=False)
    return [tmp / "preds.parquet", tmp / "labels.csv"], ["--id-col", "id", "--label-col", "y"]


def shards(tmp: Path) -> Files:
    (tmp / "parts").mkdir()
    df = frame()
    df.iloc[:4].to_parquet(tmp / "parts" / "part-0.parquet")
    df.iloc[4:].to_parquet(tmp / "parts" / "part-1.parquet")
    return [tmp / "parts"], []


WRITERS: list[Callable[[Path], Files]] = [
    pandas_csv,
    pandas_parquet,
    pyarrow_parquet,
    pyarrow_csv,
    r_csv,
    meta_file,
    id_join,
    shards,
]


def _args(files: Files, column: str, fmt: str) -> list[Any]:
    paths, extra = files
    one_file = len(paths) == 1
    label = ["--label-col", "y"] if one_file else []
    preds = ["--pred-cols", "p"]
    return ["compute", *paths, *label, *preds, "-l", "mse", "--group-by", column, "-f", fmt, *extra]


@pytest.mark.parametrize("writer", WRITERS, ids=[w.__name__ for w in WRITERS])
@pytest.mark.parametrize("column", ["flag", "lang", "k"])
def test_group_values_and_missing_slices_in_every_reader(
    writer: Callable[[Path], Files], column: str, tmp_path: Path, run_cli: Any
) -> None:
    out = run_cli(_args(writer(tmp_path), column, "json"))
    assert out.exit_code == 0, out.output
    got = {
        _plain(s["slice"][column]): (s["n"], s["results"][0]["value"])
        for s in json.loads(out.stdout)["slices"]
    }
    want = expected(column)
    assert set(got) == set(want)
    for value, (n, mse) in want.items():
        assert got[value][0] == n, value
        assert got[value][1] == pytest.approx(mse, rel=1e-12), value
    if column == "flag":  # JSON booleans, never 0/1
        assert all(type(v) is bool or v is None for v in got)


@pytest.mark.parametrize("writer", [pandas_csv, pyarrow_parquet, r_csv], ids=lambda w: w.__name__)
def test_booleans_show_as_true_and_false_in_every_format(
    writer: Callable[[Path], Files], tmp_path: Path, run_cli: Any
) -> None:
    files = writer(tmp_path)
    table = run_cli(_args(files, "flag", "table"))
    assert table.exit_code == 0, table.output
    section = table.stdout.split("Losses by flag")[1].split("Worst samples")[0]
    shown = [line.split()[0] for line in section.splitlines()[3:] if line.strip()]
    assert sorted(shown) == ["(missing)", "false", "true"], section
    csv_out = run_cli(_args(files, "flag", "csv"))
    rows = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert sorted(r["flag"] for r in rows if r["scope"] == "slice") == ["", "false", "true"]
    md = run_cli(_args(files, "flag", "markdown"))
    part = md.stdout.split("Losses by flag")[1].split("Worst samples")[0]
    lines = [line for line in part.splitlines() if line.startswith("| ")][2:]
    assert sorted(line.split("|")[1].strip() for line in lines) == ["(missing)", "false", "true"]


def test_python_api_booleans_and_missing() -> None:
    got = losscli.compute("mse", P, Y, groups={"flag": FLAG})
    by_value = {s.values[0]: (s.n, s.results[0].value) for s in got.slices}
    want = expected("flag")
    assert {k: v[0] for k, v in by_value.items()} == {k: v[0] for k, v in want.items()}
    for value, (_, mse) in want.items():
        assert by_value[value][1] == pytest.approx(mse, rel=1e-12)


def test_coder_reads_reader_dictionaries_and_plain_arrays_alike() -> None:
    """A Coded column (the readers') and the same values as a plain array number the slices
    alike; True and 1 are different slices; NaN, None and blank text are one missing slice."""
    coded = SliceCoder(("g",))
    values = np.array(["a", True, 1, "  "], dtype=object)
    first = coded.codes({"g": Coded(np.array([0, 1, 2, -1, 3, 0]), values)})
    plain = coded.codes({"g": np.array([1, True, None, "b"], dtype=object)})
    keys = coded.keys
    assert len(keys) == 5
    assert [keys[i] for i in first] == [("a",), (True,), (1,), (None,), (None,), ("a",)]
    assert [keys[i] for i in plain] == [(1,), (True,), (None,), ("b",)]
    assert type(keys[first[1]][0]) is bool and type(keys[first[2]][0]) is int


def test_coded_columns_slice_and_read_as_arrays() -> None:
    c = Coded(np.array([1, -1, 0, 1]), np.array(["x", "y"], dtype=object))
    assert len(c) == 4
    assert np.asarray(c).tolist() == ["y", None, "x", "y"]
    assert np.asarray(c[np.array([True, False, True, False])]).tolist() == ["y", "x"]
    assert np.concatenate([c[:1], c[2:]]).tolist() == ["y", "x", "y"]


def test_boolean_group_column_through_the_installed_entry_point(tmp_path: Path) -> None:
    paths, _ = pandas_csv(tmp_path)
    cmd = [str(a) for a in [ENTRY_POINT, *_args((paths, []), "flag", "json")[0:]]]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    slices = {_plain(s["slice"]["flag"]): s["n"] for s in json.loads(proc.stdout)["slices"]}
    assert slices == {True: 4, False: 3, None: 2}  # counted by hand from FLAG


def test_joined_reader_batches_stay_coded() -> None:
    """Readers' small batches joined into engine chunks (io.sources.rechunked) keep a group
    column coded: each part's codes shifted to its values."""
    from losscli.io.sources import rechunked

    parts = [
        {"g": Coded(np.array([0, 1, -1]), np.array(["x", "y"], dtype=object))},
        {"g": Coded(np.array([1, 0]), np.array([True, "x"], dtype=object))},
    ]
    (chunk,) = list(rechunked(iter(parts), 10))
    assert isinstance(chunk["g"], Coded)
    assert np.asarray(chunk["g"]).tolist() == ["x", "y", None, "x", True]


def test_joining_cut_chunks_keeps_one_entry_per_value() -> None:
    """A part cut from a joined chunk keeps the chunk's whole dictionary; joining again must
    not pile dictionaries up (they would grow with the rows)."""
    from losscli.io.sources import rechunked

    values = np.array([f"s{i}" for i in range(50)], dtype=object)
    rng = np.random.default_rng(5)
    parts = [{"g": Coded(rng.integers(0, 50, 30), values)} for _ in range(40)]
    chunks = list(rechunked(iter(parts), 70))
    assert all(len(c["g"].values) <= 50 for c in chunks)
    joined = np.concatenate([np.asarray(c["g"]) for c in chunks])
    assert joined.tolist() == np.concatenate([np.asarray(p["g"]) for p in parts]).tolist()
