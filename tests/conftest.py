"""Shared fixtures for the CLI tests: input files from Python data and a CLI runner."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner, Result

from losscli.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"

# Hypothesis profiles. "default" (make test, CI) is derandomized: the same examples on every
# machine and every run, so what a property test reaches does not change from run to run; 30
# examples per test reach the lines and branches of losscli/losses and losscli/engine that 300
# random ones reach (coverage.py, measured for issue 15). "long" draws 2000 fresh random
# examples per test, to look for new failures:  LOSSCLI_HYPOTHESIS=long make test
_COMMON: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow],
    "print_blob": True,
}
settings.register_profile("default", max_examples=30, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=2000, derandomize=False, **_COMMON)
# "mutation" (make mutation): derandomized with 3 examples per test. Each surviving mutant of the
# engine reruns every property test that reaches it. Measured with coverage.py (issue 15.5): the
# property tests of test_invariants.py and test_engine.py reach 2538 of the 2540 lines and 3182
# of the 3185 branches of losscli/losses, engine and stats.py at 3 examples, all of them at 5
# and at 30; the two lines missed (soft targets with probabilities in cross_entropy) are
# reached by test_oracles.py and test_persample.py in the same selection. 3 examples take 25%
# less CPU than 5 (6.2 s against 8.3 s for the two files).
settings.register_profile("mutation", max_examples=3, derandomize=True, **_COMMON)
settings.load_profile(os.environ.get("LOSSCLI_HYPOTHESIS", "default"))

# A plain, colourless, fixed-width environment for everything run through CliRunner
# (variables set to None are removed while the command runs).
CLI_ENV: dict[str, str | None] = {
    "COLUMNS": "100",
    "LINES": None,
    "NO_COLOR": "1",
    "TERM": "dumb",
    "FORCE_COLOR": None,
    "CLICOLOR_FORCE": None,
    "TTY_COMPATIBLE": None,
    "TTY_INTERACTIVE": None,
}


def _table_text(data: Mapping[str, Sequence[Any]], sep: str, header: bool) -> str:
    columns = list(data)
    n = len(data[columns[0]]) if columns else 0
    lines = [sep.join(columns)] if header else []
    for i in range(n):
        lines.append(sep.join("" if data[c][i] is None else str(data[c][i]) for c in columns))
    return "\n".join(lines) + "\n"


def write_file(path: Path, data: Any, *, header: bool = True) -> Path:
    """Write ``data`` to ``path`` in the format its suffix names.

    - ``.csv`` / ``.tsv`` / ``.tab`` (optionally ``.gz``) and ``.parquet`` / ``.pq``: ``data``
      is a mapping of column name -> values (``None`` is an empty field or a null).
    - any suffix: ``str`` or ``bytes`` data is written as is (gzip-compressed for ``.gz``).
    - ``.npy``: ``data`` is array-like.
    - ``.npz``: ``data`` is a mapping of array name -> array-like.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    name = path.name.lower()
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str) and not name.endswith(".gz"):
        path.write_text(data, encoding="utf-8")
    elif name.endswith((".csv", ".tsv", ".tab", ".csv.gz", ".tsv.gz")):
        sep = "\t" if ".tsv" in name or name.endswith(".tab") else ","
        text = data if isinstance(data, str) else _table_text(data, sep, header)
        if name.endswith(".gz"):
            with gzip.open(path, "wt", encoding="utf-8") as fh:
                fh.write(text)
        else:
            path.write_text(text, encoding="utf-8")
    elif name.endswith((".parquet", ".pq")):
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({k: list(v) for k, v in data.items()}), path)
    elif name.endswith(".npy"):
        np.save(path, np.asarray(data), allow_pickle=False)
    elif name.endswith(".npz"):
        np.savez(path, **{k: np.asarray(v) for k, v in data.items()})
    else:
        raise ValueError(f"write_file: no writer for {path.name}")
    return path


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write("preds.csv", {"p": [0.1, 0.9]})`` -> the path of the written file in tmp_path."""

    def _write(name: str, data: Any, **kwargs: Any) -> Path:
        return write_file(tmp_path / name, data, **kwargs)

    return _write


@pytest.fixture(scope="session")
def runner() -> CliRunner:
    return CliRunner()


def invoke(args: Sequence[Any], env: Mapping[str, str | None] | None = None) -> Result:
    """Run ``losscli`` in-process with a fixed, colourless environment."""
    merged: dict[str, str | None] = dict(CLI_ENV)
    if env:
        merged.update(env)
    return CliRunner().invoke(app, [str(a) for a in args], env=merged)


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """``run_cli(["compute", preds, labels, "--loss", "mse"])`` -> typer's ``Result``."""
    return invoke


@pytest.fixture
def sample() -> Path:
    return SAMPLE


# --------------------------------------------------------------------------- JSON Schemas

# Every JSON document any test makes (compute, check, compare; stdout or -o files) is
# validated against the schema `losscli schema NAME` prints. A document that does not match
# fails the test that made it, naming the key; update losscli/report/schema.py with the output.
VALIDATED: dict[str, int] = {"compute": 0, "check": 0, "compare": 0}


def schema_errors(name: str, doc: Any) -> list[str]:
    """Every way ``doc`` breaks the schema of ``losscli schema NAME`` (empty when valid)."""
    import json

    from jsonschema import Draft202012Validator

    from losscli.report.schema import SCHEMAS

    validator = Draft202012Validator(SCHEMAS[name](), format_checker=None)
    VALIDATED[name] += 1
    as_written = json.loads(json.dumps(doc))  # tuples become arrays, as in the output
    return [
        f"{name} JSON at /{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(as_written)
    ]


@pytest.fixture(autouse=True)
def _json_outputs_match_their_schema(monkeypatch: pytest.MonkeyPatch) -> Any:
    import losscli.report.compute as compute
    from losscli.ci.checks import CheckReport
    from losscli.ci.compare import Comparison

    problems: list[str] = []

    def checked(name: str, make: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            doc = make(*args, **kwargs)
            problems.extend(schema_errors(name, doc))
            return doc

        return wrapper

    monkeypatch.setattr(compute, "compute_document", checked("compute", compute.compute_document))
    monkeypatch.setattr(CheckReport, "to_dict", checked("check", CheckReport.to_dict))
    monkeypatch.setattr(Comparison, "to_dict", checked("compare", Comparison.to_dict))
    yield
    if problems:
        pytest.fail("JSON output does not match its schema:\n" + "\n".join(problems[:20]))


# make mutation: mutmut runs, for each mutant, the selected tests that reach the mutated
# function and stops at the first failure, in the order of a Python set (arbitrary). Under a
# mutant, run them fastest first, by the call times mutmut recorded in its stats run
# (mutants/mutmut-stats.json): a mutant that a millisecond unit test kills then costs
# milliseconds, not the seconds of the CLI tests that happened to come first. Measured on 30
# killed mutants drawn at random from functions reached by over 1,000 tests, each run in a
# process forked from a warm one as mutmut does: 249.5 CPU-s in set order, 123.2 fastest
# first. 4 of the 30 took longer fastest first: only a slower CLI test killed them (through
# the JSON schema check), which is what a unit test of the function fixes. Keeping each file's
# tests together (files by their mean time) was no better. A test whose module-scoped
# fixture is set up again when the order leaves and re-enters its file stays
# correct. Outside a mutation run the order is untouched.
_RECORDED: tuple[tuple[Path, int], dict[str, float]] | None = None


def _recorded_durations(root: Path) -> dict[str, float]:
    """mutmut's recorded call time of each test (empty outside a mutation run)."""
    global _RECORDED
    path = root / "mutmut-stats.json"
    try:
        stamp = (path, path.stat().st_mtime_ns)
    except FileNotFoundError:
        return {}
    if _RECORDED is None or _RECORDED[0] != stamp:
        import json

        _RECORDED = (stamp, json.loads(path.read_text())["duration_by_test"])
    return _RECORDED[1]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Read in mutmut's fork server (its warm-up collects the selection), so that every
    # mutant's process starts with the times loaded.
    durations = _recorded_durations(config.rootpath)
    if "__mutmut_" in os.environ.get("MUTANT_UNDER_TEST", ""):
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
