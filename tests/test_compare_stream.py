"""``compare`` and ``check --baseline-preds`` streamed: the models are paired chunk by chunk
(paired moments, a bounded disagreement heap, resampled sums keyed by sample), and give the
numbers of the same comparison paired in memory.

Oracles: the in-memory pairing (``losscli.ci.compare.compare_models`` on every sample's terms,
collected with ``losscli.engine.run.collect``); full sorts and set intersections in NumPy for
the heap and the alignment; ``scipy.stats.ttest_rel`` numbers from the reference environment
in tests/reference/compare_cases.json (``tests/reference/generate_compare.py``, ``make
reference``).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ci_data import cli, json_of, write_column, write_models
from conftest import CLI_ENV, ROOT

from losscli.ci import paired
from losscli.ci.compare import compare_models
from losscli.engine.paired import Aligned, Disagreements, NotAligned, Samples
from losscli.engine.run import collect
from losscli.interpret.plan import Options
from losscli.io.readers import open_source
from losscli.spec import parse_specs

MODELS = ("base", "better", "worse")
LOSSES = ("ce", "mse", "rmse")
CASES = ROOT / "tests" / "reference" / "compare_cases.json"


@pytest.fixture
def data(tmp_path: Path) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, Path]]:
    return write_models(tmp_path)


def _compare(paths: dict[str, Path], models: tuple[str, ...], *args: Any) -> dict[str, Any]:
    files = [paths[m] for m in models]
    loss_args = [a for loss in LOSSES for a in ("--loss", loss)]
    return json_of(
        cli(["compare", *files, "--labels", paths["labels"], *loss_args, "-f", "json", *args])
    )


def _in_memory(paths: dict[str, Path], models: tuple[str, ...], testing: paired.Testing) -> Any:
    """The comparison with every sample's terms held in memory, then paired."""
    specs = parse_specs(list(LOSSES), "mean")
    reports, samples = [], []
    for m in models:
        report, sample = collect(
            open_source(paths[m]), open_source(paths["labels"]), specs, Options()
        )
        reports.append(report)
        samples.append(sample)
    return compare_models(
        [r.preds.path for r in reports],
        reports[0].labels.path,
        [(s.label, s.loss.reduce) for s in specs],
        [[r.value for r in rep.results] for rep in reports],
        samples,
        signatures=[[r.signature for r in rep.results] for rep in reports],
        testing=testing,
    ).to_dict()


def _same(streamed: dict[str, Any], memory: dict[str, Any], rel: float = 1e-12) -> None:
    assert streamed["n_paired"] == memory["n_paired"]
    assert streamed["n_samples"] == memory["n_samples"]
    for mine, theirs in zip(streamed["losses"], memory["losses"], strict=True):
        assert mine["values"] == pytest.approx(theirs["values"], rel=rel)
        for x, y in zip(mine["vs_first"][1:], theirs["vs_first"][1:], strict=True):
            for key, value in y.items():
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    assert x[key] is None or math.isnan(x[key]), key
                else:
                    assert x[key] == pytest.approx(value, rel=rel, abs=1e-15), key
    mine_d, theirs_d = streamed["disagreements"], memory["disagreements"]
    assert [d["key"] for d in mine_d["samples"]] == [d["key"] for d in theirs_d["samples"]]
    for a, b in zip(mine_d["samples"], theirs_d["samples"], strict=True):
        assert a["values"] == pytest.approx(b["values"], rel=1e-15)


@pytest.mark.parametrize("test", ["t", "bootstrap", "permutation"])
def test_streamed_compare_equals_the_in_memory_pairing(data: Any, test: str) -> None:
    _, _, paths = data
    testing = paired.Testing.of(test, 200, 7)
    memory = _in_memory(paths, MODELS, testing)
    args = ["--test", test, "--bootstrap-samples", "200", "--seed", "7"]
    for chunk in ("7", "64"):  # 400 rows in 58 and in 7 chunks
        _same(_compare(paths, MODELS, *args, "--chunk-rows", chunk), memory)


def test_a_model_against_itself_in_chunks_differs_by_exactly_zero(data: Any) -> None:
    _, _, paths = data
    doc = _compare(paths, ("base", "base"), "--chunk-rows", "9")
    for entry in doc["losses"]:
        diff = entry["vs_first"][1]
        assert (diff["diff"], diff["se"], diff["p_value"]) == (0.0, 0.0, 1.0)


def test_rows_skipped_per_model_are_paired_by_row_as_they_stream(tmp_path: Path, data: Any) -> None:
    """--nan skip drops different rows of each model: the sorted merge pairs the rest."""
    _, p, paths = data
    holes = {"better": [0, 5, 9, 399], "worse": [5, 6, 7, 200]}
    files = dict(paths)
    for m, rows in holes.items():
        values = p[m].copy()
        values[rows] = np.nan
        files[m] = write_column(tmp_path / f"{m}_holes.csv", "p", list(values))
    doc = _compare(files, MODELS, "--nan", "skip", "--chunk-rows", "5")
    assert doc["n_samples"] == [400, 396, 396]
    assert doc["n_paired"] == 400 - len(set(holes["better"]) | set(holes["worse"]))
    specs = parse_specs(list(LOSSES), "mean")
    options = Options(nan="skip")  # type: ignore[arg-type]
    reports, samples = [], []
    for m in MODELS:
        report, sample = collect(
            open_source(files[m]), open_source(files["labels"]), specs, options
        )
        reports.append(report)
        samples.append(sample)
    memory = compare_models(
        [r.preds.path for r in reports],
        reports[0].labels.path,
        [(s.label, s.loss.reduce) for s in specs],
        [[r.value for r in rep.results] for rep in reports],
        samples,
    ).to_dict()
    _same(doc, memory)


def _by_id(folder: Path, p: dict[str, np.ndarray], y: np.ndarray, shuffle: bool) -> dict:
    ids = [f"s{i:03d}" for i in range(len(y))]
    order = np.random.default_rng(1).permutation(len(y))
    files = {"labels": write_column(folder / "labels.csv", "y", [int(v) for v in y], ids)}
    for m in MODELS:
        idx = order if shuffle and m == "worse" else np.arange(len(y))
        files[m] = write_column(folder / f"{m}.csv", "p", list(p[m][idx]), [ids[i] for i in idx])
    return files


def test_ids_in_the_same_order_stream_and_other_orders_are_paired_in_memory(
    tmp_path: Path, data: Any
) -> None:
    y, p, paths = data
    in_order = _compare(paths, MODELS)
    for shuffle in (False, True):
        files = _by_id(tmp_path / str(shuffle), p, y, shuffle)
        loss_args = [a for loss in LOSSES for a in ("--loss", loss)]
        result = cli(
            [
                "compare",
                *(files[m] for m in MODELS),
                "--labels",
                files["labels"],
                *loss_args,
                "--id-col",
                "id",
                "--chunk-rows",
                "11",
                "-f",
                "json",
                "--verbose",
            ]
        )
        assert result.exit_code == 0, result.stderr
        assert ("pairing the models in memory" in result.stderr) is shuffle
        doc = json.loads(result.stdout)
        for a, b in zip(doc["losses"], in_order["losses"], strict=True):
            assert a["values"] == pytest.approx(b["values"], rel=1e-12)
            for x, z in zip(a["vs_first"][1:], b["vs_first"][1:], strict=True):
                assert x["se"] == pytest.approx(z["se"], rel=1e-12)
                assert x["p_value"] == pytest.approx(z["p_value"], rel=1e-9, abs=1e-300)


def test_check_with_baseline_predictions_streams_in_chunks(data: Any) -> None:
    _, _, paths = data

    def doc(chunk: str) -> dict[str, Any]:
        result = cli(
            [
                "check",
                paths["better"],
                paths["labels"],
                "--baseline-preds",
                paths["base"],
                "--loss",
                "ce",
                "--max-increase",
                "ce=0.01",
                "--significant",
                "--chunk-rows",
                chunk,
                "--format",
                "json",
            ]
        )
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    whole, chunked = doc(str(1 << 20)), doc("13")
    assert whole["n_samples"] == chunked["n_samples"] == 400
    a, b = chunked["rules"][0]["test"], whole["rules"][0]["test"]
    for key in ("increase", "se", "ci_low", "ci_high", "t", "p_value", "margin"):
        assert a[key] == pytest.approx(b[key], rel=1e-12), key
    assert a["n"] == b["n"] == 400 and a["df"] == b["df"] == 399


# --------------------------------------------------------------------------- accumulators


def _samples(keys: np.ndarray, seed: int) -> Samples:
    rng = np.random.default_rng(seed)
    v = rng.gamma(2.0, 1.0, len(keys))
    return Samples(keys, [v], [None], [v])


def _chunks(s: Samples, seed: int) -> list[Samples]:
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, len(s)), 6, replace=False))
    edges = [0, *cuts.tolist(), len(s)]
    return [s.take(slice(a, b)) for a, b in itertools.pairwise(edges)]


def test_aligned_rows_are_the_intersection_in_order_whatever_the_chunks() -> None:
    rng = np.random.default_rng(4)
    keys = [np.sort(rng.choice(300, 250, replace=False)) for _ in range(3)]
    models = [_samples(k, i) for i, k in enumerate(keys)]
    common = np.intersect1d(np.intersect1d(keys[0], keys[1]), keys[2])
    out = list(Aligned([iter(_chunks(m, 10 + i)) for i, m in enumerate(models)], 1, True))
    for m, model in enumerate(models):
        got = Samples.concat([parts[m] for parts in out], 1)
        np.testing.assert_array_equal(got.keys, common)
        np.testing.assert_array_equal(got.values[0], model.values[0][np.isin(model.keys, common)])


def test_aligned_ids_in_other_orders_are_refused() -> None:
    keys = np.array([f"id{i}" for i in range(50)])
    a, b = _samples(keys, 1), _samples(keys[::-1].copy(), 2)
    with pytest.raises(NotAligned):
        list(Aligned([iter(_chunks(a, 1)), iter(_chunks(b, 2))], 1, False))
    shorter = _samples(keys[:40], 3)  # --join inner kept fewer ids for one model
    with pytest.raises(NotAligned):
        list(Aligned([iter(_chunks(a, 1)), iter(_chunks(shorter, 2))], 1, False))


def test_disagreement_heap_is_the_top_k_of_a_full_sort() -> None:
    rng = np.random.default_rng(9)
    n = 500
    stack = np.round(rng.gamma(1.0, 1.0, (n, 3)), 1)  # rounded: many ties
    stack[rng.choice(n, 40, replace=False), 1] = np.nan
    stack[rng.choice(n, 5, replace=False)] = np.nan
    keys = np.arange(n)
    heap = Disagreements(12)
    for a in range(0, n, 37):
        heap.update(keys[a : a + 37], list(stack[a : a + 37].T), a)
    with warnings.catch_warnings():  # rows of NaN only: "All-NaN slice", spread NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = np.nanmax(stack, axis=1) - np.nanmin(stack, axis=1)
    order = sorted((i for i in range(n) if not np.isnan(spread[i])), key=lambda i: (-spread[i], i))
    got = heap.finalize()
    assert [g[0] for g in got] == [str(i) for i in order[:12]]
    assert [g[2] for g in got] == [float(spread[i]) for i in order[:12]]


# --------------------------------------------------------------------------- scipy reference


def _cases() -> list[dict[str, Any]]:
    return json.loads(CASES.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["id"])
def test_streamed_paired_t_is_scipy_ttest_rel(tmp_path: Path, case: dict[str, Any]) -> None:
    """Per-sample losses from torch, ``scipy.stats.ttest_rel(B, A)``: t, p and the 95%
    interval of the mean difference, in chunks of 7 rows."""
    files = [
        write_column(tmp_path / f"m{i}.csv", "p", [float(v) for v in preds])
        if np.ndim(preds) == 1
        else _write_table(tmp_path / f"m{i}.csv", np.asarray(preds))
        for i, preds in enumerate(case["models"])
    ]
    labels = write_column(tmp_path / "labels.csv", "y", case["labels"])
    result = cli(
        [
            "compare",
            *files,
            "--labels",
            labels,
            "--loss",
            case["spec"],
            *case["args"],
            "--chunk-rows",
            "7",
            "-f",
            "json",
        ]
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)["losses"][0]
    for diff, ref in zip(doc["vs_first"][1:], case["expected"], strict=True):
        assert diff["diff"] == pytest.approx(ref["mean_difference"], rel=1e-12)
        assert diff["diff"] / diff["se"] == pytest.approx(ref["statistic"], rel=1e-10)
        assert diff["p_value"] == pytest.approx(ref["pvalue"], rel=1e-9)
        assert diff["df"] == ref["df"]
        assert diff["ci_low"] == pytest.approx(ref["ci_low"], rel=1e-10)
        assert diff["ci_high"] == pytest.approx(ref["ci_high"], rel=1e-10)


def _write_table(path: Path, x: np.ndarray) -> Path:
    head = ",".join(f"c{j}" for j in range(x.shape[1]))
    rows = [",".join(repr(float(v)) for v in row) for row in x]
    path.write_text(head + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_installed_entry_point_streams_compare(data: Any) -> None:
    _, _, paths = data
    args = ["compare", *(str(paths[m]) for m in MODELS), "--labels", str(paths["labels"])]
    args += ["--loss", "ce", "--chunk-rows", "3", "-f", "json"]
    env = {k: v for k, v in os.environ.items() if CLI_ENV.get(k, "") is not None}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "losscli"), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    whole = json_of(cli([*args[:-4], "-f", "json"]))
    doc = json.loads(proc.stdout)
    assert doc["n_paired"] == 400
    assert doc["losses"][0]["values"] == pytest.approx(whole["losses"][0]["values"], rel=1e-12)
    for a, b in zip(
        doc["losses"][0]["vs_first"][1:], whole["losses"][0]["vs_first"][1:], strict=False
    ):
        assert a["se"] == pytest.approx(b["se"], rel=1e-12)
