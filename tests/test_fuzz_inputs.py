"""Malformed files and flag combinations: exit 0, 2 or 3, one error line, no traceback, nothing
left in the temporary folder or beside the inputs (issue 8).

``make test`` runs FUZZ_EXAMPLES examples (well under a minute); set LOSSCLI_FUZZ_EXAMPLES
for a longer run, e.g. ``LOSSCLI_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest
tests/test_fuzz_inputs.py``.
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from conftest import invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ_EXAMPLES = int(os.environ.get("LOSSCLI_FUZZ_EXAMPLES", "60"))
SUFFIXES = [".csv", ".tsv", ".csv.gz", ".npy", ".npz", ".parquet"]
FIELDS = st.sampled_from(
    ["0", "1", "2", "0.5", "-3", "1e309", "nan", "NA", "", "a", "é", '"x,y"', "0,5", " ", "1.0"]
)


def _npy(values: list[float], shape_2d: bool) -> bytes:
    buf = io.BytesIO()
    array = np.asarray(values, dtype=np.float64)
    np.save(buf, array.reshape(-1, 1) if shape_2d else array)
    return buf.getvalue()


@st.composite
def contents(draw: st.DrawFn, suffix: str) -> bytes:
    """A file that is right, nearly right, or broken, in the format of ``suffix``."""
    rows = draw(st.lists(st.lists(FIELDS, min_size=1, max_size=4), min_size=0, max_size=6))
    sep = "\t" if suffix == ".tsv" else draw(st.sampled_from([",", ";"]))
    text = "\n".join(sep.join(r) for r in rows) + draw(st.sampled_from(["", "\n", "\r\n"]))
    raw = text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"])))
    if suffix == ".csv.gz":
        raw = gzip.compress(raw) if draw(st.booleans()) else raw
    elif suffix == ".npy":
        values = draw(st.lists(st.floats(allow_nan=True), min_size=1, max_size=5))
        raw = _npy(values, draw(st.booleans())) if draw(st.booleans()) else raw
    elif suffix == ".npz":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("p.npy", _npy([0.5, 0.1], draw(st.booleans()))[: draw(st.integers(0, 200))])
        raw = buf.getvalue() if draw(st.booleans()) else raw
    cut = draw(st.integers(0, len(raw)))
    return raw[:cut] if draw(st.booleans()) else raw


FLAGS = st.lists(
    st.sampled_from(
        [
            ["--header"],
            ["--no-header"],
            ["--delimiter", ";"],
            ["--decimal", ","],
            ["--nan", "skip"],
            ["--logits"],
            ["--probs"],
            ["--id-col", "0"],
            ["--class-labels", "name"],
            ["--top", "0"],
        ]
    ),
    max_size=3,
)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), flags=FLAGS, loss=st.sampled_from(["bce", "mse", "ce", "hinge"]))
def test_malformed_inputs_exit_cleanly(
    data: st.DataObject, flags: list[list[str]], loss: str
) -> None:
    suffixes = [data.draw(st.sampled_from(SUFFIXES)) for _ in range(2)]
    with tempfile.TemporaryDirectory() as inputs, tempfile.TemporaryDirectory() as scratch:
        paths = []
        for name, suffix in zip(("preds", "labels"), suffixes, strict=True):
            path = Path(inputs) / f"{name}{suffix}"
            if suffix == ".parquet":
                path.write_bytes(b"PAR1" + data.draw(st.binary(max_size=40)))
            else:
                path.write_bytes(data.draw(contents(suffix)))
            paths.append(path)
        before = tempfile.tempdir
        tempfile.tempdir = scratch  # losscli's temporary folders go here, to be checked
        try:
            result = invoke(["compute", *paths, "--loss", loss, *(f for g in flags for f in g)])
        finally:
            tempfile.tempdir = before
        shown = f"exit {result.exit_code}: {result.stderr}"
        assert result.exit_code in (0, 2, 3), shown
        assert "Traceback" not in result.output, shown
        assert isinstance(result.exception, SystemExit) or result.exception is None, shown
        if result.exit_code:
            assert result.stdout == "" and 1 <= len(result.stderr.strip().splitlines()) <= 2
        assert list(Path(scratch).iterdir()) == [], "temporary files left behind"
        assert sorted(Path(inputs).iterdir()) == sorted(paths)
