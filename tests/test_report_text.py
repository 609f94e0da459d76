"""Reports never lose a number or a name, and user text cannot format Markdown or break XML.

Off a terminal (CliRunner and pipes are not terminals) tables keep their natural width at
COLUMNS=80; on a terminal (FORCE_COLOR makes Rich treat the runner as one) text columns fold
and value columns stay whole. Values asserted here are read back from the JSON output of the
same run, so each test checks the rendering, not the maths.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CLI_ENV
from typer.testing import Result

from losscli.report.text import count, md_code, md_text, xml_text

RunCli = Callable[..., Result]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
ENTRY_POINT = Path(sys.executable).parent / "losscli"

LONG_IDS = [f"patient-{i:03d}/scan-2024-11-29T08:15:00Z/slice-{i * 7:04d}.dcm" for i in range(6)]
LONG_LOSS = "ce:label_smoothing=0.125,ignore_index=-100"


def _long_id_files(folder: Path) -> list[Path]:
    """Three classes with long ids; logits so every row has a finite ce."""
    classes = ["cat", "dog", "bird"]
    preds = ["id,cat,dog,bird"]
    labels = ["id,label"]
    for i, name in enumerate(LONG_IDS):
        z = [0.3 * i, -0.5 + 0.1 * i, 1.2 - 0.2 * i]
        preds.append(f"{name},{z[0]:.3f},{z[1]:.3f},{z[2]:.3f}")
        labels.append(f"{name},{classes[i % 3]}")
    (folder / "preds.csv").write_text("\n".join(preds) + "\n")
    (folder / "labels.csv").write_text("\n".join(labels) + "\n")
    return [folder / "preds.csv", folder / "labels.csv", Path("--id-col"), Path("id")]


def _worst_ids(doc: dict[str, Any]) -> list[str]:
    return [w["id"] for w in doc["worst"]]


def test_count_separates_thousands() -> None:
    assert [count(n) for n in (7, 1000, 1234567)] == ["7", "1,000", "1,234,567"]


# --------------------------------------------------------------------------- widths


def test_off_a_terminal_tables_keep_full_ids_and_values(run_cli: RunCli, tmp_path: Path) -> None:
    args = ["compute", *_long_id_files(tmp_path), "-l", "ce", "-l", LONG_LOSS, "--by-class"]
    result = run_cli(args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    doc = json.loads(run_cli([*args, "-f", "json"]).stdout)
    out = result.stdout
    assert "…" not in out
    for name in LONG_IDS:  # every worst row, its id whole on one line
        assert any(line.startswith(name) for line in out.splitlines()), name
    for r in doc["results"]:
        line = next(line for line in out.splitlines() if line.startswith(r["loss"] + " "))
        assert f"{r['value']:.10g}" in line
    assert f"{LONG_LOSS} mean" in out  # the by-class header, unfolded


def test_on_a_terminal_text_folds_and_values_stay_whole(run_cli: RunCli, tmp_path: Path) -> None:
    args = ["compute", *_long_id_files(tmp_path), "-l", "ce", "-l", LONG_LOSS, "--top", "3"]
    result = run_cli(args, env={"COLUMNS": "60", "FORCE_COLOR": "1", "TERM": "xterm"})
    assert result.exit_code == 0, result.stderr
    out = ANSI.sub("", result.stdout)
    assert max(len(line) for line in out.splitlines() if "|convention:" not in line) <= 60
    assert "…" not in out
    doc = json.loads(run_cli([*args, "-f", "json"]).stdout)
    for w in doc["worst"]:
        for value in w["losses"]:
            assert re.search(rf"│\s*{re.escape(f'{value:.6g}')}\s*(│|$)", out, re.M), value
    # The ids are all there, folded over lines: joined again, the id column holds them.
    id_column = "".join(
        line.split("│")[0].strip() for line in out.split("Worst samples")[1].splitlines()[3:]
    )
    for name in _worst_ids(doc):
        assert name in id_column


def test_compare_shows_whole_model_names_in_a_log(run_cli: RunCli, tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("label\n1\n0\n1\n0\n")
    names = ["pretrained-resnet50-finetuned-epoch-40", "pretrained-resnet50-finetuned-epoch-41"]
    paths = []
    for k, name in enumerate(names):
        paths.append(tmp_path / f"{name}.csv")
        paths[-1].write_text(f"p\n0.{8 - k}\n0.2\n0.7\n0.{3 + k}\n")
    args = ["compare", *paths, "--labels", labels, "-l", "mse", "-l", "ce"]
    result = run_cli(args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    assert "…" not in result.stdout
    for name in names:
        assert f"{name}.csv" in result.stdout
    doc = json.loads(run_cli([*args, "-f", "json"]).stdout)
    for row in doc["losses"]:
        for value in row["values"]:
            assert f"{value:.6g}" in result.stdout


def test_losses_table_is_whole_in_a_log(run_cli: RunCli) -> None:
    from losscli.losses import LOSSES

    result = run_cli(["losses"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    assert "…" not in result.stdout
    for loss in LOSSES:
        row = next(line for line in result.stdout.splitlines() if line.startswith(loss.name + " "))
        assert loss.reference in row


def test_a_pipe_at_80_columns_keeps_full_ids(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    env["COLUMNS"] = "80"
    args = [ENTRY_POINT, "compute", *_long_id_files(tmp_path), "-l", LONG_LOSS]
    proc = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout
    for name in LONG_IDS:
        assert name in proc.stdout


def _maps_with_ignored_positions(write: Callable[..., Path]) -> list[Path]:
    """Three 2×2 maps of 3 classes, ignore_index −100 (torch's): the argmax maps are
    [[0, 1], [1, 1]], [[2, 2], [1, 1]] and [[0, 2], [2, 2]] (seed 0, checked below)."""
    z = np.random.default_rng(0).normal(size=(3, 3, 2, 2))
    y = np.array([[[0, 1], [2, -100]], [[-100, -100], [1, 1]], np.full((2, 2), -100)])
    assert z.argmax(axis=1)[:2].tolist() == [[[0, 1], [1, 1]], [[2, 2], [1, 1]]]
    return [write("maps.npy", z), write("labels.npy", y)]


def test_worst_maps_count_the_positions_of_a_class_not_the_ignored(
    run_cli: RunCli, write: Callable[..., Path]
) -> None:
    """Map 0 has 3 labelled positions, 2 predicted right (0 and 1; 2 read as 1); map 1 has
    2, both right; map 2 none. The ignored −100 positions were counted before (4 px)."""
    files = _maps_with_ignored_positions(write)
    result = run_cli(["compute", *files, "-l", "ce:ignore_index=-100", "--top", "3", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    worst = {w["row"]: (w["label"], w["prediction"]) for w in json.loads(result.stdout)["worst"]}
    assert worst == {
        0: ("3 px", "pixel acc 0.667"),
        1: ("2 px", "pixel acc 1.000"),
        2: ("0 px", "no pixels"),
    }


def test_the_installed_losscli_counts_the_positions_of_a_class(
    write: Callable[..., Path],
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    args = [ENTRY_POINT, "compute", *_maps_with_ignored_positions(write)]
    args += ["-l", "ce:ignore_index=-100", "--top", "3"]
    proc = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("│") for line in proc.stdout.splitlines() if line.count("│") == 3]
    cells = {r[0].strip(): (r[1].strip(), r[2].strip()) for r in rows}
    assert cells["0"] == ("3 px", "pixel acc 0.667")
    assert cells["1"] == ("2 px", "pixel acc 1.000")


# --------------------------------------------------------------------------- Markdown


def test_md_text_escapes_what_could_format() -> None:
    assert md_text("a*b*_c_") == r"a\*b\*\_c\_"
    assert md_text("<img src=x>") == r"\<img src=x\>"
    assert md_text("[x](http://e)") == r"\[x\](http://e)"
    assert md_text("`code` & @alice") == r"\`code\` \& @<!-- -->alice"
    assert md_text("two\nlines") == "two lines"


def test_md_code_holds_any_backticks() -> None:
    assert md_code("plain") == "`plain`"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x`") == "`` `x` ``"


def _outside_code(markdown: str) -> str:
    """The Markdown with fenced code blocks (mermaid charts too) and code spans removed
    (their content is literal: GitHub links no mention and no markup inside them)."""
    unfenced = re.sub(r"^```[^\n]*\n.*?^```$", "", markdown, flags=re.S | re.M)
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", unfenced)


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def _tables(markdown: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    previous = False
    for line in markdown.splitlines():
        is_row = line.startswith("| ")
        if is_row and not previous:
            tables.append([])
        if is_row:
            tables[-1].append(_cells(line))
        previous = is_row
    return tables


HOSTILE_IDS = ["a|b", "<script>x</script>", "@alice", "`tick`", "*bold*"]
HOSTILE_CLASSES = ["_under_", "[link]", "<b>"]


def _hostile_files(folder: Path) -> list[Path]:
    header = ",".join(f'"{c}"' for c in HOSTILE_CLASSES)
    preds = [f"id,{header}"]
    labels = ["id,label"]
    for i, name in enumerate(HOSTILE_IDS):
        quoted = '"' + name.replace('"', '""') + '"'
        preds.append(f"{quoted},{0.1 * i},{-0.2 * i},{0.3}")
        labels.append(f'{quoted},"{HOSTILE_CLASSES[i % 3]}"')
    (folder / "p.csv").write_text("\n".join(preds) + "\n")
    (folder / "l.csv").write_text("\n".join(labels) + "\n")
    return [folder / "p.csv", folder / "l.csv", Path("--id-col"), Path("id")]


def test_compute_markdown_escapes_ids_and_class_names_and_shows_by_class(
    run_cli: RunCli, tmp_path: Path
) -> None:
    args = ["compute", *_hostile_files(tmp_path), "-l", "ce", "--by-class", "--logits"]
    result = run_cli([*args, "-f", "markdown"])
    assert result.exit_code == 0, result.stderr
    md = result.stdout
    plain = _outside_code(md)
    for raw in ("<script>", "<b>", "@alice", "*bold*", "_under_", "[link]"):
        assert raw not in plain, raw
    tables = _tables(md)
    assert len(tables) == 3  # losses, by class, worst samples: as the table format
    by_class, worst = tables[1], tables[2]
    assert by_class[0][:3] == ["class", "n", "`ce` mean"]
    assert [row[0] for row in by_class[2:]] == [md_text(c) for c in HOSTILE_CLASSES]
    assert all(len(row) == len(worst[0]) for row in worst)  # no '|' split a cell
    assert {row[0] for row in worst[2:]} == {md_code(i).replace("|", r"\|") for i in HOSTILE_IDS}


def test_check_and_compare_markdown_escape_paths(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "<b>@bob"
    folder.mkdir()
    preds, labels = folder / "m*1*.csv", folder / "labels.csv"
    preds.write_text("p\n0.9\n0.2\n0.4\n")
    labels.write_text("y\n1\n0\n1\n")
    check = run_cli(["check", preds, labels, "-l", "mse", "--max", "mse=0.01", "-f", "markdown"])
    assert check.exit_code == 1
    compare = run_cli(["compare", preds, preds, "--labels", labels, "-l", "mse", "-f", "markdown"])
    assert compare.exit_code == 0, compare.stderr
    for md in (check.stdout, compare.stdout):
        plain = _outside_code(md)
        assert "<b>" not in plain
        assert "@bob" not in plain
        assert "*1*" not in plain


def test_junit_escapes_and_drops_what_xml_cannot_hold(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / 'a<&>"\x01b'
    folder.mkdir()
    preds, labels = folder / "p.csv", folder / "l.csv"
    preds.write_text("p\n0.9\n0.2\n0.4\n")
    labels.write_text("y\n1\n0\n1\n")
    result = run_cli(["check", preds, labels, "-l", "mse", "--max", "mse=0.01", "-f", "junit"])
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout.encode())
    values = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert values["predictions"] == xml_text(str(preds))
    assert 'a<&>"\ufffdb' in values["predictions"]
    assert root.find(".//failure") is not None


@pytest.mark.parametrize("columns", [80, 50])
def test_losses_fit_a_narrow_terminal(run_cli: RunCli, columns: int) -> None:
    """Rich widens a column back to its minimum after shrinking the others; the table must
    still fit the terminal (else the terminal wraps every line), with each name whole."""
    from losscli.losses import LOSSES

    env = {"COLUMNS": str(columns), "FORCE_COLOR": "1", "TERM": "xterm"}
    result = run_cli(["losses"], env=env)
    assert result.exit_code == 0, result.stderr
    lines = ANSI.sub("", result.stdout).splitlines()
    assert max(len(line) for line in lines) <= columns
    names = {line.split("│")[0].strip() for line in lines if "│" in line}
    assert {loss.name for loss in LOSSES} <= names
