"""Remote paths (issue 11.5): PREDS, LABELS, shard folders, globs, --meta and --baseline as
fsspec URLs. Tested with fsspec's ``memory://`` (in-process runs) and ``file://`` (real
processes) URLs. Expected numbers: the same command on the local files (equal, not close:
the copy holds the same bytes, so the run is the same run); the report names the URL and the
sha256 of the content is the local file's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import CLI_ENV, invoke

fsspec = pytest.importorskip("fsspec")  # the losscli[remote] extra, which `make test` installs

ENTRY_POINT = Path(sys.executable).parent / "losscli"
N = 150


@pytest.fixture
def local(tmp_path: Path) -> dict[str, Path]:
    """The same predictions and labels as CSV, Parquet, NPY and a folder of CSV shards."""
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(N, 3))
    labels = rng.integers(0, 3, N)
    weights = rng.uniform(0.5, 2.0, N)
    out = {}
    frame = pd.DataFrame(logits, columns=["a", "b", "c"])
    frame.to_csv(tmp_path / "preds.csv", index=False)
    frame.to_parquet(tmp_path / "preds.parquet", index=False)
    np.save(tmp_path / "preds.npy", logits)
    pd.DataFrame({"label": labels}).to_csv(tmp_path / "labels.csv", index=False)
    pd.DataFrame({"label": labels}).to_parquet(tmp_path / "labels.parquet", index=False)
    np.save(tmp_path / "labels.npy", labels)
    pd.DataFrame({"w": weights}).to_csv(tmp_path / "meta.csv", index=False)
    shards = tmp_path / "shards"
    shards.mkdir()
    for i, (a, b) in enumerate([(0, 60), (60, 61), (61, N)]):
        frame.iloc[a:b].to_csv(shards / f"part-{i:05d}.csv", index=False)
    (shards / "_SUCCESS").write_bytes(b"")
    for path in [*tmp_path.iterdir(), *shards.iterdir()]:
        out[str(path.relative_to(tmp_path))] = path
    return out


@pytest.fixture
def memory(local: dict[str, Path]) -> Iterator[str]:
    """The local files uploaded under ``memory://bucket/run``; removed afterwards."""
    fs = fsspec.filesystem("memory")
    root = "memory://bucket/run"
    for name, path in local.items():
        if path.is_file():
            fs.pipe(f"{root}/{name}", path.read_bytes())
    yield root
    fs.rm(root, recursive=True)


def _report(args: list[Any]) -> dict[str, Any]:
    result = invoke(["compute", *args, "--loss", "ce", "--loss", "brier", "-f", "json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def _same_run(got: dict[str, Any], want: dict[str, Any], url: str) -> None:
    assert got["results"] == want["results"]
    assert got["worst"] == want["worst"]
    assert got["inputs"]["predictions"]["path"] == url.rstrip("/")  # as pathlib keeps it
    assert got["inputs"]["predictions"]["sha256"] == want["inputs"]["predictions"]["sha256"]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "npy"])
def test_memory_urls_give_the_local_numbers(local: dict[str, Path], memory: str, fmt: str) -> None:
    want = _report([local[f"preds.{fmt}"], local[f"labels.{fmt}"], "--logits"])
    url = f"{memory}/preds.{fmt}"
    got = _report([url, f"{memory}/labels.{fmt}", "--logits"])
    _same_run(got, want, url)
    assert got["inputs"]["labels"]["path"] == f"{memory}/labels.{fmt}"


@pytest.mark.parametrize("shards", ["shards", "shards/", "shards/part-*.csv"])
def test_a_remote_shard_folder_or_glob(local: dict[str, Path], memory: str, shards: str) -> None:
    want = _report([local["preds.csv"], local["labels.csv"], "--logits"])
    url = f"{memory}/{shards}"
    got = _report([url, f"{memory}/labels.csv", "--logits"])
    for g, w in zip(got["results"], want["results"], strict=True):
        assert (g["loss"], g["n"]) == (w["loss"], w["n"])
        assert g["value"] == pytest.approx(w["value"], rel=1e-12, abs=0)
    assert got["worst"] == want["worst"]
    assert got["inputs"]["predictions"]["path"] == url.rstrip("/")  # as pathlib keeps it


def test_file_urls_and_remote_meta(local: dict[str, Path], memory: str) -> None:
    weights = ["--weight-col", "w"]
    want = _report(
        [local["preds.csv"], local["labels.csv"], "--logits", "--meta", local["meta.csv"], *weights]
    )
    url = f"file://{local['preds.csv']}"
    got = _report([url, local["labels.csv"], "--logits", "--meta", f"{memory}/meta.csv", *weights])
    _same_run(got, want, url)


def test_check_with_a_remote_baseline(local: dict[str, Path], memory: str) -> None:
    base = invoke(["compute", local["preds.csv"], local["labels.csv"], "-l", "ce", "-f", "json"])
    assert base.exit_code == 0, base.output
    fsspec.filesystem("memory").pipe(f"{memory}/baseline.json", base.stdout.encode())
    args = ["check", f"{memory}/preds.csv", f"{memory}/labels.csv", "-l", "ce"]
    result = invoke([*args, "--baseline", f"{memory}/baseline.json", "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["same_data"] is True and doc["inputs"]["baseline"] == f"{memory}/baseline.json"
    assert doc["rules"][0]["passed"] is True


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("nope.csv", None, "memory://bucket/run/nope.csv: no such file"),
        ("bad.parquet", b"a,b\n1,2\n", "memory://bucket/run/bad.parquet: the data does not start"),
        ("bad.csv", b"a\x00b\n", "memory://bucket/run/bad.csv: the data holds NUL bytes"),
    ],
)
def test_bad_remote_files_exit_3_naming_the_url(
    local: dict[str, Path],
    memory: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    data: bytes | None,
    message: str,
) -> None:
    import tempfile

    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))
    if data is not None:
        fsspec.filesystem("memory").pipe(f"{memory}/{name}", data)
    result = invoke(["compute", f"{memory}/{name}", local["labels.csv"], "-l", "ce"])
    assert result.exit_code == 3, result.output
    assert message in result.stderr and "Traceback" not in result.stderr
    assert list(spill.iterdir()) == []  # the copy is gone


def test_missing_backend_or_fsspec_exit_2(
    local: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    if importlib.util.find_spec("s3fs") is None:
        result = invoke(["compute", "s3://bucket/preds.csv", local["labels.csv"], "-l", "ce"])
        assert result.exit_code == 2, result.output
        assert "pip install s3fs" in result.stderr
    unknown = invoke(["compute", "nosuchproto://x/p.csv", local["labels.csv"], "-l", "ce"])
    assert unknown.exit_code == 2 and "nosuchproto" in unknown.stderr
    monkeypatch.setitem(sys.modules, "fsspec", None)  # as if fsspec were not installed
    result = invoke(["compute", "memory://bucket/p.csv", local["labels.csv"], "-l", "ce"])
    assert result.exit_code == 2, result.output
    assert "pip install 'losscli[remote]'" in result.stderr


def _env(tmpdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    env["TMPDIR"] = str(tmpdir)
    return env


def test_installed_losscli_reads_file_urls(local: dict[str, Path], tmp_path: Path) -> None:
    spill = tmp_path / "spill"
    spill.mkdir()

    def run(*args: Any) -> subprocess.CompletedProcess[str]:
        cmd = [str(ENTRY_POINT), "compute", *map(str, args), "-l", "ce", "--logits", "-f", "json"]
        return subprocess.run(cmd, capture_output=True, text=True, env=_env(spill), check=False)

    want = run(local["preds.parquet"], local["labels.parquet"])
    got = run(f"file://{local['preds.parquet']}", f"file://{local['labels.parquet']}")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["results"] == json.loads(want.stdout)["results"]
    folder = run(f"file://{local['shards/part-00000.csv'].parent}/", local["labels.csv"])
    assert folder.returncode == 0, folder.stderr
    value = json.loads(folder.stdout)["results"][0]["value"]
    assert value == pytest.approx(json.loads(want.stdout)["results"][0]["value"], rel=1e-12)
    missing = run(f"file://{tmp_path}/nope.csv", local["labels.csv"])
    assert missing.returncode == 3 and f"file://{tmp_path}/nope.csv: no such file" in missing.stderr
    assert list(spill.iterdir()) == []


# A real process whose fsspec knows a ``slow://`` protocol: an endless CSV, 8 rows at a time.
SLOW_RUN = """
import io, sys, time
import fsspec
from fsspec.spec import AbstractFileSystem

class Endless(io.RawIOBase):
    head = b"a,b\\n"
    def readable(self):
        return True
    def readinto(self, buffer):
        time.sleep(0.005)
        data, self.head = self.head + b"0.5,0.5\\n" * 8, b""
        buffer[: len(data)] = data
        return len(data)

class Slow(AbstractFileSystem):
    protocol = "slow"
    def info(self, path, **kwargs):
        return {"name": path, "size": None, "type": "file"}
    def _open(self, path, mode="rb", **kwargs):
        return io.BufferedReader(Endless())

fsspec.register_implementation("slow", Slow)
from losscli.cli import main
sys.argv = ["losscli", "compute", "slow://bucket/preds.csv", *sys.argv[1:]]
main()
"""


def test_sigterm_during_a_remote_copy_leaves_nothing(
    local: dict[str, Path], tmp_path: Path
) -> None:
    """The copy of a slow remote file has begun when SIGTERM comes: the run ends with 143,
    one line on stderr, and the spill folder is gone."""
    spill = tmp_path / "spill"
    spill.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_RUN, str(local["labels.csv"]), "-l", "ce"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(spill),
    )
    try:
        while not [p for p in spill.rglob("remote*") if p.stat().st_size]:  # copying
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert stdout == "" and "SIGTERM" in stderr and "Traceback" not in stderr
    assert list(spill.iterdir()) == []


@pytest.mark.parametrize("option", ["-o", "--save-state", "--per-sample"])
def test_outputs_to_urls_are_refused(local: dict[str, Path], option: str) -> None:
    target = "s3://bucket/out.json" if option != "--per-sample" else "gs://bucket/rows.csv"
    args = ["compute", local["preds.csv"], local["labels.csv"], "-l", "ce", option, target]
    result = invoke(args)
    assert result.exit_code == 2, result.output
    assert f"{option} {target}: losscli writes local files only" in result.stderr
    assert not Path("s3:").exists() and not Path("gs:").exists()
