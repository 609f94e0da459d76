"""``compare --group-by``: paired differences of every model against the first, per slice.

Oracles: per-sample log losses recomputed with NumPy (their mean checked against
``sklearn.metrics.log_loss``), then a pandas group-by of the per-sample differences:
per slice n, both means, the mean difference, ``scipy.stats.ttest_rel`` (t, p and its 95%
interval), Holm's step-down adjustment written out below; the JSON Schema of ``losscli
schema compare``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from ci_data import cli
from conftest import CLI_ENV, ROOT, SAMPLE
from scipy import stats
from sklearn.metrics import log_loss
from stat_oracles import holm

from losscli.report.schema import compare_schema

V1, V2 = SAMPLE / "tickets_probs_v1.csv", SAMPLE / "tickets_probs_v2.csv"
LABELS = SAMPLE / "tickets_labels.csv"
TICKETS = [str(V1), str(V2), "--labels", str(LABELS), "--label-col", "intent", "--loss", "ce"]


def own_losses(preds: Path, labels: pd.DataFrame) -> np.ndarray:
    """Each ticket's log loss: −log p(true class), clipped to [eps, 1 − eps] as scikit-learn."""
    p = pd.read_csv(preds)
    y = labels["intent"].map(list(p.columns).index).to_numpy()
    eps = np.finfo(np.float64).eps
    losses = -np.log(np.clip(p.to_numpy()[np.arange(len(y)), y], eps, 1 - eps))
    with warnings.catch_warnings():  # the rows are rounded to 6 decimals: sums off by 1e-6
        warnings.filterwarnings("ignore", "The y_prob values do not sum to one")
        reference = log_loss(y, p.to_numpy(), labels=[0, 1, 2])
    assert losses.mean() == pytest.approx(reference, rel=1e-12)
    return losses


def groupby_oracle() -> pd.DataFrame:
    labels = pd.read_csv(LABELS)
    frame = pd.DataFrame(
        {"lang": labels["lang"], "a": own_losses(V1, labels), "b": own_losses(V2, labels)}
    )
    frame["d"] = frame["b"] - frame["a"]
    rows = []
    for lang, g in frame.groupby("lang"):
        ref = stats.ttest_rel(g["b"], g["a"])
        ci = ref.confidence_interval(0.95)
        rows.append(
            {
                "lang": lang,
                "n": len(g),
                "a": g["a"].mean(),
                "b": g["b"].mean(),
                "d": g["d"].mean(),
                "p": ref.pvalue,
                "low": ci.low,
                "high": ci.high,
                "better": (g["d"] < 0).mean(),
            }
        )
    out = pd.DataFrame(rows)
    out["p_holm"] = holm(out["p"].tolist())
    return out.sort_values("d", ascending=False).reset_index(drop=True)


def json_doc(*args: str) -> dict[str, Any]:
    result = cli(["compare", *TICKETS, "--group-by", "lang", "-f", "json", *args])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, compare_schema())
    return doc


@pytest.mark.parametrize("chunk", ["7", str(1 << 20)])
def test_paired_differences_per_slice_are_a_pandas_groupby(chunk: str) -> None:
    expected = groupby_oracle()
    doc = json_doc("--chunk-rows", chunk)
    assert doc["group_by"] == ["lang"]
    assert [s["slice"]["lang"] for s in doc["slices"]] == expected["lang"].tolist()  # de first
    for s, (_, e) in zip(doc["slices"], expected.iterrows(), strict=True):
        (loss,) = s["losses"]
        d = loss["vs_first"][1]
        assert loss["loss"] == "ce" and loss["vs_first"][0] is None
        assert s["n"] == d["n"] == e["n"] and not s["hidden"]
        assert loss["values"] == pytest.approx([e["a"], e["b"]], rel=1e-12)
        assert d["diff"] == pytest.approx(e["d"], rel=1e-10)
        assert d["ci_low"] == pytest.approx(e["low"], rel=1e-9)
        assert d["ci_high"] == pytest.approx(e["high"], rel=1e-9)
        assert d["p_value"] == pytest.approx(e["p"], rel=1e-8)
        assert d["p_holm"] == pytest.approx(e["p_holm"], rel=1e-8)
        assert d["share_better"] == pytest.approx(e["better"])
    de = doc["slices"][0]["losses"][0]["vs_first"][1]
    assert de["diff"] > 0 and de["p_holm"] < 0.05  # the regression the data set was made for
    assert doc["losses"][0]["vs_first"][1]["diff"] < 0  # while v2 is better overall


def test_slices_stream_identically_with_a_resampled_test() -> None:
    """Per-slice resampled sums keep each slice's samples in arrival order: chunks of 7 rows
    give the same bootstrap interval and p-value bits as one chunk."""
    args = ["--test", "bootstrap", "--bootstrap-samples", "300"]
    whole, chunked = json_doc(*args), json_doc(*args, "--chunk-rows", "7")
    for a, b in zip(chunked["slices"], whole["slices"], strict=True):
        x, y = a["losses"][0]["vs_first"][1], b["losses"][0]["vs_first"][1]
        for key in ("ci_low", "ci_high", "p_value", "se"):
            assert x[key] == y[key], key


def _crossed(folder: Path) -> dict[str, Path]:
    """Regression predictions of two models with a --meta file of two group columns (one
    value holding Markdown and a tiny slice)."""
    rng = np.random.default_rng(8)
    n = 240
    y = rng.normal(0, 1, n)
    device = np.where(np.arange(n) % 3 == 0, "ios", "web|*beta*")
    region = np.where(np.arange(n) < 120, "eu", "us").astype(object)
    region[5] = "apac"  # a slice of one row: hidden under --min-slice-size 10
    files = {
        "labels": folder / "y.csv",
        "a": folder / "a.csv",
        "b": folder / "b.csv",
        "meta": folder / "meta.csv",
    }
    pd.DataFrame({"y": y}).to_csv(files["labels"], index=False)
    pd.DataFrame({"p": y + rng.normal(0, 1, n)}).to_csv(files["a"], index=False)
    shift = np.where(device == "ios", 0.8, 0.0)
    pd.DataFrame({"p": y + shift + rng.normal(0, 1, n)}).to_csv(files["b"], index=False)
    pd.DataFrame({"device": device, "region": region}).to_csv(files["meta"], index=False)
    return files


def _crossed_args(files: dict[str, Path], *more: str) -> list[str]:
    return [
        "compare",
        str(files["a"]),
        str(files["b"]),
        "--labels",
        str(files["labels"]),
        "--loss",
        "mse",
        "--loss",
        "mae",
        "--meta",
        str(files["meta"]),
        "--group-by",
        "device",
        "--group-by",
        "region",
        "--min-slice-size",
        "10",
        *more,
    ]


def test_crossed_columns_from_meta_hidden_slices_csv_and_markdown(tmp_path: Path) -> None:
    files = _crossed(tmp_path)
    result = cli(_crossed_args(files, "-f", "json", "--chunk-rows", "16"))
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, compare_schema())
    assert doc["group_by"] == ["device", "region"]
    keys = [(s["slice"]["device"], s["slice"]["region"]) for s in doc["slices"]]
    assert keys[-1] == ("web|*beta*", "apac") and doc["slices"][-1]["hidden"]
    assert doc["slices"][-1]["n"] == 1 and doc["slices"][-1]["losses"] == []
    assert keys[0][0] == "ios"  # the shifted device regresses most
    # pandas: the (device, region) slices' mean differences of squared errors
    y = pd.read_csv(files["labels"])["y"]
    meta = pd.read_csv(files["meta"])
    frame = meta.assign(
        d=(pd.read_csv(files["b"])["p"] - y) ** 2 - (pd.read_csv(files["a"])["p"] - y) ** 2
    )
    means = frame.groupby(["device", "region"])["d"].agg(["mean", "size"])
    for s in doc["slices"][:-1]:
        e = means.loc[(s["slice"]["device"], s["slice"]["region"])]
        assert s["n"] == e["size"]
        assert s["losses"][0]["vs_first"][1]["diff"] == pytest.approx(e["mean"], rel=1e-10)
    # CSV: the overall rows, then one row per shown slice, loss and model, the hidden one once
    table = cli(_crossed_args(files, "-f", "csv"))
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert [r["scope"] for r in rows] == ["overall"] * 2 + ["slice"] * (2 * 4 + 1)
    hidden = rows[-1]
    assert (hidden["device"], hidden["region"], hidden["n"], hidden["diff"]) == (
        "web|*beta*",
        "apac",
        "1",
        "",
    )
    first = next(r for r in rows if r["scope"] == "slice")
    assert float(first["diff"]) == pytest.approx(
        doc["slices"][0]["losses"][0]["vs_first"][1]["diff"]
    )
    # Markdown: the slice value's | and * escaped, the row still has every cell
    md = cli(_crossed_args(files, "-f", "markdown")).stdout
    line = next(x for x in md.splitlines() if x.startswith("| device=web"))
    assert "web\\|\\*beta\\*" in line
    assert len(line.replace("\\|", "").strip("|").split("|")) == 10
    assert "1 slice with too few paired samples" in md


def test_ids_in_other_orders_give_the_same_slices_in_memory(tmp_path: Path) -> None:
    labels = pd.read_csv(LABELS)
    ids = [f"t{i:03d}" for i in range(len(labels))]
    order = np.random.default_rng(3).permutation(len(labels))
    labels.insert(0, "id", ids)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    for name, path in (("v1", V1), ("v2", V2)):
        p = pd.read_csv(path)
        p.insert(0, "id", ids)
        (p.iloc[order] if name == "v2" else p).to_csv(tmp_path / f"{name}.csv", index=False)
    result = cli(
        [
            "compare",
            str(tmp_path / "v1.csv"),
            str(tmp_path / "v2.csv"),
            "--labels",
            str(tmp_path / "labels.csv"),
            "--label-col",
            "intent",
            "--loss",
            "ce",
            "--id-col",
            "id",
            "--group-by",
            "lang",
            "-f",
            "json",
            "--verbose",
        ]
    )
    assert result.exit_code == 0, result.stderr
    assert "pairing the models in memory" in result.stderr
    doc, expected = json.loads(result.stdout), groupby_oracle()
    assert [s["slice"]["lang"] for s in doc["slices"]] == expected["lang"].tolist()
    for s, (_, e) in zip(doc["slices"], expected.iterrows(), strict=True):
        assert s["losses"][0]["vs_first"][1]["diff"] == pytest.approx(e["d"], rel=1e-10)
        assert s["losses"][0]["vs_first"][1]["p_value"] == pytest.approx(e["p"], rel=1e-8)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--group-by", "country"], "country"),
        (["--group-by", "lang", "--min-slice-size", "-1"], "--min-slice-size"),
    ],
)
def test_group_by_errors(extra: list[str], message: str) -> None:
    result = cli(["compare", *TICKETS, *extra])
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and result.stdout == ""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if CLI_ENV.get(k, "") is not None}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    return env


def test_installed_entry_point_compare_group_by() -> None:
    exe = str(Path(sys.executable).parent / "losscli")
    run = [exe, "compare", *TICKETS, "--group-by", "lang"]
    proc = subprocess.run(
        [*run, "-f", "csv"], capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    expected = groupby_oracle()
    assert [r["lang"] for r in rows[1:]] == expected["lang"].tolist()
    assert float(rows[1]["diff"]) == pytest.approx(expected["d"][0], rel=1e-10)
    bad = subprocess.run(
        [*run[:-1], "country"], capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=120
    )
    assert bad.returncode == 2 and bad.stdout == "" and "country" in bad.stderr
