"""``losscli schema NAME``: the JSON Schema (draft 2020-12) of each JSON output.

Every JSON document the suite makes is validated by the autouse fixture in conftest.py; the
tests here check the schemas themselves, that they can fail, and a matrix of commands and
options through the installed entry point.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ci_data import cli, json_of, write_baseline, write_models
from conftest import ROOT, SAMPLE, schema_errors
from jsonschema import Draft202012Validator

NAMES = ["compute", "check", "compare"]
EXE = Path(sys.executable).parent / "losscli"


@pytest.mark.parametrize("name", NAMES)
def test_schema_prints_a_draft_2020_12_schema(name: str) -> None:
    result = cli(["schema", name])
    assert result.exit_code == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"] == {"const": 1}
    assert schema["additionalProperties"] is False


def test_unknown_schema_is_a_usage_error() -> None:
    result = cli(["schema", "losses"])
    assert result.exit_code == 2
    assert "losses" in result.stderr


def test_schemas_reject_what_losscli_does_not_write() -> None:
    doc = json_of(
        cli(
            [
                "compute",
                SAMPLE / "seed_preds.csv",
                SAMPLE / "seed_labels.csv",
                "-l",
                "ce",
                "-f",
                "json",
            ]
        )
    )
    assert schema_errors("compute", doc) == []
    assert schema_errors("compute", {**doc, "extra": 1}) == [
        "compute JSON at /: Additional properties are not allowed ('extra' was unexpected)"
    ]
    bad = json.loads(json.dumps(doc))
    bad["results"][0]["signature"] = "version:1"
    assert schema_errors("compute", bad)[0].startswith("compute JSON at /results/0/signature")
    del bad["losscli_version"]
    assert any(
        "'losscli_version' is a required property" in e for e in schema_errors("compute", bad)
    )


def run_json(*args: Any) -> Any:
    proc = subprocess.run(
        [str(EXE), *map(str, args), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


IMAGES = ["sample_data/images_logits.csv", "sample_data/images_labels.csv", "--id-col", "image_id"]
COMPUTE_CASES = {
    "by_class_and_conventions": [
        *IMAGES,
        "-l",
        "ce",
        "-l",
        "hinge",
        "--by-class",
        "--convention",
        "all",
    ],
    "sum_regression": [
        "sample_data/house_prices_preds.parquet",
        "sample_data/house_prices_labels.parquet",
        "-l",
        "mse",
        "--reduction",
        "sum",
        "--top",
        "2",
    ],
    "dense": [
        "sample_data/seg_logits.npy",
        "sample_data/seg_labels.npy",
        "-l",
        "ce:ignore_index=255",
    ],
    "distribution": [
        "sample_data/dist_preds.npy",
        "sample_data/dist_labels.npy",
        "-l",
        "kl",
        "--top",
        "0",
    ],
}


@pytest.mark.parametrize("case", list(COMPUTE_CASES))
def test_compute_outputs_of_the_entry_point_validate(case: str) -> None:
    assert schema_errors("compute", run_json("compute", *COMPUTE_CASES[case])) == []


def test_check_and_compare_outputs_of_the_entry_point_validate(tmp_path: Path) -> None:
    _, _, paths = write_models(tmp_path)
    baseline = write_baseline(paths["base"], paths["labels"], tmp_path / "b.json")
    new, labels = paths["worse"], paths["labels"]
    cases = [
        ["--baseline", baseline, "--max-increase", "1%", "--significant"],
        ["--baseline-preds", paths["base"], "--significant", "-l", "ce"],
        ["--max", "ce=0.5", "-l", "ce", "-l", "mse"],
    ]
    for extra in cases:
        doc = run_json("check", new, labels, *extra)
        assert schema_errors("check", doc) == [], extra
    doc = run_json("compare", paths["base"], paths["better"], new, "--labels", labels, "-l", "ce")
    assert schema_errors("compare", doc) == []


def test_allow_different_data_report_validates(tmp_path: Path) -> None:
    out = tmp_path / "images.json"
    out.write_text(json.dumps(run_json("compute", *IMAGES, "-l", "ce")), encoding="utf-8")
    seed = [SAMPLE / "seed_preds.csv", SAMPLE / "seed_labels.csv"]
    doc = run_json("check", *seed, "-l", "ce", "--baseline", out, "--allow-different-data")
    assert doc["same_data"] is False
    assert schema_errors("check", doc) == []


def test_a_slice_rule_carries_its_slice_and_the_schema_holds_it_to_group_values() -> None:
    """``check --group-by``: per-slice rules have ``slice`` (added in 0.1, optional: overall
    rules have none); its values are what a group column holds, nothing else."""
    tickets = [SAMPLE / "tickets_probs_v2.csv", SAMPLE / "tickets_labels.csv"]
    old = SAMPLE / "tickets_probs_v1.csv"
    doc = run_json("check", *tickets, "--baseline-preds", old, "-l", "ce", "--group-by", "lang")
    assert schema_errors("check", doc) == []
    assert [r.get("slice") for r in doc["rules"]] == [
        None,
        {"lang": "de"},
        {"lang": "en"},
        {"lang": "fr"},
    ]
    bad = json.loads(json.dumps(doc))
    bad["rules"][1]["slice"] = {"lang": ["de"]}
    assert schema_errors("check", bad)[0].startswith("check JSON at /rules/1/slice/lang")
