"""Bad input through the CLI: exit code, empty stdout, a message naming the problem, no traceback,
and no half-written ``--per-sample`` file (ARCHITECTURE.md, command-line contract).

Exit codes (contract): 2 usage error (unknown loss, bad parameter, conflicting flags, ambiguous
input kind); 3 input or data error (missing or unreadable file, malformed content, length
mismatch, labels out of range, NaN under the default policy).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import SAMPLE
from typer.testing import Result

USAGE, INPUT = 2, 3
ENTRY_POINT = Path(sys.executable).parent / "losscli"

PREDS = {"p": [0.9, 0.2, 0.4]}
LABELS = {"y": [1, 0, 1]}

Write = Callable[..., Path]
RunCli = Callable[..., Result]
Build = Callable[[Write, Path], list[Any]]


def assert_cli_error(result: Result, code: int, pattern: str) -> None:
    """The error contract: exit code, nothing on stdout, one or two lines on stderr."""
    shown = f"exit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert result.exit_code == code, shown
    assert result.stdout == "", shown
    assert re.search(pattern, result.stderr), f"{pattern!r} not in stderr\n{shown}"
    assert "Traceback" not in result.output, shown
    # Nothing escaped the CLI's error boundary (CliRunner would catch and hide it).
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert 1 <= len(result.stderr.strip().splitlines()) <= 2, shown
    # "What was found" in words users can read, not NumPy reprs such as np.float64(1.5).
    assert not re.search(r"\bnp\.\w+\(", result.stderr), shown


CASES: list[Any] = []


def case(case_id: str, code: int, pattern: str) -> Callable[[Build], Build]:
    """Register a bad-input case: ``build(write, tmp_path)`` returns the CLI arguments."""

    def register(build: Build) -> Build:
        CASES.append(pytest.param(build, code, pattern, id=case_id))
        return build

    return register


# --------------------------------------------------------------------------- files


@case("missing-preds", INPUT, r"nope\.csv: no such file")
def _missing_preds(w: Write, tmp: Path) -> list[Any]:
    return ["compute", tmp / "nope.csv", w("l.csv", LABELS), "--loss", "mse"]


@case("missing-labels", INPUT, r"nope\.parquet: no such file")
def _missing_labels(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", PREDS), tmp / "nope.parquet", "--loss", "mse"]


# A directory is read as shards (issue 11): an empty one holds nothing to read.
@case("directory", INPUT, r"dir\.csv: the folder holds no data files")
def _directory(w: Write, tmp: Path) -> list[Any]:
    (tmp / "dir.csv").mkdir()
    return ["compute", tmp / "dir.csv", w("l.csv", LABELS), "--loss", "mse"]


@case("unsupported-suffix", INPUT, r"preds\.txt: unsupported file type '\.txt'.*\.csv.*\.parquet")
def _unsupported_suffix(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("preds.txt", "p\n0.9\n0.2\n0.4\n"), w("l.csv", LABELS), "--loss", "mse"]


@case("no-suffix", INPUT, r"unsupported file type")
def _no_suffix(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("preds", "p\n0.9\n0.2\n0.4\n"), w("l.csv", LABELS), "--loss", "mse"]


@case("empty-preds", INPUT, r"empty\.csv: the file is empty")
def _empty_preds(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("empty.csv", ""), w("l.csv", LABELS), "--loss", "mse"]


@case("empty-labels", INPUT, r"empty\.tsv: the file is empty")
def _empty_labels(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", PREDS), w("empty.tsv", ""), "--loss", "mse"]


@case("header-only-preds", INPUT, r"header\.csv: .*no rows")
def _header_only_preds(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("header.csv", "p\n"), w("l.csv", LABELS), "--loss", "mse"]


@case("header-only-labels", INPUT, r"header\.csv: .*no rows")
def _header_only_labels(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", PREDS), w("header.csv", "y\n"), "--loss", "mse"]


@case("corrupt-parquet", INPUT, r"bad\.parquet: cannot read")
def _corrupt_parquet(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("bad.parquet", b"not a parquet file"), w("l.csv", LABELS), "--loss", "mse"]


@case("corrupt-npy", INPUT, r"bad\.npy: not a valid \.npy file")
def _corrupt_npy(w: Write, tmp: Path) -> list[Any]:
    # Not an NPY file at all: the message must say so, not blame pickled objects.
    return ["compute", w("bad.npy", b"not an npy file"), w("l.csv", LABELS), "--loss", "mse"]


@case("ragged-csv", INPUT, r"ragged\.csv: .*Expected 2 columns")
def _ragged_csv(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("ragged.csv", "a,b\n1,2\n3\n4,5\n"), w("l.csv", LABELS), "--loss", "mse"]


# --------------------------------------------------------------------------- shapes and content


@case("row-count-mismatch-csv", INPUT, r"p\.csv has 4 rows but .*l\.csv has 3.*--id-col")
def _row_count_csv(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", {"p": [0.9, 0.2, 0.4, 0.5]}), w("l.csv", LABELS), "--loss", "mse"]


@case("row-count-mismatch-parquet", INPUT, r"p\.parquet has 3 rows but .*l\.parquet has 4")
def _row_count_parquet(w: Write, tmp: Path) -> list[Any]:
    labels = w("l.parquet", {"y": [1, 0, 1, 0]})
    return ["compute", w("p.parquet", PREDS), labels, "--loss", "mse"]


@case("row-count-mismatch-npy", INPUT, r"p\.npy has 3 rows but .*l\.npy has 2")
def _row_count_npy(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.npy", [0.9, 0.2, 0.4]), w("l.npy", [1, 0]), "--loss", "mse"]


@case("non-numeric-prediction", INPUT, r"p\.csv: .*numeric.*\bp\b|\bp\b.*not numeric")
def _non_numeric(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", {"p": [0.9, "abc", 0.4]}), w("l.csv", LABELS), "--loss", "mse"]


@case("non-numeric-pred-cols", INPUT, r"prediction column 'b' is not numeric")
def _non_numeric_pred_cols(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"a": [0.9, 0.2, 0.4], "b": [0.1, "abc", 0.6]})
    return ["compute", preds, w("l.csv", LABELS), "--pred-cols", "a,b", "--loss", "mse"]


@case("non-numeric-class-column", INPUT, r"dog.*(not numeric|number)|'abc'")
def _non_numeric_class_column(w: Write, tmp: Path) -> list[Any]:
    # 'dog' is a class (the labels name it) holding a stray 'abc': the error must be about that
    # value, not "unknown class 'dog'" or a logits/probabilities question about the other columns.
    preds = w("p.csv", {"cat": [0.7, 0.2, 0.1], "dog": [0.1, "abc", 0.3], "bird": [0.2, 0.1, 0.6]})
    labels = w("l.csv", {"y": ["cat", "dog", "bird"]})
    return ["compute", preds, labels, "--loss", "ce"]


@case("unknown-class-name", INPUT, r"unknown class 'cow' at row 2.*known classes.*cat, dog")
def _unknown_class(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"cat": [0.7, 0.2, 0.1], "dog": [0.3, 0.8, 0.9]})
    return ["compute", preds, w("l.csv", {"y": ["cat", "dog", "cow"]}), "--loss", "ce"]


@case("class-index-too-large", INPUT, r"label 2 at row 2 is out of range for 2 classes.*0\.\.1")
def _class_index_high(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"a": [0.7, 0.2, 0.1], "b": [0.3, 0.8, 0.9]})
    return ["compute", preds, w("l.csv", {"y": [0, 1, 2]}), "--loss", "ce"]


@case("class-index-negative", INPUT, r"label -1 at row 0 is out of range for 3 classes")
def _class_index_negative(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.npy", [[2.0, 0.5, -1.0], [0.1, 1.5, 0.3]])
    return ["compute", preds, w("l.npy", [-1, 1]), "--loss", "ce"]


@case("ambiguous-kind", USAGE, r"logits or probabilities.*sum to 1.*--logits or --probs")
def _ambiguous(w: Write, tmp: Path) -> list[Any]:
    # Every value in [0, 1] but rows sum to 0.8, 0.5, 1.0: neither reading is safe.
    preds = w("p.csv", {"a": [0.5, 0.2, 0.1], "b": [0.3, 0.3, 0.9]})
    return ["compute", preds, w("l.csv", LABELS), "--loss", "ce"]


@case("nan-prediction", INPUT, r"p\.csv: NaN.* predictions at row 1\b.*--nan skip")
def _nan_prediction(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", {"p": [0.9, "nan", 0.4]}), w("l.csv", LABELS), "--loss", "mse"]


@case("inf-label", INPUT, r"l\.csv: .*infinite.* labels at row 1\b")
def _inf_label(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"p": [1.0, 2.0, 3.0, 4.0]})
    return ["compute", preds, w("l.csv", {"y": [1.5, "inf", 3.0, 2.0]}), "--loss", "mse"]


@case("many-nan-rows", INPUT, r"NaN.* labels at rows 1, 3, 4\b")
def _many_nan(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.parquet", {"p": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    labels = w("l.parquet", {"y": [1.5, None, 3.0, None, None, 2.0]})
    return ["compute", preds, labels, "--loss", "mse"]


@case("non-finite-labels-first", INPUT, r"(NaN|infinite).* labels at rows 1, 2")
def _non_finite_first(w: Write, tmp: Path) -> list[Any]:
    # Only one finite label value: the NaN/inf rows must be reported, not "every label is 1.5".
    preds = w("p.csv", {"p": [1.0, 2.0, 3.0]})
    return ["compute", preds, w("l.csv", {"y": [1.5, "inf", "-inf"]}), "--loss", "mse"]


@case("probs-outside-unit-interval", INPUT, r"row 1 holds 1\.2, outside \[0, 1\].*--logits")
def _probs_outside(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"p": [0.9, 1.2, 0.4]})
    return ["compute", preds, w("l.csv", LABELS), "--loss", "ce", "--probs"]


@case("probs-rows-not-summing-to-1", INPUT, r"do not sum to 1 at rows 0, 1\b")
def _probs_sum(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"a": [0.5, 0.2, 0.1], "b": [0.3, 0.3, 0.9]})
    return ["compute", preds, w("l.csv", LABELS), "--loss", "ce", "--probs"]


@case("hinge-embedding-labels", INPUT, r"hinge_embedding needs labels -1 or \+1 \(row 1\)")
def _hinge_embedding(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"d": [0.3, 1.5, 0.2]})
    return ["compute", preds, w("l.csv", LABELS), "--loss", "hinge_embedding"]


@case("all-rows-ignored", INPUT, r"every row is ignored \(ignore_index\)")
def _all_ignored(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"a": [2.0, -1.0, 0.5], "b": [0.3, 1.8, -0.9]})
    labels = w("l.csv", {"y": [-100, -100, -100]})
    return ["compute", preds, labels, "--loss", "ce"]


@case("duplicate-ids-labels", INPUT, r"l\.csv: duplicate ids in 'id': b\b")
def _duplicate_ids_labels(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"id": ["a", "b", "c"], "p": [0.9, 0.2, 0.4]})
    labels = w("l.csv", {"id": ["a", "b", "b"], "y": [1, 0, 1]})
    return ["compute", preds, labels, "--id-col", "id", "--loss", "mse"]


@case("duplicate-ids-preds", INPUT, r"p\.csv: duplicate ids in 'id': a\b")
def _duplicate_ids_preds(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"id": ["a", "a", "c"], "p": [0.9, 0.2, 0.4]})
    labels = w("l.csv", {"id": ["a", "b", "c"], "y": [1, 0, 1]})
    return ["compute", preds, labels, "--id-col", "id", "--loss", "mse"]


@case("unmatched-ids", INPUT, r"1 ids? only in .*p\.csv \(e\.g\. c\).*--join inner")
def _unmatched_ids(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"id": ["a", "b", "c"], "p": [0.9, 0.2, 0.4]})
    labels = w("l.csv", {"id": ["b", "a", "z"], "y": [0, 1, 1]})
    return ["compute", preds, labels, "--id-col", "id", "--loss", "mse"]


@case("missing-id-column", USAGE, r"no id column 'key'.*columns are: id, p")
def _missing_id_col(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"id": ["a", "b", "c"], "p": [0.9, 0.2, 0.4]})
    labels = w("l.csv", {"id": ["a", "b", "c"], "y": [1, 0, 1]})
    return ["compute", preds, labels, "--id-col", "key", "--loss", "mse"]


def _object_npy(path: Path) -> Path:
    np.save(path, np.array([{"a": 1}, 2, "x"], dtype=object), allow_pickle=True)
    return path


@case("object-npy-preds", INPUT, r"obj\.npy: the array holds Python objects")
def _object_npy_preds(w: Write, tmp: Path) -> list[Any]:
    return ["compute", _object_npy(tmp / "obj.npy"), w("l.csv", LABELS), "--loss", "mse"]


@case("object-npy-labels", INPUT, r"obj\.npy: the array holds Python objects")
def _object_npy_labels(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.npy", [0.9, 0.2, 0.4]), _object_npy(tmp / "obj.npy"), "--loss", "mse"]


@case("object-npz", INPUT, r"obj\.npz: array 'a' holds Python objects")
def _object_npz(w: Write, tmp: Path) -> list[Any]:
    np.savez(tmp / "obj.npz", a=np.array([{"a": 1}, 2, "x"], dtype=object))
    return ["compute", tmp / "obj.npz", w("l.csv", LABELS), "--loss", "mse"]


@case("npz-several-arrays-no-key", USAGE, r"holds 2 arrays \(x, z\).*--preds-key")
def _npz_no_key(w: Write, tmp: Path) -> list[Any]:
    both = w("both.npz", {"x": [0.9, 0.2, 0.4], "z": [1, 0, 1]})
    return ["compute", both, both, "--loss", "mse"]


@case("npz-unknown-key", USAGE, r"has no array 'q'; it holds: x, z")
def _npz_bad_key(w: Write, tmp: Path) -> list[Any]:
    both = w("both.npz", {"x": [0.9, 0.2, 0.4], "z": [1, 0, 1]})
    return ["compute", both, both, "--preds-key", "q", "--labels-key", "z", "--loss", "mse"]


# --------------------------------------------------------------------------- command line


@case("unknown-loss", USAGE, r"unknown loss 'hubber'\. Did you mean 'huber'\?.*Valid losses:.*mse")
def _unknown_loss(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", PREDS), w("l.csv", LABELS), "--loss", "hubber"]


# Three close names since mce (maximum calibration error) joined the registry.
@case(
    "unknown-loss-several-suggestions",
    USAGE,
    r"unknown loss 'mes'\. Did you mean 'mse' or 'mce' or 'mae'",
)
def _unknown_loss_two(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", PREDS), w("l.csv", LABELS), "--loss", "mse", "--loss", "mes"]


@case("unknown-parameter", USAGE, r"huber has no parameter 'delt'\. Did you mean 'delta'")
def _unknown_param(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", PREDS), w("l.csv", LABELS), "--loss", "huber:delt=0.5"]


@case("negative-delta", USAGE, r"huber:delta=-1: delta must be > 0, got -1")
def _bad_param(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", PREDS), w("l.csv", LABELS), "--loss", "huber:delta=-1"]


@case("non-number-delta", USAGE, r"delta='abc' is not a number")
def _bad_param_text(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", PREDS), w("l.csv", LABELS), "--loss", "huber:delta=abc"]


@case("label-smoothing-above-1", USAGE, r"label_smoothing must be in \[0, 1\], got 2")
def _bad_smoothing(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", PREDS), w("l.csv", LABELS), "--loss", "ce:label_smoothing=2"]


@case("logits-and-probs", USAGE, r"--logits and --probs contradict")
def _logits_probs(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", PREDS), w("l.csv", LABELS), "--loss", "ce", "--logits", "--probs"]


@case("rmse-sum", USAGE, r"rmse .*no sum reduction.*--reduction mean")
def _rmse_sum(w: Write, tmp: Path) -> list[Any]:
    args = ["--loss", "mse", "--loss", "rmse", "--reduction", "sum"]
    return ["compute", w("p.csv", PREDS), w("l.csv", LABELS), *args]


@case("per-sample-suffix", USAGE, r"--per-sample .*out\.json: write a \.csv or \.parquet file")
def _per_sample_suffix(w: Write, tmp: Path) -> list[Any]:
    args = ["--loss", "mse", "--per-sample", tmp / "out" / "out.json"]
    return ["compute", w("p.csv", PREDS), w("l.csv", LABELS), *args]


@case("per-sample-missing-folder", USAGE, r"--per-sample .*the folder .*nowhere does not exist")
def _per_sample_folder(w: Write, tmp: Path) -> list[Any]:
    args = ["--loss", "mse", "--per-sample", tmp / "out" / "nowhere" / "out.csv"]
    return ["compute", w("p.csv", PREDS), w("l.csv", LABELS), *args]


@case("pred-cols-unknown-column", USAGE, r"no column 'zz'; columns are: a")
def _pred_cols_unknown(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"a": [0.9, 0.2, 0.4]})
    return ["compute", preds, w("l.csv", LABELS), "--pred-cols", "zz", "--loss", "mse"]


@case("unclear-label-column", USAGE, r"l\.csv has 2 columns \(y, w\).*--label-col")
def _unclear_label(w: Write, tmp: Path) -> list[Any]:
    labels = w("l.csv", {"y": [1, 0, 1], "w": ["a", "b", "c"]})
    return ["compute", w("p.csv", PREDS), labels, "--loss", "mse"]


@case("label-maps-for-table-predictions", INPUT, r"l\.npy: labels of shape \(2, 3, 2\) need")
def _label_maps_for_rows(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.npy", [[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]])
    return ["compute", preds, w("l.npy", np.zeros((2, 3, 2))), "--loss", "ce"]


@case("id-column-not-named", USAGE, r"images_labels\.csv has 2 columns.*pass --id-col image_id")
def _id_column_not_named(w: Write, tmp: Path) -> list[Any]:
    return ["compute", SAMPLE / "images_logits.csv", SAMPLE / "images_labels.csv", "--loss", "ce"]


@case("soft-labels-negative", INPUT, r"soft labels must be >= 0; row 1 has a negative value")
def _soft_negative(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"a": [2.0, 0.1], "b": [0.5, 1.5]})
    labels = w("l.csv", {"a": [1.0, 1.2], "b": [0.0, -0.2]})
    return ["compute", preds, labels, "--loss", "ce"]


@case("soft-labels-column-count", INPUT, r"3 label columns against 2 prediction columns")
def _soft_count(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.npy", [[2.0, 0.5], [0.1, 1.5]])
    labels = w("l.npy", [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    return ["compute", preds, labels, "--loss", "ce"]


@case("text-labels-many-values-one-column", INPUT, r"labels are text with more than two values")
def _text_many(w: Write, tmp: Path) -> list[Any]:
    labels = w("l.csv", {"y": ["cat", "dog", "bird"]})
    return ["compute", w("p.csv", PREDS), labels, "--loss", "ce"]


@case("class-names-for-an-array", INPUT, r"labels are class names but the predictions have no")
def _names_for_array(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.npy", [[2.0, 0.5, -1.0], [0.1, 1.5, 0.3], [0.0, 0.0, 1.0]])
    return ["compute", preds, w("l.csv", {"y": ["cat", "dog", "bird"]}), "--loss", "ce"]


@case("id-col-with-arrays", USAGE, r"--id-col needs tables; .*p\.npy is an array")
def _id_col_arrays(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.npy", [0.9, 0.2, 0.4])
    return ["compute", preds, w("l.csv", LABELS), "--loss", "mse", "--id-col", "id"]


@case("id-col-empty-value", INPUT, r"l\.csv: the id column 'id' has empty values")
def _id_empty(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"id": ["a", "b", "c"], "p": [0.9, 0.2, 0.4]})
    labels = w("l.csv", {"id": ["a", None, "c"], "y": [1, 0, 1]})
    return ["compute", preds, labels, "--loss", "mse", "--id-col", "id"]


@case("id-col-nothing-shared", INPUT, r"no id appears in both")
def _id_nothing(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"id": ["a", "b", "c"], "p": [0.9, 0.2, 0.4]})
    labels = w("l.csv", {"id": ["x", "y", "z"], "y": [1, 0, 1]})
    return ["compute", preds, labels, "--loss", "mse", "--id-col", "id", "--join", "inner"]


@case("nan-named-by-id", INPUT, r"NaN, infinite or empty predictions at id b;")
def _nan_by_id(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"id": ["a", "b", "c"], "p": [0.9, None, 0.4]})
    labels = w("l.csv", {"id": ["c", "b", "a"], "y": [1, 0, 1]})
    return ["compute", preds, labels, "--loss", "mse", "--id-col", "id"]


@case("regression-loss-on-class-names", USAGE, r"mse compares numbers with numbers")
def _mse_names(w: Write, tmp: Path) -> list[Any]:
    preds = w("p.csv", {"cat": [0.7, 0.2], "dog": [0.3, 0.8]})
    return ["compute", preds, w("l.csv", {"y": ["cat", "dog"]}), "--loss", "mse"]


@case("duplicate-header", INPUT, r"p\.csv: duplicate column names in the header: a")
def _dup_header(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", "a,b,a\n1,2,3\n"), w("l.csv", {"y": [0]}), "--loss", "ce"]


@case("scalar-npy", INPUT, r"p\.npy: the array is a scalar; expected one row per sample")
def _scalar_npy(w: Write, tmp: Path) -> list[Any]:
    np.save(tmp / "p.npy", np.float64(0.5))
    return ["compute", tmp / "p.npy", w("l.csv", LABELS), "--loss", "mse"]


@case("corrupt-npz", INPUT, r"bad\.npz: not a valid \.npz file")
def _corrupt_npz(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("bad.npz", b"PK-not-a-zip"), w("l.csv", LABELS), "--loss", "mse"]


@case("key-for-a-csv", USAGE, r"an array key only applies to \.npz files")
def _key_csv(w: Write, tmp: Path) -> list[Any]:
    return ["compute", w("p.csv", PREDS), w("l.csv", LABELS), "--loss", "mse", "--preds-key", "x"]


@pytest.mark.parametrize(("build", "code", "pattern"), CASES)
def test_bad_input(
    build: Build, code: int, pattern: str, write: Write, tmp_path: Path, run_cli: RunCli
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = build(write, tmp_path)
    if "--per-sample" not in args:
        args += ["--per-sample", out / "per_sample.csv"]
    assert_cli_error(run_cli(args), code, pattern)
    assert sorted(p.name for p in out.iterdir()) == [], "a --per-sample file was left behind"


# Files the operating system refuses to open, in ways that fail for root too (CI runs as root,
# which reads a file whatever its mode, so chmod 0 proves nothing there).
OS_REFUSALS: list[Any] = [
    # open() of "p.csv/x.csv" fails with ENOTDIR: the parent is a file.
    pytest.param(
        lambda w, tmp: w("p.csv", PREDS) / "x.csv",
        r"p\.csv/x\.csv: no such file",
        id="parent-is-a-file",
    ),
    # an empty directory where a file is expected (a directory is read as shards)
    pytest.param(
        lambda w, tmp: (tmp / "d.csv").mkdir() or tmp / "d.csv",
        r"d\.csv: the folder holds no data files",
        id="directory",
    ),
]


@pytest.mark.parametrize(("build", "pattern"), OS_REFUSALS)
def test_file_the_system_refuses(
    build: Any, pattern: str, write: Write, tmp_path: Path, run_cli: RunCli
) -> None:
    preds = build(write, tmp_path)
    labels = write("l.csv", LABELS)
    assert_cli_error(run_cli(["compute", preds, labels, "--loss", "mse"]), INPUT, pattern)
    proc = subprocess.run(
        [ENTRY_POINT, "compute", preds, labels, "--loss", "mse"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout) == (INPUT, ""), proc.stderr
    assert re.search(pattern, proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr


def test_permission_denied(write: Write, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader's PermissionError becomes exit 3 with the path. The error is raised by the
    reader itself (as open() raises it for a user without read permission), so the test runs
    as root too."""

    def refuse(path: Path, **options: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    # The reader table names each reader as module:function and imports it when used.
    monkeypatch.setattr("losscli.io.text.read_csv", refuse)
    result = run_cli(["compute", write("p.csv", PREDS), write("l.csv", LABELS), "--loss", "mse"])
    assert_cli_error(result, INPUT, r"p\.csv: permission denied")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_failure_after_rows_were_written_leaves_no_per_sample_file(
    suffix: str, write: Write, tmp_path: Path, run_cli: RunCli
) -> None:
    # Streamed in chunks of 2 rows, rows 0-5 reach the writer before row 7's NaN stops the run:
    # the per-sample file is all or nothing, and an older file at the target survives.
    preds = [0.1] * 10
    preds[7] = float("nan")
    p = write("p.parquet", {"p": preds})
    y = write("l.parquet", {"y": [0, 1] * 5})
    out = tmp_path / "out"
    out.mkdir()
    target = out / f"per_sample{suffix}"
    target.write_bytes(b"previous run\n")
    result = run_cli(
        ["compute", p, y, "--loss", "mse", "--chunk-rows", "2", "--per-sample", target]
    )
    assert_cli_error(result, INPUT, r"p\.parquet: NaN.* at row 7\b")
    assert sorted(x.name for x in out.iterdir()) == [target.name]
    assert target.read_bytes() == b"previous run\n"


def test_nan_skip_leaves_the_rows_out_and_says_so(write: Write, run_cli: RunCli) -> None:
    preds = write("p.csv", {"p": [0.9, "nan", 0.4, "inf", 0.3]})
    labels = write("l.csv", {"y": [1, 0, 1, 0, 0]})
    result = run_cli(
        ["compute", preds, labels, "--loss", "mse", "--nan", "skip", "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["n_samples"] == 3
    assert doc["n_skipped"] == 2
    # Rows 0, 2 and 4 remain: (0.1² + 0.6² + 0.3²) / 3.
    assert doc["results"][0]["value"] == pytest.approx((0.01 + 0.36 + 0.09) / 3, rel=1e-12)
    assert doc["results"][0]["n"] == 3
    assert any("skipped 2" in note["decision"] for note in doc["interpretation"])

    table = run_cli(["compute", preds, labels, "--loss", "mse", "--nan", "skip"])
    assert table.exit_code == 0, table.stderr
    assert re.search(r"skipped 2 rows", table.stdout)
    assert re.search(r"3 samples", table.stdout)


def test_nan_skip_with_every_row_bad_is_an_input_error(write: Write, run_cli: RunCli) -> None:
    preds = write("p.csv", {"p": ["nan", "inf"]})
    labels = write("l.csv", {"y": [1.0, 2.5]})
    result = run_cli(["compute", preds, labels, "--loss", "mse", "--nan", "skip"])
    assert_cli_error(result, INPUT, r"no rows left")


def test_join_inner_evaluates_the_shared_ids(write: Write, run_cli: RunCli) -> None:
    preds = write("p.csv", {"id": ["a", "b", "c"], "p": [0.9, 0.2, 0.4]})
    labels = write("l.csv", {"id": ["b", "a", "z"], "y": [0, 1, 1]})
    options = shlex.split("--id-col id --join inner --loss mse --format json")
    result = run_cli(["compute", preds, labels, *options])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["n_samples"] == 2
    # Ids a (0.9 vs 1) and b (0.2 vs 0): (0.01 + 0.04) / 2.
    assert doc["results"][0]["value"] == pytest.approx(0.025, rel=1e-12)
    assert any("--join inner" in note["reason"] for note in doc["interpretation"])
