"""Seeded test data and helpers for the CI commands (check, compare, config).

Every model is a binary classifier scored on the same 400 labels; predictions are
probabilities written with full precision (``repr``) so that per-sample losses recomputed
here with NumPy are exactly what losscli reads:

- ``base``: logits ``1.2·s + ε`` (s = ±1 from the label, ε ~ N(0, 1.5²));
- ``better``: a stronger signal (2.0·s) on the same ε: lower log loss;
- ``worse``: a weaker signal (0.4·s): log loss 0.71 against 0.42, far beyond the noise;
- ``tiny``: ``base`` plus N(0, 0.1²) on each logit: the log loss rises by about 0.002,
  well within the noise (paired p ≈ 0.31, Welch p ≈ 0.95 by scipy).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from conftest import CLI_ENV
from typer.testing import CliRunner, Result

from losscli.cli.app import app

N = 400


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def make_models(seed: int = 2024) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(labels, {name: probabilities}) for base, better, worse and tiny."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, N)
    s = 2 * y - 1
    noise = rng.normal(0, 1.5, N)
    base = 1.2 * s + noise
    models = {
        "base": base,
        "better": 2.0 * s + noise + rng.normal(0, 0.3, N),
        "worse": 0.4 * s + noise + rng.normal(0, 0.3, N),
        "tiny": base + np.random.default_rng(100).normal(0, 0.1, N),
    }
    return y, {name: _sigmoid(z) for name, z in models.items()}


def log_loss(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample binary log loss (no clipping needed: every p is well inside (0, 1))."""
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def squared_error(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (p - y) ** 2


def write_column(
    path: Path, name: str, values: Sequence[Any], ids: Sequence[str] | None = None
) -> Path:
    """A CSV with an optional ``id`` column and one value column, floats at full precision."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = ("id," if ids is not None else "") + name
    rows = [
        (f"{ids[i]}," if ids is not None else "")
        + (repr(float(v)) if isinstance(v, float | np.floating) else str(v))
        for i, v in enumerate(values)
    ]
    path.write_text(head + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_models(
    folder: Path, seed: int = 2024
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, Path]]:
    """Write labels.csv and one <name>.csv per model in ``folder``."""
    y, models = make_models(seed)
    paths = {"labels": write_column(folder / "labels.csv", "y", [int(v) for v in y])}
    for name, p in models.items():
        paths[name] = write_column(folder / f"{name}.csv", "p", list(p))
    return y, models, paths


def cli(
    args: Sequence[Any],
    env: Mapping[str, str | None] | None = None,
    input: bytes | str | None = None,
) -> Result:
    """Run losscli in-process: colourless, fixed width, no GitHub step summary unless asked."""
    merged: dict[str, str | None] = {**CLI_ENV, "GITHUB_STEP_SUMMARY": None}
    merged.update(env or {})
    return CliRunner().invoke(app, [str(a) for a in args], env=merged, input=input)


def json_of(result: Result) -> dict[str, Any]:
    assert result.stdout, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def write_baseline(
    preds: Path, labels: Path, out: Path, losses: Sequence[str] = ("ce", "mse")
) -> Path:
    """The baseline JSON exactly as ``losscli compute --format json > out`` writes it."""
    args: list[Any] = ["compute", preds, labels]
    for loss in losses:
        args += ["--loss", loss]
    result = cli([*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    out.write_text(result.stdout, encoding="utf-8")
    return out
