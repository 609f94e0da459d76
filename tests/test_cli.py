"""Happy paths of the command line: values, output formats, options, help, version, entry points.

Reference numbers:
- seed example (sample_data/seed_*.csv): from ../shared/REFERENCES.md, computed with
  torch ``mse_loss`` (0.1366666667), scikit-learn ``log_loss`` (0.4149315996) and scikit-learn
  ``hinge_loss`` (0.2333333333), scikit-learn 1.9.1.
- images / house prices / distributions: sample_data/README.md, computed independently with
  plain NumPy by sample_data/make_sample_data.py; some are recomputed below with NumPy.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import CLI_ENV, ROOT, SAMPLE
from typer.testing import Result

from losscli.losses import REGISTRY

RunCli = Callable[..., Result]
Write = Callable[..., Path]

SEED_PREDS = SAMPLE / "seed_preds.csv"
SEED_LABELS = SAMPLE / "seed_labels.csv"
SEED_SCORES = SAMPLE / "seed_scores.csv"
IMAGES = [SAMPLE / "images_logits.csv", SAMPLE / "images_labels.csv", "--id-col", "image_id"]
HOUSES = [SAMPLE / "house_prices_preds.parquet", SAMPLE / "house_prices_labels.parquet"]

# REFERENCES.md (torch mse_loss; sklearn log_loss; sklearn hinge_loss, scikit-learn 1.9.1).
SEED_MSE = 0.1366666667
SEED_CE = 0.4149315996
SEED_HINGE = 0.2333333333


def run_json(run_cli: RunCli, args: list[Any]) -> dict[str, Any]:
    result = run_cli([*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def values(doc: dict[str, Any]) -> list[float]:
    return [r["value"] for r in doc["results"]]


def loss_row(stdout: str, loss: str) -> list[str]:
    """The cells of a loss's row in the table output's summary table."""
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 1 and cells[0] == loss:
            return cells
    raise AssertionError(f"no row for {loss!r} in\n{stdout}")


def worst_rows(stdout: str) -> list[list[str]]:
    """Body rows of the 'Worst samples' table in the table output."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Worst samples by"))
    body = lines[start + 3 :]  # title, header, rule
    return [[c.strip() for c in line.split("│")] for line in body if "│" in line]


def images_arrays() -> tuple[list[str], np.ndarray, np.ndarray]:
    """(ids, logits (200, 5), label indices aligned with the logits) read with the csv module."""
    with (SAMPLE / "images_logits.csv").open() as fh:
        rows = list(csv.reader(fh))
    classes = rows[0][1:]
    ids = [r[0] for r in rows[1:]]
    logits = np.array([[float(x) for x in r[1:]] for r in rows[1:]])
    with (SAMPLE / "images_labels.csv").open() as fh:
        by_id = {r["image_id"]: r["label"] for r in csv.DictReader(fh)}
    labels = np.array([classes.index(by_id[i]) for i in ids])
    return ids, logits, labels


def numpy_ce(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample cross-entropy from logits: logsumexp(z) - z[y]."""
    z = logits - logits.max(axis=1, keepdims=True)
    return np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(labels)), labels]


def house_arrays() -> tuple[np.ndarray, np.ndarray]:
    preds = pq.read_table(HOUSES[0]).column("pred").to_numpy()
    labels = pq.read_table(HOUSES[1]).column("price").to_numpy()
    return preds, labels


# --------------------------------------------------------------------------- acceptance values


def test_seed_mse_and_ce_table(run_cli: RunCli) -> None:
    result = run_cli(["compute", SEED_PREDS, SEED_LABELS, "--loss", "mse", "--loss", "ce"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert loss_row(result.stdout, "mse")[1] == f"{SEED_MSE:.10g}"
    assert loss_row(result.stdout, "ce")[1] == f"{SEED_CE:.10g}"
    assert loss_row(result.stdout, "mse")[2] == "3"
    assert "\x1b[" not in result.stdout  # no colour codes off a terminal


def test_seed_hinge_on_scores(run_cli: RunCli) -> None:
    result = run_cli(["compute", SEED_SCORES, SEED_LABELS, "--loss", "hinge"])
    assert result.exit_code == 0, result.stderr
    assert loss_row(result.stdout, "hinge")[1] == f"{SEED_HINGE:.10g}"


def test_seed_values_in_json_match_the_references(run_cli: RunCli) -> None:
    doc = run_json(run_cli, ["compute", SEED_PREDS, SEED_LABELS, "--loss", "mse", "--loss", "ce"])
    assert values(doc) == pytest.approx([SEED_MSE, SEED_CE], abs=1e-10)
    doc = run_json(run_cli, ["compute", SEED_SCORES, SEED_LABELS, "--loss", "hinge"])
    assert values(doc) == pytest.approx([SEED_HINGE], abs=1e-10)


def test_images_ce_matches_numpy(run_cli: RunCli) -> None:
    _, logits, labels = images_arrays()
    doc = run_json(run_cli, ["compute", *IMAGES, "--loss", "ce"])
    assert doc["n_samples"] == 200
    assert doc["results"][0]["value"] == pytest.approx(numpy_ce(logits, labels).mean(), rel=1e-12)
    assert doc["results"][0]["value"] == pytest.approx(0.6350258824, abs=1e-10)  # README


def test_house_prices_match_numpy(run_cli: RunCli) -> None:
    preds, labels = house_arrays()
    d = np.abs(preds - labels)
    huber_half = np.where(d < 0.5, 0.5 * d * d, 0.5 * (d - 0.25)).mean()
    specs = shlex.split("--loss mse --loss mae --loss huber --loss huber:delta=0.5 --loss rmse")
    doc = run_json(run_cli, ["compute", *HOUSES, *specs])
    huber_one = np.where(d < 1, 0.5 * d * d, d - 0.5).mean()
    expected = [np.mean(d**2), d.mean(), huber_one, huber_half, np.sqrt(np.mean(d**2))]
    assert values(doc) == pytest.approx(expected, rel=1e-12)
    # sample_data/README.md: mse 5.027256808, mae 0.5182916, huber (delta=1) 0.3100500934
    assert values(doc)[:3] == pytest.approx([5.027256808, 0.5182916, 0.3100500934], abs=1e-9)


# --------------------------------------------------------------------------- JSON / CSV / Markdown


def test_json_document(run_cli: RunCli) -> None:
    options = shlex.split("--loss CE --loss mse --loss log_loss --precision 3")
    args = ["compute", SEED_PREDS, SEED_LABELS, *options]
    doc = run_json(run_cli, args)
    assert doc["schema_version"] == 1
    assert doc["n_samples"] == 3
    # In --loss order, each labelled by the spec exactly as written.
    assert [r["loss"] for r in doc["results"]] == ["CE", "mse", "log_loss"]
    ce, mse, log_loss = values(doc)
    assert all(type(v) is float for v in values(doc))
    # Full precision whatever --precision says: not the 10-digit (or 3-digit) rounding.
    assert mse == pytest.approx(0.41 / 3, abs=1e-15)
    assert ce == pytest.approx(-(np.log(0.9) + np.log(0.8) + np.log(0.4)) / 3, abs=1e-15)
    assert log_loss == ce
    assert [r["n"] for r in doc["results"]] == [3, 3, 3]


def test_same_loss_twice_with_different_params(run_cli: RunCli) -> None:
    args = ["compute", *IMAGES, "--loss", "ce", "--loss", "ce:label_smoothing=0.1"]
    doc = run_json(run_cli, args)
    plain, smoothed = doc["results"]
    assert plain["loss"] == "ce"
    assert smoothed["loss"] == "ce:label_smoothing=0.1"
    assert smoothed["params"] == {"label_smoothing": 0.1}
    _, logits, labels = images_arrays()
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    # torch: (1 - eps) * nll + eps * mean over classes of -log p.
    expected = (0.9 * -logp[np.arange(200), labels] - 0.1 * logp.mean(axis=1)).mean()
    assert plain["value"] == pytest.approx(numpy_ce(logits, labels).mean(), rel=1e-12)
    assert smoothed["value"] == pytest.approx(expected, rel=1e-12)

    table = run_cli(args)
    assert table.exit_code == 0, table.stderr
    assert loss_row(table.stdout, "ce")[1] == f"{plain['value']:.10g}"
    assert loss_row(table.stdout, "ce:label_smoothing=0.1")[1] == f"{smoothed['value']:.10g}"


def test_csv_format(run_cli: RunCli) -> None:
    args = ["compute", SEED_PREDS, SEED_LABELS, "--loss", "mse", "--loss", "ce"]
    result = run_cli([*args, "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["loss"] for r in rows] == ["mse", "ce"]
    assert {"loss", "value", "n", "std", "ci_low", "ci_high", "reduction"} <= set(rows[0])
    doc = run_json(run_cli, args)
    # Full precision, and the same numbers as the JSON document.
    assert [float(r["value"]) for r in rows] == values(doc)
    assert [int(r["n"]) for r in rows] == [3, 3]
    assert [r["reduction"] for r in rows] == ["mean", "mean"]
    for r, res in zip(rows, doc["results"], strict=True):
        assert float(r["ci_low"]) < float(r["value"]) < float(r["ci_high"])
        assert float(r["std"]) == pytest.approx(res["std"], rel=1e-15)


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every pipe table in a Markdown text, as rows of cells (header first, alignment dropped)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|") and line.endswith("|"):
            cells = [c.strip() for c in line[1:-1].split(" | ")]
            if not all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def test_markdown_format(run_cli: RunCli) -> None:
    args = ["compute", SEED_PREDS, SEED_LABELS, "--loss", "mse", "--loss", "ce", "--top", "2"]
    result = run_cli([*args, "--format", "markdown"])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "3 samples" in text.splitlines()[0]
    summary, worst = markdown_tables(text)
    assert summary[0][:2] == ["loss", "value"]
    assert summary[1][:3] == ["`mse`", f"{SEED_MSE:.10g}", "3"]
    assert summary[2][:3] == ["`ce`", f"{SEED_CE:.10g}", "3"]
    assert len({len(row) for row in summary}) == 1
    assert "Worst samples by `mse`" in text
    # Worst rows by mse: row 2 (0.4 vs 1, 0.36) then row 1 (0.2 vs 0, 0.04).
    assert [row[0] for row in worst[1:]] == ["2", "1"]
    assert worst[1][worst[0].index("`mse`")] == "0.36"
    assert re.search(r"^\| (---:?|:?---) \|", text, re.MULTILINE)


def test_precision(run_cli: RunCli) -> None:
    args = ["compute", SEED_PREDS, SEED_LABELS, "--loss", "mse", "--loss", "ce"]
    result = run_cli([*args, "--precision", "3"])
    assert result.exit_code == 0, result.stderr
    assert loss_row(result.stdout, "mse")[1] == "0.137"
    assert loss_row(result.stdout, "ce")[1] == "0.415"
    result = run_cli([*args, "--precision", "15", "--format", "markdown"])
    assert f"| `mse` | {0.41 / 3:.15g} |" in result.stdout


def test_top_zero_hides_the_worst_samples(run_cli: RunCli) -> None:
    args = ["compute", *IMAGES, "--loss", "ce", "--top", "0"]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    assert "Worst samples" not in result.stdout
    assert loss_row(result.stdout, "ce")  # the summary is still there
    assert run_json(run_cli, args)["worst"] == []


def test_top_three_shows_the_three_worst(run_cli: RunCli) -> None:
    ids, logits, labels = images_arrays()
    per_sample = numpy_ce(logits, labels)
    expected = [ids[i] for i in np.argsort(-per_sample)[:3]]
    args = ["compute", *IMAGES, "--loss", "ce", "--loss", "hinge", "--top", "3"]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    rows = worst_rows(result.stdout)
    assert [r[0] for r in rows] == expected
    doc = run_json(run_cli, args)
    assert [w["id"] for w in doc["worst"]] == expected
    assert [w["losses"][0] for w in doc["worst"]] == pytest.approx(
        sorted(per_sample, reverse=True)[:3], rel=1e-12
    )


# --------------------------------------------------------------------------- per-sample files


def read_per_sample(path: Path) -> dict[str, list[Any]]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pydict()
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: [r[k] for r in rows] for k in rows[0]}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_per_sample_seed(suffix: str, tmp_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / f"seed{suffix}"
    specs = ["--loss", "mse", "--loss", "ce"]
    doc = run_json(run_cli, ["compute", SEED_PREDS, SEED_LABELS, *specs, "--per-sample", out])
    table = read_per_sample(out)
    assert list(table) == ["row", "label", "mse", "ce"]
    assert [int(x) for x in table["row"]] == [0, 1, 2]
    assert [float(x) for x in table["label"]] == [1.0, 0.0, 1.0]
    mse = np.array(table["mse"], dtype=float)
    ce = np.array(table["ce"], dtype=float)
    assert mse == pytest.approx([0.01, 0.04, 0.36], rel=1e-12)
    assert ce == pytest.approx(-np.log([0.9, 0.8, 0.4]), rel=1e-12)
    assert [mse.mean(), ce.mean()] == pytest.approx(values(doc), rel=1e-12)
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary left


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_per_sample_with_ids(suffix: str, tmp_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / f"images{suffix}"
    specs = ["ce", "ce:label_smoothing=0.1", "hinge"]
    args = ["compute", *IMAGES, *(x for s in specs for x in ("--loss", s)), "--per-sample", out]
    doc = run_json(run_cli, args)
    table = read_per_sample(out)
    assert set(table) >= {"id", "label", *specs}
    assert len(table["id"]) == 200
    ids, logits, labels = images_arrays()
    assert [str(x) for x in table["id"]] == ids  # in the predictions file's order
    ce = np.array(table["ce"], dtype=float)
    assert ce == pytest.approx(numpy_ce(logits, labels), rel=1e-9)
    for spec, value in zip(specs, values(doc), strict=True):
        assert np.mean(np.array(table[spec], dtype=float)) == pytest.approx(value, rel=1e-12)


def test_per_sample_regression_parquet(tmp_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / "houses.parquet"
    specs = shlex.split("--loss mse --loss mae --loss huber:delta=0.5")
    doc = run_json(run_cli, ["compute", *HOUSES, *specs, "--per-sample", out])
    table = pq.read_table(out)
    assert table.num_rows == 500 == doc["n_samples"]
    _, labels = house_arrays()
    assert table.column("label").to_numpy() == pytest.approx(labels)
    assert table.column("row").to_pylist() == list(range(500))
    for spec, value in zip(["mse", "mae", "huber:delta=0.5"], values(doc), strict=True):
        assert table.column(spec).to_numpy().mean() == pytest.approx(value, rel=1e-12)


# --------------------------------------------------------------------------- alignment, reduction


def test_id_col_matches_row_aligned_files(write: Write, run_cli: RunCli) -> None:
    # images_labels.csv is shuffled; write the labels in the predictions' order, without ids.
    ids, _, _ = images_arrays()
    with (SAMPLE / "images_labels.csv").open() as fh:
        by_id = {r["image_id"]: r["label"] for r in csv.DictReader(fh)}
    aligned = write("aligned_labels.csv", {"label": [by_id[i] for i in ids]})
    specs = ["--loss", "ce", "--loss", "hinge", "--loss", "kl"]
    by_id_doc = run_json(run_cli, ["compute", *IMAGES, *specs])
    by_row_doc = run_json(run_cli, ["compute", IMAGES[0], aligned, *specs])
    assert values(by_id_doc) == pytest.approx(values(by_row_doc), rel=1e-12)
    # Without --id-col the shuffled file gives a different (wrong) value.
    shuffled = run_json(run_cli, ["compute", IMAGES[0], IMAGES[1], "--label-col", "label", *specs])
    assert shuffled["results"][0]["value"] > 2 * by_id_doc["results"][0]["value"]


def test_id_col_small_shuffled(write: Write, run_cli: RunCli) -> None:
    preds = write("p.csv", {"key": [10, 20, 30, 40], "p": [0.5, 1.5, 2.0, 4.0]})
    labels = write("l.csv", {"y": [4.5, 1.0, 2.5, 0.0], "key": [40, 10, 30, 20]})
    doc = run_json(run_cli, ["compute", preds, labels, "--id-col", "key", "--loss", "mae"])
    # key 10: |0.5-1|, 20: |1.5-0|, 30: |2-2.5|, 40: |4-4.5|
    assert values(doc) == pytest.approx([(0.5 + 1.5 + 0.5 + 0.5) / 4], rel=1e-12)


def test_reduction_sum_is_mean_times_n(run_cli: RunCli) -> None:
    specs = ["--loss", "mse", "--loss", "mae", "--loss", "huber:delta=0.5"]
    mean = run_json(run_cli, ["compute", *HOUSES, *specs])
    total = run_json(run_cli, ["compute", *HOUSES, *specs, "--reduction", "sum"])
    assert values(total) == pytest.approx([500 * v for v in values(mean)], rel=1e-12)
    assert [r["reduction"] for r in total["results"]] == ["sum"] * 3
    ce_mean = run_json(run_cli, ["compute", *IMAGES, "--loss", "ce"])
    ce_sum = run_json(run_cli, ["compute", *IMAGES, "--loss", "ce", "--reduction", "sum"])
    assert values(ce_sum) == pytest.approx([200 * values(ce_mean)[0]], rel=1e-12)


# --------------------------------------------------------------------------- streaming


def _houses_as(fmt: str, write: Write) -> list[Any]:
    preds, labels = house_arrays()
    if fmt == "npy":
        return [write("hp.npy", preds), write("hl.npy", labels)]
    return [write(f"hp.{fmt}", {"pred": list(preds)}), write(f"hl.{fmt}", {"price": list(labels)})]


SEG = [SAMPLE / "seg_logits.npy", SAMPLE / "seg_labels.npy"]
DIST = [SAMPLE / "dist_preds.npy", SAMPLE / "dist_labels.npy"]
STREAMING: dict[str, Callable[[Write], list[Any]]] = {
    "csv-id-col": lambda w: [*IMAGES, *shlex.split("-l ce -l ce:label_smoothing=0.1 -l hinge")],
    "csv-rows": lambda w: [*_houses_as("csv", w), *shlex.split("-l mse -l rmse")],
    "parquet": lambda w: [*HOUSES, *shlex.split("-l mse -l rmse -l huber:delta=0.5")],
    "npy-regression": lambda w: [*_houses_as("npy", w), *shlex.split("-l mse -l mae")],
    "npy-dense": lambda w: [*SEG, "-l", "ce:ignore_index=255"],
    "npy-distributions": lambda w: [*DIST, *shlex.split("-l kl -l ce")],
}


@pytest.mark.parametrize("case", list(STREAMING))
def test_chunk_rows_gives_the_same_values(case: str, write: Write, run_cli: RunCli) -> None:
    args = ["compute", *STREAMING[case](write), "--top", "4"]
    whole = run_json(run_cli, args)
    for chunk_rows in ("2", "7"):
        streamed = run_json(run_cli, [*args, "--chunk-rows", chunk_rows])
        assert values(streamed) == pytest.approx(values(whole), rel=1e-12), chunk_rows
        assert streamed["n_samples"] == whole["n_samples"]
        assert streamed["task"] == whole["task"]
        worst = [(w["row"], w["id"]) for w in whole["worst"]]
        assert [(w["row"], w["id"]) for w in streamed["worst"]] == worst


# --------------------------------------------------------------------------- columns


def test_pred_cols_and_label_col(write: Write, run_cli: RunCli) -> None:
    preds = write("p.csv", {"id": [1, 2, 3], "a": [0.9, 0.2, 0.4], "b": [5, 6, 7], "note": "xyz"})
    labels = write("l.csv", {"id": [1, 2, 3], "y": [1, 0, 1], "other": [3.0, 2.0, 1.0]})
    options = shlex.split("--pred-cols a --label-col y --loss mse")
    doc = run_json(run_cli, ["compute", preds, labels, *options])
    assert values(doc) == pytest.approx([SEED_MSE], abs=1e-10)
    assert doc["inputs"]["predictions"]["columns"] == ["a"]
    assert doc["inputs"]["labels"]["columns"] == ["y"]
    options = shlex.split("--pred-cols b --label-col other --loss mse")
    doc = run_json(run_cli, ["compute", preds, labels, *options])
    assert values(doc) == pytest.approx([(4 + 16 + 36) / 3], rel=1e-12)


def test_pred_cols_order_does_not_change_class_name_matching(run_cli: RunCli) -> None:
    specs = ["--loss", "ce", "--loss", "hinge"]
    base = run_json(run_cli, ["compute", *IMAGES, *specs])
    order = "horse, fish,bird,dog,cat"
    reordered = run_json(run_cli, ["compute", *IMAGES, *specs, "--pred-cols", order])
    assert values(reordered) == pytest.approx(values(base), rel=1e-12)
    assert reordered["classes"] == ["horse", "fish", "bird", "dog", "cat"]


def test_soft_label_columns_by_name(write: Write, run_cli: RunCli) -> None:
    preds = np.load(SAMPLE / "dist_preds.npy")
    labels = np.load(SAMPLE / "dist_labels.npy")
    names = ["c0", "c1", "c2", "c3"]
    p = write("dp.csv", {n: [repr(float(x)) for x in preds[:, i]] for i, n in enumerate(names)})
    columns = {n: [repr(float(x)) for x in labels[:, i]] for i, n in enumerate(names)}
    y = write("dl.csv", {"id": list(range(100)), **columns})
    label_cols = [x for n in ["c3", "c1", "c0", "c2"] for x in ("--label-col", n)]
    doc = run_json(run_cli, ["compute", p, y, *label_cols, "--loss", "kl"])
    # sample_data/README.md: KL summed over classes, averaged over rows (torch batchmean).
    assert values(doc) == pytest.approx([0.1033595327], abs=1e-10)
    assert doc["inputs"]["labels"]["columns"] == names


# --------------------------------------------------------------------------- help, version, list


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--help"], r"Usage: losscli \[OPTIONS\] COMMAND"),
        (["-h"], r"Usage: losscli \[OPTIONS\] COMMAND"),
        (["compute", "--help"], r"Usage: losscli compute \[OPTIONS\]"),
        (["losses", "--help"], r"Usage: losscli losses \[OPTIONS\]"),
    ],
)
def test_help(args: list[str], expected: str, run_cli: RunCli) -> None:
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    assert re.search(expected, result.stdout)
    if args[0] == "compute":
        options = "--loss --logits --probs --reduction --id-col --format --per-sample --nan"
        for option in options.split():
            assert option in result.stdout
        assert "--chunk-rows" not in result.stdout  # hidden
    if args[0] in ("--help", "-h"):
        assert "compute" in result.stdout
        assert "losses" in result.stdout


def test_version(run_cli: RunCli) -> None:
    result = run_cli(["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"losscli {version('losscli')}\n"


@pytest.mark.parametrize("columns", ["80", "100"])
def test_losses_lists_every_name_and_alias(columns: str, run_cli: RunCli) -> None:
    result = run_cli(["losses"], env={"COLUMNS": columns})
    assert result.exit_code == 0, result.stderr
    words = set(re.findall(r"[\w.]+", result.stdout))
    missing = sorted(name for name in REGISTRY if name not in words)
    assert not missing, f"not listed in full at {columns} columns: {missing}"


# --------------------------------------------------------------------------- real processes


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    return env


ENTRY_POINT = Path(sys.executable).parent / "losscli"


def run_process(*args: Any) -> subprocess.CompletedProcess[str]:
    """A real process, from the repository root, with the plain test environment."""
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=60,
        check=False,
    )


def test_entry_point_success() -> None:
    seed = ["sample_data/seed_preds.csv", "sample_data/seed_labels.csv"]
    proc = run_process(ENTRY_POINT, "compute", *seed, "-l", "mse", "-l", "ce", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    doc = json.loads(proc.stdout)
    assert values(doc) == pytest.approx([SEED_MSE, SEED_CE], abs=1e-10)
    assert doc["inputs"]["predictions"]["path"] == "sample_data/seed_preds.csv"


def test_entry_point_error() -> None:
    seed = ["sample_data/seed_preds.csv", "sample_data/seed_labels.csv"]
    proc = run_process(ENTRY_POINT, "compute", *seed, "--loss", "hubber")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert re.search(r"unknown loss 'hubber'\. Did you mean 'huber'", proc.stderr)
    assert "Traceback" not in proc.stderr


def test_entry_point_table_on_a_pipe() -> None:
    seed = ["sample_data/seed_scores.csv", "sample_data/seed_labels.csv"]
    proc = run_process(ENTRY_POINT, "compute", *seed, "--loss", "hinge")
    assert proc.returncode == 0, proc.stderr
    assert loss_row(proc.stdout, "hinge")[1] == f"{SEED_HINGE:.10g}"
    assert "\x1b[" not in proc.stdout


def test_python_m_losscli_version() -> None:
    proc = run_process(sys.executable, "-m", "losscli", "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"losscli {version('losscli')}\n"


def test_compute_reads_standard_input_with_a_format() -> None:
    # Through the installed entry point: a real pipe, as a user would write it.
    exe = Path(sys.executable).parent / "losscli"
    data = SEED_PREDS.read_bytes()
    args = [str(exe), "compute", "-", str(SEED_LABELS), "--loss", "mse", "--format", "json"]
    ok = subprocess.run(
        [*args, "--preds-format", "csv"], input=data, capture_output=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["inputs"]["predictions"]["path"] == "<stdin>"
    # REFERENCES.md: MSE of the article's example, torch mse_loss 0.1366666667.
    assert result["results"][0]["value"] == pytest.approx(0.1366666667, abs=5e-11)
    missing = subprocess.run(args, input=data, capture_output=True, check=False)
    assert missing.returncode == 2
    assert missing.stdout == b""
    assert b"needs --preds-format" in missing.stderr
