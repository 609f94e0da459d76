"""``losscli check --state`` (issue 11.3): gate on saved states with the rules, config and
baseline comparison of ``check`` on files. Expected outputs: the check on the files the
states came from (the same report for one state; for merged parts the same rules and
outcomes, values to 1e-12 relative since the sums run in another order)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import CLI_ENV, invoke
from state_helpers import assert_close

CUTS = [(0, 90), (90, 91), (91, 240)]
LOSSES = ["--loss", "ce", "--loss", "focal:gamma=2"]
READ = ["--logits"]


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Path]:
    """Two models' logits (``new``, ``old``) and one labels file, whole and in 3 parts."""
    rng = np.random.default_rng(31)
    n = CUTS[-1][1]
    labels = pd.DataFrame({"label": rng.integers(0, 3, n)})
    frames = {"labels": labels}
    for name, scale in (("new", 1.5), ("old", 1.0)):
        frames[name] = pd.DataFrame(rng.normal(size=(n, 3)) * scale, columns=["a", "b", "c"])
    out = {}
    for name, frame in frames.items():
        out[name] = tmp_path / f"{name}.csv"
        frame.to_csv(out[name], index=False)
        for i, (a, b) in enumerate(CUTS):
            out[f"{name}{i}"] = tmp_path / f"{name}{i}.csv"
            frame.iloc[a:b].to_csv(out[f"{name}{i}"], index=False)
    return out


def _save(preds: Path, labels: Path, state: Path) -> Path:
    result = invoke(["compute", preds, labels, *READ, *LOSSES, "--save-state", state, "-q"])
    assert result.exit_code == 0, result.output
    return state


def _check(args: list[Any]) -> tuple[int, dict[str, Any], str]:
    result = invoke(["check", *args, "-f", "json"])
    return result.exit_code, json.loads(result.stdout), result.stderr


def _baseline(preds: Path, labels: Path, out: Path) -> Path:
    result = invoke(["compute", preds, labels, *READ, *LOSSES, "-f", "json"])
    assert result.exit_code == 0, result.output
    out.write_text(result.stdout)
    return out


# ce of the new model is 1.5717 and of the old 1.3726 (NumPy: logsumexp(z) - z[y] over the
# fixture's rows), so each rule below holds or fails as its exit code says.
RULES = [
    ["--max", "ce=2"],  # holds
    ["--max", "ce=1.5", "--max", "focal:gamma=2=2"],  # ce fails
    ["--max-increase", "1%"],  # against the baseline: the new model is worse
    ["--max-increase", "200%", "--significant"],  # Welch's test from n and std
]


@pytest.mark.parametrize(("rules", "code"), list(zip(RULES, [0, 1, 1, 0], strict=True)))
def test_a_state_gates_as_its_files(
    data: dict[str, Path], tmp_path: Path, rules: list[str], code: int
) -> None:
    state = _save(data["new"], data["labels"], tmp_path / "new.state.json")
    baseline = _baseline(data["old"], data["labels"], tmp_path / "old.json")
    extra = ["--baseline", baseline] if "--max-increase" in rules else []
    want = _check([data["new"], data["labels"], *READ, *LOSSES, *rules, *extra])
    got = _check(["--state", state, *LOSSES, *rules, *extra])
    assert got == want
    assert want[0] == code


def _without_inputs(doc: dict[str, Any]) -> dict[str, Any]:
    """A check report without what names the inputs: paths, and the labels hash in the
    signatures (parts' hashes are hashed, the whole file has its own)."""
    doc = json.loads(json.dumps(doc))
    doc.pop("inputs")
    for result in doc["results"]:
        result["signature"] = "|".join(
            p for p in result["signature"].split("|") if not p.startswith("labels:")
        )
    return doc


@pytest.mark.parametrize("rules", RULES[:2])
def test_merged_states_gate_as_the_whole_files(
    data: dict[str, Path], tmp_path: Path, rules: list[str]
) -> None:
    states = [
        _save(data[f"new{i}"], data[f"labels{i}"], tmp_path / f"new{i}.json")
        for i in range(len(CUTS))
    ]
    code, want, _ = _check([data["new"], data["labels"], *READ, *LOSSES, *rules])
    state_args = [x for s in states for x in ("--state", s)]
    got_code, got, _ = _check([*state_args, *LOSSES, *rules])
    assert got_code == code
    assert got["inputs"]["predictions"] == " + ".join(str(data[f"new{i}"]) for i in range(3))
    assert_close(_without_inputs(got), _without_inputs(want))


def test_merged_states_against_a_merged_baseline(data: dict[str, Path], tmp_path: Path) -> None:
    """CI matrix jobs: a baseline merged from the same parts has the same labels hash, so it
    is comparable; a baseline of the whole labels file is another labels hash (exit 3)."""
    new = [
        _save(data[f"new{i}"], data[f"labels{i}"], tmp_path / f"new{i}.json")
        for i in range(len(CUTS))
    ]
    old = [
        _save(data[f"old{i}"], data[f"labels{i}"], tmp_path / f"old{i}.json")
        for i in range(len(CUTS))
    ]
    merged = invoke(["merge", *old, "-f", "json"])
    assert merged.exit_code == 0, merged.output
    (tmp_path / "old-merged.json").write_text(merged.stdout)
    args = [x for s in new for x in ("--state", s)]
    code, doc, _ = _check([*args, *LOSSES, "--baseline", tmp_path / "old-merged.json"])
    assert code == 1 and doc["same_data"] is True
    whole = _baseline(data["old"], data["labels"], tmp_path / "old.json")
    refused = invoke(["check", *args, *LOSSES, "--baseline", whole])
    assert refused.exit_code == 3 and "labels" in refused.stderr
    allowed = invoke(["check", *args, *LOSSES, "--baseline", whole, "--allow-different-data"])
    assert allowed.exit_code == 1, allowed.output


def test_state_from_config_rules(data: dict[str, Path], tmp_path: Path) -> None:
    """Rules from losscli.toml apply to a state as to files; its preds/labels are not used."""
    state = _save(data["new"], data["labels"], tmp_path / "new.state.json")
    (tmp_path / "losscli.toml").write_text(
        'preds = "nowhere.csv"\nlabels = "nowhere.csv"\nloss = ["ce"]\n[max]\nce = 0.5\n'
    )
    result = invoke(["check", "--state", state, "--config", tmp_path / "losscli.toml"])
    assert result.exit_code == 1, result.output
    assert "ce = " in result.stderr and "> max 0.5" in result.stderr


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["PREDS"], 2, "leave out preds"),
        (["--id-col", "x"], 2, "leave out id-col"),
        (["--baseline-preds", "OLD"], 2, "leave out baseline-preds"),
        (["--group-by", "g"], 2, "--group-by g: the saved states hold no slices"),
        (["--slice-max", "ce=1"], 2, "--slice-max needs --group-by"),
        (["--min-slice-size", "5"], 2, "leave out min-slice-size"),
        (["--max", "mse=1"], 2, "hold no mse (they hold ce, focal:gamma=2)"),
    ],
)
def test_state_usage_errors(
    data: dict[str, Path], tmp_path: Path, extra: list[str], code: int, message: str
) -> None:
    state = _save(data["new"], data["labels"], tmp_path / "new.state.json")
    extra = [
        str(data["new"]) if x == "PREDS" else str(data["old"]) if x == "OLD" else x for x in extra
    ]
    result = invoke(["check", *extra, "--state", state, "--max", "ce=1"])
    assert result.exit_code == code, result.output
    assert message in result.stderr and result.stdout == ""


def test_bad_state_exits_3(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"format": "losscli-state", "version": 99}')
    result = invoke(["check", "--state", tmp_path / "s.json", "--max", "ce=1"])
    assert result.exit_code == 3 and "state version 99" in result.stderr


def test_installed_check_state(data: dict[str, Path], tmp_path: Path) -> None:
    state = _save(data["new"], data["labels"], tmp_path / "new.state.json")
    exe = Path(sys.executable).parent / "losscli"
    env = {k: v for k, v in CLI_ENV.items() if v is not None}

    def run(args: list[Any]) -> subprocess.CompletedProcess[str]:
        cmd = [str(exe), "check", *map(str, args), "-f", "json"]
        return subprocess.run(cmd, capture_output=True, text=True, env=env)

    for rule in ("ce=2", "ce=1.5"):
        files = run([data["new"], data["labels"], *READ, "--loss", "ce", "--max", rule])
        states = run(["--state", state, "--loss", "ce", "--max", rule])
        assert (states.returncode, states.stdout) == (files.returncode, files.stdout)
        assert states.returncode == (0 if rule == "ce=2" else 1)
    missing = run(["--state", tmp_path / "nope.json", "--max", "ce=1"])
    assert missing.returncode == 3 and "no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
