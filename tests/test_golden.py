"""Golden output: the table (and Markdown) rendering of sample invocations, byte for byte.

Rendered through CliRunner on a fixed 100-column, colourless console (COLUMNS=100, NO_COLOR=1,
TERM=dumb; see conftest.CLI_ENV), from the repository root with relative paths so the files do
not depend on where the checkout lives. To accept a deliberate change of the output, regenerate
the files and review the diff:

    make golden        # LOSSCLI_REGENERATE_GOLDEN=1 pytest tests/test_golden.py
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import Result

GOLDEN = Path(__file__).resolve().parent / "golden"
REGENERATE = os.environ.get("LOSSCLI_REGENERATE_GOLDEN") == "1"

SEED = ["sample_data/seed_preds.csv", "sample_data/seed_labels.csv"]
IMAGES = ["sample_data/images_logits.csv", "sample_data/images_labels.csv", "--id-col", "image_id"]
HOUSES = ["sample_data/house_prices_preds.parquet", "sample_data/house_prices_labels.parquet"]

CASES = {
    "seed_mse_ce": ["compute", *SEED, *shlex.split("--loss mse --loss ce")],
    "seed_bootstrap": ["compute", *SEED, *shlex.split("--loss mse --loss ce --ci bootstrap")],
    "images_id_col": [
        "compute",
        *IMAGES,
        *shlex.split("--loss ce --loss ce:label_smoothing=0.1 --loss hinge --top 5"),
    ],
    "house_prices": [
        "compute",
        *HOUSES,
        *shlex.split("--loss mse --loss rmse --loss mae --loss huber:delta=0.5 --top 3"),
    ],
    "images_markdown": [
        "compute",
        *IMAGES,
        *shlex.split("--loss ce --loss hinge --top 3 --format markdown"),
    ],
}


@pytest.mark.parametrize("name", list(CASES))
def test_golden(name: str, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    first = run_cli(CASES[name])
    assert first.exit_code == 0, first.stderr
    assert first.stderr == ""
    output = first.stdout
    # Deterministic: a second run renders the same bytes.
    assert run_cli(CASES[name]).stdout == output
    assert "\x1b[" not in output
    # Signatures are one unbreakable line each (table footer, Markdown details), and so are a
    # mermaid chart's data lines (GitHub draws them; nobody reads them); the rest fits.
    machine = ("|convention:", "    x-axis [", "    bar [")
    lines = [line for line in output.splitlines() if not any(m in line for m in machine)]
    assert max(len(line) for line in lines) <= 100

    path = GOLDEN / f"{name}.txt"
    if REGENERATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(output, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing; run 'make golden' to create it"
    expected = path.read_text(encoding="utf-8")
    assert output == expected, (
        f"output of `losscli {' '.join(CASES[name])}` differs from {path.name}; if the change "
        "is intended, run 'make golden' and review the diff"
    )
