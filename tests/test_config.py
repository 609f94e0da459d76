"""Configuration for ``check`` and ``compare``: discovery, schema, precedence, errors.

Reference numbers: per-sample log losses recomputed with NumPy (tests/ci_data.py).
"""

from __future__ import annotations

import re
import textwrap
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from ci_data import cli, json_of, log_loss, write_baseline, write_models
from conftest import ROOT

from losscli.ci.checks import ALL, Tolerance
from losscli.ci.config import Settings, find_config, load_config, merge
from losscli.errors import UsageError


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A repository: eval/ with labels and models, a baseline JSON, cwd at its root."""
    y, p, paths = write_models(tmp_path / "eval")
    write_baseline(paths["base"], paths["labels"], tmp_path / "eval" / "baseline.json")
    monkeypatch.chdir(tmp_path)
    return {"root": tmp_path, "y": y, "p": p}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


PYPROJECT = """\
    [project]
    name = "my-model"

    [tool.losscli]
    preds = "eval/tiny.csv"
    labels = "eval/labels.csv"
    loss = ["ce", "mse"]
    baseline = "eval/baseline.json"
    significant = true

    [tool.losscli.max]
    ce = 0.5
    mse = 0.2
    """


def check_doc(*args: Any) -> tuple[int, dict[str, Any]]:
    result = cli(["check", *args, "--format", "json"])
    return result.exit_code, json_of(result)


def by_rule(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["rule"], r["loss"]): r for r in doc["rules"]}


# --------------------------------------------------------------------------- discovery


def test_plain_check_runs_from_pyproject(repo: dict[str, Any]) -> None:
    write(repo["root"] / "pyproject.toml", PYPROJECT)
    code, doc = check_doc()
    assert code == 0
    assert doc["inputs"]["predictions"] == str(Path("eval/tiny.csv"))
    assert list(by_rule(doc)) == [
        ("max", "ce"),
        ("max_increase", "ce"),
        ("max", "mse"),
        ("max_increase", "mse"),
    ]
    assert doc["significant"] is True
    y, p = repo["y"], repo["p"]
    assert doc["results"][0]["value"] == pytest.approx(log_loss(p["tiny"], y).mean(), rel=1e-12)


def test_found_from_a_subfolder_with_paths_relative_to_the_file(
    repo: dict[str, Any], monkeypatch: Any
) -> None:
    write(repo["root"] / "pyproject.toml", PYPROJECT)
    deep = repo["root"] / "src" / "pkg"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    code, doc = check_doc()
    assert code == 0
    assert doc["inputs"]["predictions"] == str(Path("../../eval/tiny.csv"))


def test_discovery_order(tmp_path: Path) -> None:
    """Nearest first; in a folder losscli.toml before pyproject.toml; a pyproject.toml without
    [tool.losscli] is passed over."""
    top = write(tmp_path / "losscli.toml", 'loss = ["mse"]\n')
    write(tmp_path / "a" / "pyproject.toml", '[project]\nname = "x"\n')
    assert find_config(tmp_path / "a") == top
    near = write(tmp_path / "a" / "b" / "pyproject.toml", '[tool.losscli]\nloss = ["ce"]\n')
    assert find_config(tmp_path / "a" / "b") == near
    both = write(tmp_path / "a" / "b" / "losscli.toml", 'loss = ["mae"]\n')
    assert find_config(tmp_path / "a" / "b") == both
    assert load_config(both).loss == ("mae",)


def test_losscli_toml_uses_top_level_keys(repo: dict[str, Any]) -> None:
    write(
        repo["root"] / "losscli.toml",
        """\
        preds = "eval/worse.csv"
        labels = "eval/labels.csv"
        loss = "ce"
        [max]
        ce = 0.5
        """,
    )
    result = cli(["check"])
    assert result.exit_code == 1
    assert "> max 0.5" in result.stderr


def test_config_option_names_the_file(repo: dict[str, Any]) -> None:
    write(repo["root"] / "pyproject.toml", PYPROJECT)
    other = write(
        repo["root"] / "ci" / "strict.toml",
        """\
        preds = "../eval/tiny.csv"
        labels = "../eval/labels.csv"
        loss = ["ce"]
        baseline = "../eval/baseline.json"
        """,
    )
    code, doc = check_doc("--config", other)
    assert code == 1  # no increase allowed, not even a tiny one, without significance
    assert list(by_rule(doc)) == [("max_increase", "ce")]


# --------------------------------------------------------------------------- precedence


def test_flags_override_the_config(repo: dict[str, Any]) -> None:
    write(repo["root"] / "pyproject.toml", PYPROJECT)
    # --max replaces the file's ceiling for ce and keeps mse's.
    code, doc = check_doc("--max", "ce=0.1")
    assert code == 1
    rules = by_rule(doc)
    assert rules[("max", "ce")]["limit"] == 0.1 and not rules[("max", "ce")]["passed"]
    assert rules[("max", "mse")]["limit"] == 0.2
    # --no-significant beats significant = true: the tiny increase now fails.
    code, doc = check_doc("--no-significant")
    assert code == 1 and doc["significant"] is False
    # the PREDS argument replaces preds.
    code, doc = check_doc("eval/better.csv", "eval/labels.csv")
    assert code == 0 and doc["inputs"]["predictions"] == "eval/better.csv"


def test_loss_flag_replaces_the_list_and_drops_rules_for_other_losses(repo: dict[str, Any]) -> None:
    write(repo["root"] / "pyproject.toml", PYPROJECT)
    code, doc = check_doc("--loss", "ce")
    assert [r["loss"] for r in doc["results"]] == ["ce"]
    assert list(by_rule(doc)) == [("max", "ce"), ("max_increase", "ce")]
    assert code == 0


def test_baseline_flags_replace_both_baseline_keys(repo: dict[str, Any]) -> None:
    write(repo["root"] / "pyproject.toml", PYPROJECT)
    code, doc = check_doc("--baseline-preds", "eval/base.csv")
    assert code == 0
    assert doc["inputs"]["baseline"] == "eval/base.csv"
    assert doc["method"] == "paired t-test on per-sample losses"


def test_max_increase_table_per_loss(repo: dict[str, Any]) -> None:
    write(
        repo["root"] / "losscli.toml",
        """\
        preds = "eval/tiny.csv"
        labels = "eval/labels.csv"
        loss = ["ce", "mse"]
        baseline = "eval/baseline.json"
        [max_increase]
        ce = "1%"
        mse = 0.5
        """,
    )
    code, doc = check_doc()
    rules = by_rule(doc)
    assert rules[("max_increase", "ce")]["tolerance"] == "1%"
    assert rules[("max_increase", "mse")]["tolerance"] == "0.5"
    assert code == 0
    # A flag for every loss does not beat a loss's own entry from the file.
    code, doc = check_doc("--max-increase", "0")
    assert by_rule(doc)[("max_increase", "ce")]["tolerance"] == "1%"


def test_merge_is_key_by_key() -> None:
    tol = Tolerance(0.01, True, "1%")
    config = Settings(
        loss=("ce", "mse"),
        max={"ce": 0.5, "mse": 0.2},
        max_increase={ALL: tol},
        baseline=Path("b.json"),
        significant=True,
        id_col="id",
    )
    cli_ = Settings(max={"ce": 0.4}, baseline_preds=Path("old.csv"), significant=False)
    out = merge(config, cli_)
    assert out.max == {"ce": 0.4, "mse": 0.2}
    assert out.baseline is None and out.baseline_preds == Path("old.csv")
    assert out.significant is False and out.id_col == "id" and out.max_increase == {ALL: tol}
    assert merge(config, Settings(loss=("mse",))).max == {"mse": 0.2}


def test_compare_reads_labels_and_losses_from_the_config(repo: dict[str, Any]) -> None:
    write(repo["root"] / "pyproject.toml", PYPROJECT)
    result = cli(["compare", "eval/base.csv", "eval/better.csv", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json_of(result)
    assert [entry["loss"] for entry in doc["losses"]] == ["ce", "mse"]
    assert doc["labels"] == str(Path("eval/labels.csv"))


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.losscli]\nlosses = ['ce']\n", r"unknown key losses; known keys: preds, labels"),
        ("[tool.losscli]\nsignificant = 'yes'\n", r"significant must be true or false"),
        ("[tool.losscli]\nmax = 0.3\n", r"max must be a table"),
        ("[tool.losscli.max]\nce = 'low'\n", r"max.ce must be a number"),
        ("[tool.losscli]\nmax_increase = '2 percent'\n", r"expected a number"),
        ("[tool.losscli]\nkind = 'scores'\n", r"kind must be one of logits, probs"),
        ("[tool.losscli]\nbaseline = 'a.json'\nbaseline_preds = 'b.csv'\n", r"not both"),
        ("[tool.losscli\n", r"invalid TOML"),
    ],
)
def test_config_errors_exit_2(repo: dict[str, Any], text: str, message: str) -> None:
    write(repo["root"] / "pyproject.toml", text)
    result = cli(["check", "eval/base.csv", "eval/labels.csv", "--loss", "ce", "--max", "ce=1"])
    assert result.exit_code == 2, result.stderr
    assert re.search(message, result.stderr)
    assert "pyproject.toml" in result.stderr


def test_missing_config_file_and_missing_inputs(repo: dict[str, Any]) -> None:
    missing = cli(["check", "--config", "nope.toml"])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    write(repo["root"] / "losscli.toml", 'loss = ["ce"]\n[max]\nce = 1\n')
    empty = cli(["check"])
    assert empty.exit_code == 2 and "give PREDS and LABELS" in empty.stderr
    with pytest.raises(UsageError, match=r"no \[tool.losscli\] table"):
        load_config(write(repo["root"] / "pyproject.toml", "[project]\nname = 'x'\n"))


def test_readme_config_runs_plain_check(repo: dict[str, Any]) -> None:
    """The README's pyproject.toml snippet, as pasted, drives a plain `losscli check`."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## CI: `check` and `compare`") :]
    block = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert block is not None
    tomllib.loads(block.group(1))  # valid TOML
    write(repo["root"] / "pyproject.toml", block.group(1))
    eval_dir = repo["root"] / "eval"
    for model, code in (("better", 0), ("worse", 1)):
        (eval_dir / "preds.csv").write_bytes((eval_dir / f"{model}.csv").read_bytes())
        result = cli(["check", "-o", "losscli-report.xml"])
        assert result.exit_code == code, result.stderr
        suite = ET.parse(repo["root"] / "losscli-report.xml").getroot().find("testsuite")
        assert suite is not None and (suite.get("failures") == "0") is (code == 0)
