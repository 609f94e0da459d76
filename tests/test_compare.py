"""``losscli compare`` (the statistics behind it: tests/test_stats.py).

Reference numbers: per-sample losses recomputed with NumPy (tests/ci_data.py); paired
intervals and p-values from ``scipy.stats.ttest_rel``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ci_data import cli, json_of, log_loss, squared_error, write_column, write_models
from scipy import stats

from losscli.ci.compare import align, compare_models
from losscli.engine.run import Samples
from losscli.losses import Reduce
from losscli.report.render import COMMENT_LIMIT, compare_markdown

MODELS = ("base", "better", "worse")


@pytest.fixture
def data(tmp_path: Path) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, Path]]:
    return write_models(tmp_path)


def compare(
    paths: dict[str, Path],
    *args: Any,
    models: tuple[str, ...] = MODELS,
    env: dict[str, str | None] | None = None,
) -> Any:
    return cli(
        ["compare", *(paths[m] for m in models), "--labels", paths["labels"], *args], env=env
    )


def test_model_names_are_the_shortest_unique_paths() -> None:
    from losscli.ci.compare import model_names

    assert model_names(["runs/a/preds.csv", "runs/b/preds.csv", "x.csv"]) == [
        "a/preds.csv",
        "b/preds.csv",
        "x.csv",
    ]
    assert model_names(["/tmp/m/a.csv", "/tmp/n/b.csv"]) == ["a.csv", "b.csv"]


def test_align_pairs_samples_by_key() -> None:
    a, b = np.array(["x", "y", "z"]), np.array(["z", "w", "x"])
    ia, ib = align([a, b])
    assert ia is not None and ib is not None
    assert list(a[ia]) == list(b[ib]) == ["x", "z"]
    assert align([a, a.copy()]) == [None, None]


def test_markdown_is_cut_to_the_comment_limit_sample_list_first() -> None:
    n = 2000
    keys = np.array([f"sample-{i:05d}-" + "x" * 200 for i in range(n)])
    rng = np.random.default_rng(0)
    samples = [Samples(keys, [v], [None], [v]) for v in (rng.random(n), rng.random(n))]
    cmp = compare_models(
        ["a.csv", "b.csv"],
        "labels.csv",
        [("mse", Reduce.MEAN)],
        [[float(s.values[0].mean())] for s in samples],
        samples,
        top=n,
    )
    assert len(cmp.disagreements) == n
    text = compare_markdown(cmp, 6)
    assert len(text) <= COMMENT_LIMIT
    assert "shortened to fit a comment" in text
    assert "| `mse` |" in text  # the tables survive; only the sample list was cut
    assert len(compare_markdown(cmp, 6, limit=300)) <= 300


# --------------------------------------------------------------------------- the command


def test_three_models_table(data: Any) -> None:
    y, p, paths = data
    result = compare(paths, "--loss", "ce", "--loss", "mse", "--top", "3")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    header = next(line for line in out.splitlines() if line.startswith("loss ┃"))
    assert [c.strip() for c in header.split("┃")][1:] == [f"{m}.csv" for m in MODELS]
    best = log_loss(p["better"], y).mean()
    assert re.search(rf"ce\s+│.*{best:.6g} ★", out)
    assert "Samples where the models disagree most (by ce)" in out


def test_json_values_differences_and_shares(data: Any) -> None:
    y, p, paths = data
    doc = json_of(compare(paths, "--loss", "ce", "--loss", "mse", "--format", "json"))
    assert doc["models"] == [f"{m}.csv" for m in MODELS]
    assert doc["paths"] == [str(paths[m]) for m in MODELS]
    assert doc["n_paired"] == len(y)
    for entry, per_sample in zip(doc["losses"], (log_loss, squared_error), strict=True):
        losses = [per_sample(p[m], y) for m in MODELS]
        assert entry["values"] == pytest.approx([v.mean() for v in losses], rel=1e-12)
        assert entry["best"] == "better.csv"
        assert entry["vs_first"][0] is None
        for other, diff in zip(losses[1:], entry["vs_first"][1:], strict=True):
            ref = stats.ttest_rel(other, losses[0])
            ci = ref.confidence_interval(0.95)
            assert diff["diff"] == pytest.approx(other.mean() - losses[0].mean(), rel=1e-9)
            assert diff["p_value"] == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
            assert (diff["ci_low"], diff["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-8)
            assert diff["share_better"] == np.mean(other < losses[0])
            assert diff["share_worse"] == np.mean(other > losses[0])


def test_disagreements_are_the_largest_spreads(data: Any) -> None:
    y, p, paths = data
    doc = json_of(compare(paths, "--loss", "ce", "--top", "5", "--format", "json"))
    losses = np.column_stack([log_loss(p[m], y) for m in MODELS])
    spread = losses.max(axis=1) - losses.min(axis=1)
    top = np.argsort(-spread, kind="stable")[:5]
    got = doc["disagreements"]["samples"]
    assert [int(s["key"]) for s in got] == list(top)
    assert [s["spread"] for s in got] == pytest.approx(list(spread[top]), rel=1e-12)
    assert doc["disagreements"]["key"] == "row"


def test_markdown_is_a_table_with_right_aligned_numbers(data: Any) -> None:
    _, _, paths = data
    result = compare(paths, "--loss", "ce", "--loss", "mse", "--format", "markdown")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    head = [i for i, line in enumerate(lines) if line.startswith("| loss |")]
    assert len(head) == 2
    assert lines[head[0] + 1] == "| --- | ---: | ---: | ---: |"
    assert lines[head[1] + 1] == "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    assert re.fullmatch(
        r"\| `ce` \| [0-9.]+ \| \*\*[0-9.]+ ★\*\* \| [0-9.]+ \|", lines[head[0] + 2]
    )
    for i in head:  # every row of a table has the header's number of cells
        width = lines[i].count(" | ")
        j = i + 1
        while j < len(lines) and lines[j].startswith("|"):
            assert lines[j].count(" | ") == width
            j += 1
    assert len(result.stdout) < COMMENT_LIMIT


def test_rows_are_paired_by_id(tmp_path: Path, data: Any) -> None:
    """Shuffled files with an id column give the same comparison as the files in order."""
    y, p, paths = data
    ids = [f"s{i:03d}" for i in range(len(y))]
    order = np.random.default_rng(1).permutation(len(y))
    files = {"labels": write_column(tmp_path / "id" / "labels.csv", "y", [int(v) for v in y], ids)}
    for m in MODELS:
        idx = order if m == "worse" else np.arange(len(y))
        files[m] = write_column(
            tmp_path / "id" / f"{m}.csv", "p", list(p[m][idx]), [ids[i] for i in idx]
        )
    by_id = json_of(compare(files, "--loss", "ce", "--id-col", "id", "--format", "json"))
    in_order = json_of(compare(paths, "--loss", "ce", "--format", "json"))
    a, b = by_id["losses"][0], in_order["losses"][0]
    assert a["values"] == pytest.approx(b["values"], rel=1e-12)
    assert a["vs_first"][2]["ci_low"] == pytest.approx(b["vs_first"][2]["ci_low"], rel=1e-9)
    assert by_id["disagreements"]["key"] == "id"


def test_only_samples_present_for_every_model_are_paired(tmp_path: Path, data: Any) -> None:
    y, p, paths = data
    holes = p["worse"].copy()
    holes[[0, 5, 9]] = np.nan
    files = dict(paths, worse=write_column(tmp_path / "holes.csv", "p", list(holes)))
    doc = json_of(compare(files, "--loss", "ce", "--nan", "skip", "--format", "json"))
    assert doc["n_samples"] == [len(y), len(y), len(y) - 3]
    assert doc["n_paired"] == len(y) - 3
    keep = np.ones(len(y), bool)
    keep[[0, 5, 9]] = False
    diff = doc["losses"][0]["vs_first"][2]
    ref = stats.ttest_rel(log_loss(p["worse"], y)[keep], log_loss(p["base"], y)[keep])
    assert diff["p_value"] == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)


def test_outputs_summary_and_stdin(tmp_path: Path, data: Any) -> None:
    _, _, paths = data
    summary = tmp_path / "summary.md"
    result = cli(
        [
            "compare",
            paths["base"],
            "-",
            "--labels",
            paths["labels"],
            "--loss",
            "ce",
            "--preds-format",
            "csv",
            "-o",
            tmp_path / "c.md",
            "-o",
            tmp_path / "c.json",
            "-o",
            tmp_path / "c.txt",
        ],
        env={"GITHUB_STEP_SUMMARY": str(summary)},
        input=paths["better"].read_bytes(),
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "c.json").read_text())["models"] == ["base.csv", "<stdin>"]
    assert (tmp_path / "c.md").read_text() == summary.read_text().rstrip("\n") + "\n"
    assert "Comparing 2 models" in (tmp_path / "c.txt").read_text()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["compare", "a.csv", "--labels", "l.csv", "--loss", "ce"], 2, "at least two"),
        (["compare", "a.csv", "b.csv", "--loss", "ce"], 2, "give --labels"),
        (["compare", "a.csv", "b.csv", "--labels", "l.csv"], 2, "at least one --loss"),
        (
            ["compare", "a.csv", "b.csv", "--labels", "l.csv", "--loss", "ce", "-o", "x.xml"],
            2,
            "cannot tell the format",
        ),
        (["compare", "a.csv", "b.csv", "--labels", "l.csv", "--loss", "ce"], 3, "no such file"),
    ],
)
def test_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli(args)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr and result.stdout == ""


def test_junit_is_not_a_compare_format(data: Any) -> None:
    _, _, paths = data
    result = compare(paths, "--loss", "ce", "--format", "junit")
    assert result.exit_code == 2
    with pytest.raises(ET.ParseError):
        ET.fromstring(result.stdout or "<")
