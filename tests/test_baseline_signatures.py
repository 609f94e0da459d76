"""``check --baseline`` compares signatures field by field; ``compare`` refuses models scored
against different labels.

Expected hashes are ``hashlib.sha256`` of the sample files; sample_data/README.md describes
them: images_* are 200 images of 5 classes (logits), seed_* the article's 3 binary samples.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from ci_data import cli, json_of, write_baseline, write_models
from conftest import ROOT, SAMPLE

from losscli.ci.baseline import judge, same_labels
from losscli.engine.results import LossResult
from losscli.errors import InputError

SEED = [SAMPLE / "seed_preds.csv", SAMPLE / "seed_labels.csv"]
IMAGES = [SAMPLE / "images_logits.csv", SAMPLE / "images_labels.csv"]


def short(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


@pytest.fixture
def images_baseline(tmp_path: Path) -> Path:
    out = tmp_path / "images_baseline.json"
    result = cli(["compute", *IMAGES, "--id-col", "image_id", "--loss", "ce", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    out.write_text(result.stdout, encoding="utf-8")
    return out


def scenario(baseline: Path, *extra: Any) -> Any:
    return cli(
        ["check", *SEED, "--loss", "ce", "--baseline", baseline, "--max-increase", "100%", *extra]
    )


def expected_differences() -> list[str]:
    return [
        f"labels differ: baseline sha256 {short(IMAGES[1])}… n=200, now {short(SEED[1])}… n=3",
        "task differs: baseline multiclass, now binary",
        "number of classes differs: baseline 5, now 2",
    ]


def test_baseline_from_other_data_stops_with_exit_3(images_baseline: Path) -> None:
    # The scenario: without signatures this printed PASSED (0.4149 < 2 x 0.6350).
    result = scenario(images_baseline)
    assert result.exit_code == 3
    assert result.stdout == ""
    for difference in expected_differences():
        assert difference in result.stderr
    assert "--allow-different-data" in result.stderr
    assert "Traceback" not in result.stderr


def test_allow_different_data_says_so_first(images_baseline: Path) -> None:
    table = scenario(images_baseline, "--allow-different-data")
    assert table.exit_code == 0, table.stderr
    first = table.stdout.splitlines()[0]
    assert first.startswith("warning: the data differ from the baseline's")
    assert all(d in first for d in expected_differences())
    doc = json_of(scenario(images_baseline, "--allow-different-data", "--format", "json"))
    assert doc["same_data"] is False
    assert doc["data_differences"] == expected_differences()
    md = scenario(images_baseline, "--allow-different-data", "--format", "markdown").stdout
    assert md.startswith("> ⚠️ **Warning:** the data differ from the baseline's")


def test_same_data_reads_as_before(tmp_path: Path) -> None:
    _, _, paths = write_models(tmp_path)
    baseline = write_baseline(paths["base"], paths["labels"], tmp_path / "b.json")
    result = cli(["check", paths["better"], paths["labels"], "--baseline", baseline, "-f", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    # A new model: other predictions (another hash), same labels: comparable.
    assert doc["same_data"] is True and doc["data_differences"] == [] and doc["warnings"] == []
    assert result.stderr == ""


def _edit_baseline(path: Path, edit: Any) -> Path:
    doc = json.loads(path.read_text(encoding="utf-8"))
    for item in doc["results"]:
        edit(item)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_version_and_kind_never_block(tmp_path: Path) -> None:
    _, _, paths = write_models(tmp_path)
    baseline = write_baseline(paths["base"], paths["labels"], tmp_path / "b.json")

    def older(item: dict[str, Any]) -> None:
        item["signature"] = item["signature"].replace("version:", "version:0.0.1-was-")
        item["signature"] = item["signature"].replace("kind:probs", "kind:logits")

    _edit_baseline(baseline, older)
    result = cli(["check", paths["better"], paths["labels"], "--baseline", baseline])
    assert result.exit_code == 0, result.stderr
    assert "differ" not in result.stdout


def test_baseline_without_signatures_is_accepted_with_a_warning(tmp_path: Path) -> None:
    _, _, paths = write_models(tmp_path)
    baseline = write_baseline(paths["base"], paths["labels"], tmp_path / "old.json")
    _edit_baseline(baseline, lambda item: item.pop("signature"))
    result = cli(["check", paths["better"], paths["labels"], "--baseline", baseline])
    assert result.exit_code == 0, result.stderr
    assert "has no signature for ce, mse (written by an older losscli)" in result.stderr
    doc = json_of(
        cli(["check", paths["better"], paths["labels"], "--baseline", baseline, "-f", "json"])
    )
    assert doc["warnings"] and "older losscli" in doc["warnings"][0]


def test_a_different_loss_definition_blocks_even_with_the_flag(tmp_path: Path) -> None:
    _, _, paths = write_models(tmp_path)
    baseline = write_baseline(paths["base"], paths["labels"], tmp_path / "b.json")

    def torch(item: dict[str, Any]) -> None:
        item["signature"] = item["signature"].replace("convention:losscli", "convention:torch")

    _edit_baseline(baseline, torch)
    args = ["check", paths["better"], paths["labels"], "--baseline", baseline]
    for extra in ([], ["--allow-different-data"]):
        result = cli([*args, *extra])
        assert result.exit_code == 3
        assert "ce: convention differs: baseline torch, now losscli" in result.stderr


def test_baseline_preds_on_the_same_labels_are_comparable(tmp_path: Path) -> None:
    _, _, paths = write_models(tmp_path)
    args = [
        "check",
        paths["better"],
        paths["labels"],
        "--baseline-preds",
        paths["base"],
        "-l",
        "ce",
    ]
    doc = json_of(cli([*args, "-f", "json"]))
    assert doc["passed"] is True and doc["same_data"] is True


def test_allow_different_data_from_the_config(tmp_path: Path, images_baseline: Path) -> None:
    config = tmp_path / "losscli.toml"
    config.write_text("allow_different_data = true\n", encoding="utf-8")
    result = scenario(images_baseline, "--config", config)
    assert result.exit_code == 0, result.stderr
    assert scenario(images_baseline, "--config", config, "--no-allow-different-data").exit_code == 3


def test_scenario_through_the_installed_entry_point(images_baseline: Path) -> None:
    exe = Path(sys.executable).parent / "losscli"
    args = [str(exe), "check", *map(str, SEED), "--loss", "ce", "--baseline", str(images_baseline)]
    proc = subprocess.run(
        [*args, "--max-increase", "100%"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert f"labels differ: baseline sha256 {short(IMAGES[1])}… n=200" in proc.stderr


# --------------------------------------------------------------------------- units


def _result(loss: str, signature: str) -> LossResult:
    return LossResult(loss, loss, 0.5, 3, 0.1, 0.4, 0.6, "mean", "", {}, signature=signature)


SIG = "loss:ce|convention:losscli|reduction:mean|task:binary|classes:2|n:3|labels:aaa|version:1"


def test_judge_collects_each_difference_once() -> None:
    now = [_result("ce", SIG), _result("hinge", SIG.replace("loss:ce", "loss:hinge"))]
    old = SIG.replace("n:3", "n:4").replace("labels:aaa", "labels:bbb")
    with pytest.raises(InputError) as err:
        judge({"ce": old, "hinge": old.replace("loss:ce", "loss:hinge")}, now, source="b.json")
    assert str(err.value).count("labels differ") == 1
    verdict = judge({"ce": old}, now, source="b.json", allow_different_data=True)
    assert verdict.data_differences == ("labels differ: baseline sha256 bbb… n=4, now aaa… n=3",)
    # Same labels, another n (rows skipped for NaN in one run only).
    only_n = judge({"ce": SIG.replace("n:3", "n:4")}, now, source="b", allow_different_data=True)
    assert only_n.data_differences == (
        "n differs (same labels): baseline sha256 aaa… n=4, now aaa… n=3",
    )


def test_compare_refuses_models_scored_against_different_labels() -> None:
    a = [_result("ce", SIG)]
    other = [_result("ce", SIG.replace("labels:aaa", "labels:ccc").replace("n:3", "n:5"))]
    with pytest.raises(
        InputError,
        match=r"b\.csv was not scored like a\.csv: labels differ: "
        r"a\.csv sha256 aaa… n=3, b\.csv ccc… n=5",
    ):
        same_labels(["a.csv", "b.csv"], [a, other])
    # n alone may differ (--join inner pairs the shared samples), and so may the kind.
    fewer = [replace(a[0], signature=SIG.replace("n:3", "n:2") + "|kind:logits")]
    same_labels(["a.csv", "b.csv"], [a, fewer])


def test_compare_json_carries_each_models_signature() -> None:
    v2 = SAMPLE / "images_logits_v2.csv"
    result = cli(
        [
            "compare",
            IMAGES[0],
            v2,
            "--labels",
            IMAGES[1],
            "--id-col",
            "image_id",
            "-l",
            "ce",
            "-f",
            "json",
        ]
    )
    doc = json_of(result)
    sigs = doc["losses"][0]["signatures"]
    assert len(sigs) == 2 and sigs[0] == sigs[1]
    assert f"labels:{short(IMAGES[1])}" in sigs[0]
