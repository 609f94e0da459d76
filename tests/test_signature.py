"""Signatures and content hashes: every result names everything that changes its value.

Expected hashes are ``hashlib.sha256`` of the file bytes, computed here independently of the
streaming hasher; expected fields come from the inputs as described next to each test.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT, SAMPLE, invoke

from losscli.engine.signature import (
    Signature,
    differences,
    loss_text,
    parse_signature,
)
from losscli.io import digest
from losscli.io.digest import ArrayDigest, ContentDigest, file_digest, hash_ahead

VERSION = version("losscli")
SEED = [SAMPLE / "seed_preds.csv", SAMPLE / "seed_labels.csv"]
IMAGES = [SAMPLE / "images_logits.csv", SAMPLE / "images_labels.csv", "--id-col", "image_id"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compute_json(*args: Any) -> dict[str, Any]:
    result = invoke(["compute", *args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_loss_text_is_canonical() -> None:
    defaults = {"label_smoothing": 0.0, "ignore_index": -100}
    assert loss_text("ce", {}, defaults) == "ce"
    # A parameter written at its default is the same loss as the plain name.
    assert loss_text("ce", {"label_smoothing": 0.0}, defaults) == "ce"
    assert (
        loss_text("ce", {"label_smoothing": 0.1, "ignore_index": 255}, defaults)
        == "ce(ignore_index=255,label_smoothing=0.1)"
    )
    assert loss_text("ce", {"weight": [1.0, 2.0]}, {}) == "ce(weight=[1.0,2.0])"


def test_signature_text_leaves_out_fields_that_do_not_apply() -> None:
    sig = Signature("mse", "losscli", "mean", "regression", 5, "ab" * 32, "9.9")
    assert sig.text() == (
        "loss:mse|convention:losscli|reduction:mean|task:regression|n:5|"
        "labels:abababababab|version:9.9"
    )
    full = Signature("ce", "torch", "sum", "multiclass", 3, "c" * 64, "1", "logits", 4, "w", "a=b")
    assert parse_signature(full.text()) == {
        "loss": "ce",
        "convention": "torch",
        "reduction": "sum",
        "kind": "logits",
        "task": "multiclass",
        "classes": "4",
        "weights": "w",
        "slice": "a=b",
        "n": "3",
        "labels": "cccccccccccc",
        "version": "1",
    }


def test_signature_values_cannot_break_the_line() -> None:
    sig = Signature("mse", "losscli", "mean", "regression", 1, "0" * 64, "1", weights="a|b\nc")
    assert "\n" not in sig.text()
    assert parse_signature(sig.text())["weights"] == "a/b c"


def test_differences_ignore_the_version_and_the_kind() -> None:
    a = parse_signature("loss:ce|task:multiclass|classes:5|n:200|labels:aaa|version:0.1")
    b = parse_signature("loss:ce|kind:probs|task:binary|classes:2|n:3|labels:bbb|version:0.2")
    assert [(d.field, d.baseline, d.now) for d in differences(a, b)] == [
        ("task", "multiclass", "binary"),
        ("classes", "5", "2"),
        ("n", "200", "3"),
        ("labels", "aaa", "bbb"),
    ]
    assert differences(a, {**a, "version": "7"}) == []


def test_compute_json_carries_version_hashes_and_signatures() -> None:
    doc = compute_json(*IMAGES, "--loss", "ce", "--loss", "cross_entropy:label_smoothing=0.1")
    assert doc["losscli_version"] == VERSION
    assert doc["inputs"]["predictions"]["sha256"] == sha256(SAMPLE / "images_logits.csv")
    labels_hash = sha256(SAMPLE / "images_labels.csv")
    assert doc["inputs"]["labels"]["sha256"] == labels_hash
    # sample_data/README: 200 images, 5 classes, logits.
    common = (
        f"convention:losscli|reduction:mean|kind:logits|task:multiclass|classes:5|n:200|"
        f"labels:{labels_hash[:12]}|version:{VERSION}"
    )
    sigs = [r["signature"] for r in doc["results"]]
    # An alias names the same loss: the signature uses the registry name.
    assert sigs == [f"loss:ce|{common}", f"loss:ce(label_smoothing=0.1)|{common}"]


def test_signature_fields_follow_the_settings() -> None:
    doc = compute_json(*SEED, "--loss", "mse", "--loss", "ce", "--reduction", "sum")
    mse, ce = (parse_signature(r["signature"]) for r in doc["results"])
    # mse does not read predictions as probabilities or logits: no kind.
    assert "kind" not in mse and ce["kind"] == "probs"
    assert mse["reduction"] == ce["reduction"] == "sum"
    assert (mse["task"], mse["classes"], mse["n"]) == ("binary", "2", "3")
    torch = compute_json(*SEED, "--loss", "ce", "--convention", "torch")
    assert parse_signature(torch["results"][0]["signature"])["convention"] == "torch"
    regression = compute_json(
        SAMPLE / "house_prices_preds.parquet", SAMPLE / "house_prices_labels.parquet", "-l", "mae"
    )
    sig = parse_signature(regression["results"][0]["signature"])
    assert sig["task"] == "regression" and "classes" not in sig and "kind" not in sig
    assert "weights" not in sig and "slice" not in sig


def test_stdin_is_hashed_like_the_file() -> None:
    from typer.testing import CliRunner

    from losscli.cli.app import app

    data = (SAMPLE / "seed_preds.csv").read_text(encoding="utf-8")
    ok = CliRunner().invoke(
        app,
        ["compute", "-", str(SEED[1]), "-l", "mse", "--preds-format", "csv", "-f", "json"],
        input=data,
    )
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["inputs"]["predictions"]["sha256"] == sha256(SEED[0])


def test_content_digest_streams_several_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(bytes(range(256)) * 5000)  # more than one 1 MiB block in total
    b.write_bytes(b"tail")
    expected = hashlib.sha256(a.read_bytes() + b.read_bytes()).hexdigest()
    assert ContentDigest([a, b]).hexdigest() == expected


def test_hash_ahead_starts_regular_files_only(tmp_path: Path) -> None:
    """compute starts hashing its inputs before its imports: a regular file's pass starts
    (the reader's ``file_digest`` then finds it started); standard input, a named pipe (whose
    bytes a hash would consume), a folder and a missing file are left to the readers."""
    data = tmp_path / "preds.csv"
    data.write_bytes(b"pred\n" + b"0.25\n" * 100_000)
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    before = dict(digest._STARTED)
    hash_ahead([data, None, Path("-"), pipe, tmp_path, tmp_path / "missing.csv"])
    started = {key[0] for key in set(digest._STARTED) - set(before)}
    assert started == {str(data.resolve())}
    assert file_digest(data).hexdigest() == sha256(data)


def test_array_digest_tells_dtype_and_shape_apart() -> None:
    x = np.arange(6, dtype=np.float64)
    assert ArrayDigest(x).hexdigest() == ArrayDigest(x.copy()).hexdigest()
    assert ArrayDigest(x).hexdigest() != ArrayDigest(x.reshape(2, 3)).hexdigest()
    assert ArrayDigest(x).hexdigest() != ArrayDigest(x.astype(np.float32)).hexdigest()


def test_python_api_results_are_signed() -> None:
    import losscli

    r = losscli.compute("mse", [0.9, 0.2, 0.4], [1, 0, 1])
    sig = parse_signature(r.signature)
    assert sig["loss"] == "mse" and sig["n"] == "3" and sig["version"] == VERSION


def test_table_footer_and_markdown_details() -> None:
    table = invoke(["compute", *SEED, "--loss", "ce", "--top", "0"])
    assert table.exit_code == 0, table.stderr
    line = next(x for x in table.stdout.splitlines() if x.startswith("signature ce: "))
    json_sig = compute_json(*SEED, "--loss", "ce")["results"][0]["signature"]
    assert line == f"signature ce: {json_sig}"  # whole, never wrapped or cut
    md = invoke(["compute", *SEED, "--loss", "ce", "--format", "markdown"]).stdout
    assert f"<details><summary>Signatures</summary>\n\n- `ce`: `{json_sig}`\n\n</details>" in md


def test_installed_entry_point_prints_signatures() -> None:
    exe = Path(sys.executable).parent / "losscli"
    proc = subprocess.run(
        [str(exe), "compute", *map(str, SEED), "--loss", "ce", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["inputs"]["labels"]["sha256"] == sha256(SEED[1])
    assert parse_signature(doc["results"][0]["signature"])["labels"] == sha256(SEED[1])[:12]


@pytest.mark.parametrize("name", ["seg_labels.npy", "dist_labels.npy"])
def test_array_files_are_hashed(name: str) -> None:
    preds = name.replace("labels", "logits" if name.startswith("seg") else "preds")
    # ignore_index applies to class maps only: probability targets refuse it, as torch does.
    spec = "ce:ignore_index=255" if name.startswith("seg") else "ce"
    doc = compute_json(SAMPLE / preds, SAMPLE / name, "--loss", spec)
    assert doc["inputs"]["labels"]["sha256"] == sha256(SAMPLE / name)
