"""`losscli losses`, `losscli explain` and the README's generated parts."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from conftest import ROOT

from losscli.losses import LOSSES, REGISTRY
from losscli.losses.explanations import EXPLANATIONS

ARTICLE_LOSSES = ("mse", "ce", "kl", "hinge")


def test_every_registered_loss_has_an_explanation() -> None:
    # "We shouldn't forget any loss": adding a loss without its explanation fails here.
    assert sorted(loss.name for loss in LOSSES if loss.name not in EXPLANATIONS) == []
    assert sorted(set(EXPLANATIONS) - {loss.name for loss in LOSSES}) == []


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_explain_every_name_and_alias(run_cli: Any, name: str) -> None:
    result = run_cli(["explain", name])
    assert result.exit_code == 0, result.stderr
    loss = REGISTRY[name]
    out = " ".join(result.stdout.split())
    assert out.startswith(f"{loss.name} — ")
    for heading in (
        "Formula",
        "What it measures",
        "Strengths",
        "Weaknesses",
        "When to use it",
        "Parameters",
        "Reference",
    ):
        assert heading in out
    for param in loss.params:
        assert param.name in out


@pytest.mark.parametrize("name", ARTICLE_LOSSES)
def test_the_article_losses_correct_the_article(run_cli: Any, name: str) -> None:
    out = " ".join(run_cli(["explain", name]).stdout.split())
    assert "Where the original article is wrong or incomplete" in out
    assert EXPLANATIONS[name].corrections


def test_mse_explanation_calls_outlier_sensitivity_a_weakness() -> None:
    mse = EXPLANATIONS["mse"]
    assert any("Outliers dominate" in w for w in mse.weaknesses)
    assert not any("outlier" in s.lower() for s in mse.strengths)


def test_explain_unknown_name_suggests_the_closest(run_cli: Any) -> None:
    result = run_cli(["explain", "hubber"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Did you mean 'huber'" in result.stderr


def _update_readme() -> Any:
    spec = importlib.util.spec_from_file_location(
        "update_readme", ROOT / "scripts" / "update_readme.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_loss_table_and_gallery_are_current() -> None:
    # The loss table comes from the registry and each gallery block is the command's real
    # output; `make readme` regenerates them. This fails when the README drifts.
    update = _update_readme()
    text = (ROOT / "README.md").read_text()
    assert update.render(text) == text, "README is stale: run `make readme`"
    for loss in LOSSES:
        assert f"| `{loss.name}` |" in text


def test_every_bench_result_is_in_the_readme_and_nothing_else() -> None:
    # `make bench` writes bench/results/NAME.md and `make readme` splices it between the
    # bench:NAME markers of the Performance section: a results file without its block would
    # never reach the README, a block without its file would make `make readme` fail.
    update = _update_readme()
    text = (ROOT / "README.md").read_text()
    blocks = {m.group("name") for m in update.BENCH.finditer(text)}
    results = {p.stem for p in (ROOT / "bench" / "results").glob("*.md")}
    assert blocks == results
    scripts = {p.stem for p in (ROOT / "bench").glob("bench_*.py")}
    assert results <= scripts, "each results file is written by the bench script of its name"


def test_bench_blocks_are_replaced_by_the_results_file(tmp_path: Any, monkeypatch: Any) -> None:
    update = _update_readme()
    (tmp_path / "bench_x.md").write_text("| a |\n|---|\n| 1 |\n\n")
    monkeypatch.setattr(update, "BENCH_RESULTS", tmp_path)
    readme = "## Performance\n<!-- bench:bench_x -->\nold table\n<!-- /bench:bench_x -->\nafter\n"
    assert update.render(readme).endswith(
        "<!-- bench:bench_x -->\n| a |\n|---|\n| 1 |\n<!-- /bench:bench_x -->\nafter\n"
    )
    with pytest.raises(SystemExit, match="bench_y"):
        update.render("<!-- bench:bench_y -->\n<!-- /bench:bench_y -->\n")


def test_losses_formats_cover_the_registry(run_cli: Any) -> None:
    import json

    data = json.loads(run_cli(["losses", "--format", "json"]).stdout)
    assert [d["name"] for d in data] == [loss.name for loss in LOSSES]
    by_name = {d["name"]: d for d in data}
    assert [p["name"] for p in by_name["ce"]["parameters"]] == [
        "label_smoothing",
        "weight",
        "ignore_index",
    ]
    assert by_name["huber"]["parameters"][0]["rule"] == "> 0"
    markdown = run_cli(["losses", "--format", "markdown"]).stdout
    # The README's table is this very output (test_readme_... keeps them equal).
    assert markdown in (ROOT / "README.md").read_text()
