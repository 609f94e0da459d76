"""Files as real tools write them: read correctly, or refused with exit 3 and the fix (issue 8).

Expected values: the article's example (REFERENCES.md: sklearn log_loss 0.4149315996, torch
mse_loss 0.1366666667) and torch cross_entropy on REFERENCES.md's logits (0.4902972751);
wide-file values are computed here with scipy.special.logsumexp (the formula of torch's
cross_entropy), named next to each test.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_cli_errors import assert_cli_error

ART_BCE = 0.4149315996  # sklearn 1.9.1 log_loss([1, 0, 1], [0.9, 0.2, 0.4])
ART_MSE = 0.1366666667  # torch 2.13.0 mse_loss
REF_CE = 0.4902972751  # torch 2.13.0 cross_entropy on REFERENCES.md's logits and targets
REF_LOGITS = [[2, 0.5, -1], [0.1, 1.5, 0.3], [-0.5, 0.2, 2.2], [1, 1, 1]]
REF_TARGETS = [0, 1, 2, 1]
ENTRY_POINT = Path(sys.executable).parent / "losscli"


def value(run_cli: Any, *args: Any) -> tuple[float, list[str]]:
    result = run_cli(["compute", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    decisions = [f"{n['decision']}: {n['reason']}" for n in doc["interpretation"]]
    return doc["results"][0]["value"], decisions


@pytest.fixture
def labels(write: Any) -> Path:
    return write("y.csv", {"y": [1, 0, 1]})


# --------------------------------------------------------------------------- text encodings


def test_excel_utf8_bom_is_read(run_cli: Any, write: Any, labels: Path) -> None:
    preds = write("bom.csv", "\ufeffp\r\n0.9\r\n0.2\r\n0.4\r\n".encode())
    assert value(run_cli, preds, labels, "--loss", "bce")[0] == pytest.approx(ART_BCE, abs=5e-11)


def test_quoted_header_with_a_comma_is_read(run_cli: Any, write: Any) -> None:
    preds = write("p.csv", '"p(1), calibrated"\n0.9\n0.2\n0.4\n')
    labels = write("q.csv", 'id,"label, final"\na,1\nb,0\nc,1\n')
    got, _ = value(run_cli, preds, labels, "--loss", "bce", "--label-col", "label, final")
    assert got == pytest.approx(ART_BCE, abs=5e-11)


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        ("pé\n0.9\n0.2\n0.4\n".encode("latin-1"), r"not UTF-8 \(byte 0xe9.*iconv -f latin1"),
        ("p\n0.9\n0.2\n0.4\n".encode("utf-16"), r"is UTF-16 text; losscli reads UTF-8"),
        ("p\n0.9\n".encode("utf-16-le"), r"NUL bytes"),
    ],
    ids=["latin-1", "utf-16", "utf-16-no-bom"],
)
def test_other_encodings_are_refused(
    run_cli: Any, write: Any, labels: Path, data: bytes, pattern: str
) -> None:
    preds = write("enc.csv", data)
    assert_cli_error(run_cli(["compute", preds, labels, "--loss", "bce"]), 3, pattern)


def _random_gzip() -> bytes:
    values = np.random.default_rng(1).random(100_000)
    return gzip.compress(("p\n" + "\n".join(f"{v:.17g}" for v in values) + "\n").encode())


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"p\n0.9\n0.2\n0.4\n", r"not a valid gzip file"),
        (_random_gzip()[:20_000], r"not a valid gzip file"),
    ],
    ids=["plain-text", "truncated"],
)
def test_bad_gzip_is_refused(
    run_cli: Any, write: Any, labels: Path, data: bytes, pattern: str
) -> None:
    preds = write("p.csv.gz", data)
    assert_cli_error(run_cli(["compute", preds, labels, "--loss", "bce"]), 3, pattern)


def test_named_pipe_is_read_once(run_cli: Any, tmp_path: Path, labels: Path) -> None:
    import io
    import threading

    fifo = tmp_path / "p.npy"
    os.mkfifo(fifo)
    buf = io.BytesIO()
    np.save(buf, np.array([[0.9], [0.2], [0.4]], dtype=np.float32))

    def feed() -> None:
        with fifo.open("wb") as fh:
            fh.write(buf.getvalue())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    got, _ = value(run_cli, fifo, labels, "--loss", "bce")
    writer.join(10)
    assert got == pytest.approx(ART_BCE, abs=1e-6)


def test_named_pipe_errors_name_the_pipe(run_cli: Any, tmp_path: Path, labels: Path) -> None:
    import threading

    fifo = tmp_path / "p.csv"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("w") as fh:
            fh.write("p\n0.9\nabc\n0.4\n")

    threading.Thread(target=feed, daemon=True).start()
    result = run_cli(["compute", fifo, labels, "--loss", "bce"])
    assert_cli_error(result, 3, rf"^error: {fifo}: column 'p' is not numeric")
    assert "losscli-" not in result.stderr


# --------------------------------------------------------------------------- headers


def test_pandas_default_header_is_a_header(run_cli: Any, tmp_path: Path, write: Any) -> None:
    import pandas as pd

    preds = tmp_path / "logits.csv"
    pd.DataFrame(np.array(REF_LOGITS, dtype=float)).to_csv(preds, index=False)
    assert preds.read_text().startswith("0,1,2\n")
    labels = write("t.npy", REF_TARGETS)
    got, decisions = value(run_cli, preds, labels, "--loss", "ce", "--logits")
    assert got == pytest.approx(REF_CE, abs=5e-11)
    assert any(d.startswith(f"first row of {preds} read as a header") for d in decisions)
    # --no-header overrides: the row 0,1,2 becomes a fifth sample, so the lengths differ.
    result = run_cli(["compute", preds, labels, "--loss", "ce", "--no-header"])
    assert_cli_error(result, 3, r"has 5 rows but .* has 4")


def test_pandas_series_header_over_whole_numbers(run_cli: Any, tmp_path: Path) -> None:
    import pandas as pd

    preds = tmp_path / "logits.csv"
    labels = tmp_path / "labels.csv"
    pd.DataFrame(np.array(REF_LOGITS, dtype=float)).to_csv(preds, index=False)
    pd.Series(REF_TARGETS).to_csv(labels, index=False)
    assert labels.read_text() == "0\n0\n1\n2\n1\n"
    # Header or data? Whole numbers below do not tell: read as data, the lengths then differ,
    # and the message names the fix.
    result = run_cli(["compute", preds, labels, "--loss", "ce", "--logits"])
    assert_cli_error(result, 3, r"if the first row of .*labels\.csv is a header, pass --header")
    got, decisions = value(run_cli, preds, labels, "--loss", "ce", "--logits", "--header")
    assert got == pytest.approx(REF_CE, abs=5e-11)
    assert f"first row of {labels} read as a header: --header given" in decisions


def test_headerless_numbers_are_data_and_said_so(run_cli: Any, write: Any) -> None:
    preds = write("p.csv", "0.9\n0.2\n0.4\n")
    labels = write("y.csv", "1\n0\n1\n")
    got, decisions = value(run_cli, preds, labels, "--loss", "bce")
    assert got == pytest.approx(ART_BCE, abs=5e-11)
    assert any("read as data: every field of the first row is a number" in d for d in decisions)


def test_european_csv(run_cli: Any, write: Any) -> None:
    both = write("eu.csv", "p;y\n0,9;1\n0,2;0\n0,4;1\n")
    args = [both, both, "--label-col", "y", "--pred-cols", "p", "--loss", "mse"]
    got, _ = value(run_cli, *args, "--delimiter", ";", "--decimal", ",")
    assert got == pytest.approx(ART_MSE, abs=5e-11)
    result = run_cli(["compute", *args, "--decimal", ","])
    assert_cli_error(result, 2, r"--decimal ',' is also the field separator")


def test_dialect_options_refused_for_binary_files(run_cli: Any, write: Any) -> None:
    preds = write("p.npy", [0.9, 0.2, 0.4])
    labels = write("y.npy", [1, 0, 1])
    result = run_cli(["compute", preds, labels, "--loss", "mse", "--delimiter", ";"])
    assert_cli_error(result, 2, r"apply to text tables \(\.csv \.csv\.gz \.tsv.*no input is one")


# --------------------------------------------------------------------------- wide and long


def test_gpt2_wide_csv(run_cli: Any, write: Any) -> None:
    from scipy.special import logsumexp

    n_classes, y = 50_257, [5, 7, 50_000]
    z = np.random.default_rng(8).normal(size=(3, n_classes))
    lines = [",".join(f"tok{j}" for j in range(n_classes))]
    lines += [",".join(f"{v:.17g}" for v in row) for row in z]
    preds = write("wide.csv", "\n".join(lines) + "\n")
    labels = write("y.csv", {"y": y})
    # torch's cross_entropy: logsumexp(z) - z[y], mean over rows.
    expected = float(np.mean([logsumexp(z[i]) - z[i, y[i]] for i in range(3)]))
    got, _ = value(run_cli, preds, labels, "--loss", "ce", "--logits", "--top", "0")
    assert got == pytest.approx(expected, rel=1e-12)


def test_rows_over_one_mib(run_cli: Any, write: Any, labels: Path) -> None:
    preds = write("long.csv", "note,p\n" + "x" * 3_000_000 + ",0.9\nb,0.2\nc,0.4\n")
    got, _ = value(run_cli, preds, labels, "--loss", "bce", "--pred-cols", "p")
    assert got == pytest.approx(ART_BCE, abs=5e-11)


# --------------------------------------------------------------------------- parquet


def _parquet(path: Path, columns: dict[str, Any]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path)
    return path


def test_arrow_score_lists(run_cli: Any, tmp_path: Path, write: Any) -> None:
    import pyarrow as pa

    scores = [[0.1, 0.9], [0.8, 0.2], [0.6, 0.4]]
    labels = write("y.csv", {"y": [1, 0, 1]})
    for typ in (pa.list_(pa.float32()), pa.list_(pa.float64(), 2), pa.large_list(pa.float64())):
        preds = _parquet(tmp_path / "p.parquet", {"probs": pa.array(scores, typ)})
        got, _ = value(run_cli, preds, labels, "--loss", "ce", "--probs", "--top", "1")
        # sklearn log_loss([1, 0, 1], scores) = -(log .9 + log .8 + log .4) / 3
        assert got == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.4])), rel=1e-6), typ


def test_polars_score_lists(run_cli: Any, tmp_path: Path, write: Any) -> None:
    pl = pytest.importorskip("polars")
    preds = tmp_path / "p.parquet"
    pl.DataFrame({"probs": [[0.1, 0.9], [0.8, 0.2], [0.6, 0.4]]}).write_parquet(preds)
    labels = write("y.csv", {"y": [1, 0, 1]})
    got, _ = value(run_cli, preds, labels, "--loss", "ce", "--probs")
    assert got == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.4])), rel=1e-12)


@pytest.mark.parametrize(
    ("columns", "pattern"),
    [
        ("ragged", r"score lists of different lengths \(2 in the first row, 3 at row 1"),
        ("struct", r"no numeric prediction column"),
        ("text-list", r"no numeric prediction column"),
    ],
)
def test_parquet_columns_that_are_not_scores(
    run_cli: Any, tmp_path: Path, labels: Path, columns: str, pattern: str
) -> None:
    import pyarrow as pa

    data = {
        "ragged": {"p": pa.array([[0.1, 0.9], [0.2, 0.3, 0.5], [0.5, 0.5]])},
        "struct": {"p": pa.array([{"a": 1.0}, {"a": 2.0}, {"a": 0.5}])},
        "text-list": {"p": pa.array([["a"], ["b"], ["c"]])},
    }[columns]
    preds = _parquet(tmp_path / "p.parquet", data)
    assert_cli_error(run_cli(["compute", preds, labels, "--loss", "ce"]), 3, pattern)


def test_struct_column_beside_predictions_is_ignored_and_said(
    run_cli: Any, tmp_path: Path, labels: Path
) -> None:
    import pyarrow as pa

    meta = pa.array([{"a": 1.0}, {"a": 2.0}, {"a": 0.5}])
    preds = _parquet(tmp_path / "p.parquet", {"meta": meta, "p": [0.9, 0.2, 0.4]})
    got, decisions = value(run_cli, preds, labels, "--loss", "bce")
    assert got == pytest.approx(ART_BCE, abs=5e-11)
    assert any(d.startswith("ignored column meta") and "struct<a: double>" in d for d in decisions)


def test_duplicate_parquet_columns(run_cli: Any, tmp_path: Path, labels: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_arrays([pa.array([0.9, 0.2, 0.4])] * 2, names=["p", "p"])
    pq.write_table(table, tmp_path / "dup.parquet")
    result = run_cli(["compute", tmp_path / "dup.parquet", labels, "--loss", "bce"])
    assert_cli_error(result, 3, r"duplicate column names: p")


# --------------------------------------------------------------------------- npz


def test_npz_with_a_member_that_is_not_an_array(run_cli: Any, tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "p.npz", "w") as zf:
        zf.writestr("notes.txt", "hello")
    np.save(tmp_path / "y.npy", [1, 0, 1])
    result = run_cli(["compute", tmp_path / "p.npz", tmp_path / "y.npy", "--loss", "bce"])
    assert_cli_error(result, 3, r"p\.npz\[notes\.txt\] is not a NumPy array")


def test_npz_member_larger_than_its_header_declares(run_cli: Any, tmp_path: Path) -> None:
    import io

    buf = io.BytesIO()
    np.save(buf, np.array([0.9, 0.2, 0.4]))
    with zipfile.ZipFile(tmp_path / "p.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("p.npy", buf.getvalue() + b"\x00" * 1_000_000)
    np.save(tmp_path / "y.npy", [1, 0, 1])
    result = run_cli(["compute", tmp_path / "p.npz", tmp_path / "y.npy", "--loss", "bce"])
    assert_cli_error(result, 3, r"the header declares \(3,\) float64 \(24 bytes\) but the archive")


def test_npz_streams_in_chunks(run_cli: Any, tmp_path: Path) -> None:
    p = np.tile([0.9, 0.2, 0.4], 1000)
    np.savez_compressed(tmp_path / "p.npz", p=p[:, None].astype(np.float32))
    np.savez_compressed(tmp_path / "y.npz", y=np.tile([1, 0, 1], 1000))
    args = [tmp_path / "p.npz", tmp_path / "y.npz", "--loss", "bce", "--chunk-rows", "7"]
    assert value(run_cli, *args)[0] == pytest.approx(ART_BCE, abs=1e-6)


# --------------------------------------------------------------------------- a real process


def test_bom_and_bad_gzip_through_the_installed_entry_point(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_bytes("\ufeffp\n0.9\n0.2\n0.4\n".encode())
    (tmp_path / "y.csv").write_text("y\n1\n0\n1\n")
    (tmp_path / "bad.csv.gz").write_text("p\n0.9\n")
    run = [str(ENTRY_POINT), "compute"]
    ok = subprocess.run(
        [*run, "p.csv", "y.csv", "-l", "bce", "-f", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["results"][0]["value"] == pytest.approx(ART_BCE, abs=5e-11)
    bad = subprocess.run(
        [*run, "bad.csv.gz", "y.csv", "-l", "bce"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert bad.returncode == 3
    assert bad.stdout == ""
    assert "bad.csv.gz: not a valid gzip file" in bad.stderr
    assert "Traceback" not in bad.stderr


# --------------------------------------------------------------------------- standard input


def test_stdin_errors_name_stdin_not_a_temporary_path(labels: Path) -> None:
    from conftest import CLI_ENV
    from typer.testing import CliRunner

    from losscli.cli.app import app

    args = ["compute", "-", str(labels), "--preds-format", "csv", "--loss", "bce"]
    result = CliRunner().invoke(app, args, input="p\n0.9\nabc\n0.4\n", env=CLI_ENV)
    assert_cli_error(result, 3, r"^error: <stdin>: column 'p' is not numeric")
    assert "losscli-" not in result.stderr


def test_stdin_that_is_not_the_format_stops_at_once(labels: Path) -> None:
    # ``< /dev/zero`` with --preds-format npy: refused after the first block, nothing copied.
    with Path("/dev/zero").open("rb") as zero:
        proc = subprocess.run(
            [str(ENTRY_POINT), "compute", "-", str(labels), "--preds-format", "csv", "-l", "bce"],
            stdin=zero,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    assert proc.returncode == 3
    assert "<stdin>: the data holds NUL bytes, so it is not .csv text" in proc.stderr


# --------------------------------------------------------------------------- silent misreadings

NUMBERED = "1,2,3\n0.2,0.5,0.3\n0.1,0.1,0.8\n0.6,0.3,0.1\n"
# Hand derivations (cross-entropy of probabilities, -mean log p[true]):
# labels 1, 2, 2 as column names "1", "2", "2": p = 0.2, 0.1, 0.3 -> 1.7053319366
# (scikit-learn's log_loss(y, p, labels=[1, 2, 3]) reads them so);
# as positions 1, 2, 2: p = 0.5, 0.8, 0.1 -> 1.0729586083.
AS_NAMES = -float(np.mean(np.log([0.2, 0.1, 0.3])))
AS_POSITIONS = -float(np.mean(np.log([0.5, 0.8, 0.1])))


def test_numbered_columns_and_whole_number_labels_ask(run_cli: Any, write: Any) -> None:
    preds, labels = write("p.csv", NUMBERED), write("y.csv", {"y": [1, 2, 2]})
    result = run_cli(["compute", preds, labels, "--loss", "ce"])
    assert_cli_error(result, 2, r"positions 0\.\.C-1 or column names\? pass --class-labels")
    named, decisions = value(run_cli, preds, labels, "--loss", "ce", "--class-labels", "name")
    assert named == pytest.approx(AS_NAMES, rel=1e-12)
    assert "multiclass task: 3 classes (1, 2, 3): labels are class names: the prediction " in (
        " ".join(decisions)
    )
    index, _ = value(run_cli, preds, labels, "--loss", "ce", "--class-labels", "index")
    assert index == pytest.approx(AS_POSITIONS, rel=1e-12)
    assert round(named, 10) == 1.7053319366 and round(index, 10) == 1.0729586083


def test_numbered_columns_read_as_names_when_only_names_fit(run_cli: Any, write: Any) -> None:
    # Label 3 is no position of three columns: only the names reading fits.
    preds, labels = write("p.csv", NUMBERED), write("y.csv", {"y": [1, 3, 2]})
    got, _ = value(run_cli, preds, labels, "--loss", "ce")
    assert got == pytest.approx(-float(np.mean(np.log([0.2, 0.8, 0.3]))), rel=1e-12)


def test_bce_with_class_indices_against_columns_is_refused(run_cli: Any, write: Any) -> None:
    # Keras' binary_crossentropy raises on (N,) indices against (N, C) probabilities.
    preds = write("p.csv", "a,b,c\n0.2,0.5,0.3\n0.1,0.1,0.8\n0.6,0.3,0.1\n")
    labels = write("y.csv", {"y": [0, 2, 1]})
    result = run_cli(["compute", preds, labels, "--loss", "bce"])
    assert_cli_error(result, 2, r"bce reads each column as a class of its own.*use ce")


def test_ignore_index_with_probability_targets_is_refused(run_cli: Any, write: Any) -> None:
    # torch.nn.functional.cross_entropy raises for ignore_index with floating point targets.
    probs = write("p.csv", "a,b,c\n0.2,0.5,0.3\n0.1,0.1,0.8\n0.6,0.3,0.1\n")
    result = run_cli(["compute", probs, probs, "--loss", "ce:ignore_index=1"])
    assert_cli_error(result, 2, r"ignore_index applies to class-index labels")


def test_label_rows_summing_to_zero(run_cli: Any, write: Any) -> None:
    probs = write("p.csv", "a,b,c\n0.2,0.5,0.3\n0.1,0.1,0.8\n0.6,0.3,0.1\n")
    soft = write("y.csv", "a,b,c\n0,1,0\n0,0,0\n1,0,0\n")
    result = run_cli(["compute", probs, soft, "--loss", "ce"])
    assert_cli_error(result, 3, r"label rows must hold a distribution.*row 1 sums to 0")


def test_every_label_the_same_names_the_cause(run_cli: Any, write: Any) -> None:
    preds, labels = write("p.csv", {"p": [0.9, 0.2, 0.4]}), write("y.csv", {"y": [2, 2, 2]})
    result = run_cli(["compute", preds, labels, "--loss", "bce"])
    assert_cli_error(result, 2, r"every label is 2; a binary task needs two label values")
    assert "more than two" not in result.stderr


# --------------------------------------------------------------------------- id joins


def test_id_join_spreads_over_buckets_and_keeps_the_predictions_order(
    run_cli: Any, write: Any, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    n = 5000
    ids = [f"img-{i:05d}" for i in range(n)]
    p, y = rng.random(n), rng.integers(0, 2, n)
    perm = rng.permutation(n)
    preds = write("p.csv", {"id": ids, "p": list(p)})
    labels = write("y.csv", {"id": [ids[i] for i in perm], "y": list(y[perm])})
    out = tmp_path / "rows.csv"
    got, _ = value(run_cli, preds, labels, "--id-col", "id", "--loss", "mse", "--per-sample", out)
    assert got == pytest.approx(float(np.mean((p - y) ** 2)), rel=1e-12)  # numpy, by position
    import pyarrow.csv as pacsv

    assert pacsv.read_csv(out).column("id").to_pylist() == ids  # the predictions file's order
    # Duplicates in several buckets are counted together.
    dup = write("d.csv", {"id": [*ids[:3], *ids[:3]], "y": [0] * 6})
    result = run_cli(["compute", preds, dup, "--id-col", "id", "--loss", "mse"])
    assert_cli_error(result, 3, r"d\.csv: duplicate ids in 'id': .* \(3 duplicates\)")


def test_decimal_comma_on_a_file_with_decimal_points(run_cli: Any, write: Any) -> None:
    # Found by tests/test_fuzz_inputs.py: '0.5' under --decimal ',' is text, not a number.
    preds, labels = write("p.csv", "p\n0.5\n0.25\n"), write("y.tsv", "y\n0\n1\n")
    result = run_cli(
        ["compute", preds, labels, "--loss", "bce", "--delimiter", ";", "--decimal", ","]
    )
    assert_cli_error(result, 3, r"column 'p' holds numbers such as '0\.5'.*check --decimal")
