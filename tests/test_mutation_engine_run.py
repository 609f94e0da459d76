"""The run's plumbing (engine/prepare.py's refusals, engine/evaluate.py, engine/run.py) where
``make mutation`` showed a surviving mutant or a function no selected test reached (issue 15).

Every test here is small and in-process (milliseconds): a surviving mutant of these functions
reruns every selected test that reaches them. Expected values come from NumPy in the test, from
a hand derivation written next to them, or from an exact property (the same report through two
paths); expected messages are the ones the refusals promise (what was expected, what was found).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numeric_helpers import options_for, run_arrays, sources

from losscli.engine import distributed
from losscli.engine.distributed import DaskEngine
from losscli.engine.evaluate import (
    EvaluatedChunk,
    describe_rows,
    evaluate,
    residuals_of,
    start_evaluation,
)
from losscli.engine.intervals import Intervals
from losscli.engine.prepare import (
    _check_probs,
    _index_labels,
    as_float64,
    check_tasks,
    own_values,
    pool,
    prepare,
    unpooled,
)
from losscli.engine.results import FileInfo
from losscli.engine.run import collect, file_info, open_run, run
from losscli.engine.signature import (
    Signature,
    differences,
    loss_text,
    parse_signature,
    signature_of,
)
from losscli.errors import InputError, UsageError
from losscli.interpret.align import BatchStream
from losscli.interpret.meta import MetaColumns, in_memory_table
from losscli.interpret.plan import Batch, Kind, NanPolicy, Note, plan_inputs
from losscli.io.readers import open_source
from losscli.io.shards import open_shards
from losscli.losses import PerSample
from losscli.spec import parse_specs

# --------------------------------------------------------------------------- prepare's refusals


def _refusal(losses: list[str], preds: Any, labels: Any) -> str:
    with pytest.raises(UsageError) as caught:
        run_arrays(losses, np.asarray(preds, dtype=float), np.asarray(labels, dtype=float))
    return str(caught.value)


def test_gaussian_nll_with_one_prediction_column_names_the_columns_it_got() -> None:
    """One prediction column: the planner reads a regression task (gaussian_nll's own task),
    so the prediction check of the mean/variance loss says what it found."""
    message = _refusal(["gaussian_nll"], [0.2, 0.6, 0.9], [0.5, 2.0, 0.3])
    assert "needs exactly two prediction columns" in message
    assert "but got 1 prediction column(s)" in message


def test_gaussian_nll_on_maps_says_dense_maps_and_why_the_task_is_dense() -> None:
    message = _refusal(["gaussian_nll"], np.zeros((3, 2, 4, 4)), np.zeros((3, 4, 4)))
    assert "needs exactly two prediction columns" in message
    assert "but got dense maps;" in message
    # The planner's note on the dense task, after the tasks gaussian_nll takes.
    assert message.endswith(
        "(gaussian_nll takes regression tasks; these inputs read as a dense task: "
        "predictions (N, C, d1, ...) against labels (N, d1, ...), as in torch)"
    )


def test_gaussian_nll_against_two_label_columns_asks_for_one_label_column() -> None:
    """Two prediction columns are the mean and the variance; what is wrong is the labels."""
    message = _refusal(
        ["gaussian_nll"], [[0.2, 1], [0.6, 1], [0.9, 1]], [[0.5, 0.5], [0.2, 0.8], [1, 0]]
    )
    assert "compares a predicted mean and variance with one numeric label per sample" in message
    assert "exactly two prediction columns" not in message
    assert message.endswith("these inputs read as a distribution task: several label columns)")


def test_a_refused_task_without_its_own_note_says_it_comes_from_the_shapes() -> None:
    """Multi-hot labels are noted as "0/1 targets, one per column", a note that does not
    name the distribution task: the refusal then says where the task came from."""
    message = _refusal(["gaussian_nll"], [[0.2, 1], [0.6, 1], [0.9, 1]], [[1, 1], [0, 0], [1, 0]])
    assert message.endswith(
        "these inputs read as a distribution task: from the shapes of the inputs)"
    )


def test_a_value_loss_against_class_indices_counts_the_columns() -> None:
    message = _refusal(["mse"], [[0.2, 1], [0.6, 1], [0.9, 1]], [0, 1, 1])
    assert message.startswith(
        "mse compares each prediction column with a label column, but there are "
        "2 prediction and 1 label columns"
    )


def test_a_value_loss_against_label_maps_asks_for_a_classification_loss() -> None:
    message = _refusal(["mse"], np.zeros((3, 2, 4, 4)), np.zeros((3, 4, 4)))
    assert message.startswith("mse compares numbers with numbers, but the labels are class names")


@pytest.mark.parametrize("outside", [2.0, 1.5, -0.5])
def test_bce_refuses_numeric_targets_outside_0_1_with_the_planners_reason(outside: float) -> None:
    """bce reads numeric labels as soft targets only inside [0, 1]; labels with more than
    two values read as a regression task, whose note says why."""
    message = _refusal(["bce"], [0.2, 0.6, 0.9], [0.5, outside, 0.3])
    assert message == (
        "bce needs class labels, but these labels read as numbers of a regression target "
        "(one prediction column and labels with more than two values); for numeric targets "
        "use mse, mae or huber"
    )


def test_bce_targets_inside_0_1_are_soft_targets() -> None:
    """The same rows with the target 1.0 in [0, 1]: bce of probabilities p against soft
    targets t is mean(−t·log p − (1−t)·log(1−p)), computed here with NumPy."""
    p, t = np.array([0.2, 0.6, 0.9]), np.array([0.5, 1.0, 0.3])
    expected = np.mean(-t * np.log(p) - (1 - t) * np.log1p(-p))
    (result,) = run_arrays(["bce"], p, t).results
    assert result.value == pytest.approx(expected, rel=1e-12)


def test_bce_beside_gaussian_nll_says_the_labels_are_numeric() -> None:
    """Two prediction columns with gaussian_nll: the planner's note is about the (mean,
    variance) reading, not "regression task" alone, so bce's refusal says "numeric labels"."""
    message = _refusal(["gaussian_nll", "bce"], [[0.2, 1], [0.6, 1], [0.9, 1]], [0.5, 2.0, 0.3])
    assert "read as numbers of a regression target (numeric labels);" in message


# ------------------------------------------------------------------ prepare.py, called directly


def _batch_of(texts: list[str], preds: Any, labels: Any, convention: str = "losscli") -> tuple:
    """The specs, plan and first batch (of at most 7 rows) the engine makes of these arrays."""
    specs = parse_specs(texts, "mean", convention)
    p_src, l_src = sources(np.asarray(preds, dtype=float), np.asarray(labels, dtype=float), 7)
    plan = plan_inputs(p_src, l_src, options_for(specs, None))
    batch = next(iter(BatchStream(p_src, l_src, plan, 7)))
    return specs, plan, batch


def test_a_value_loss_beside_gaussian_nll_says_the_columns_are_a_mean_and_a_variance() -> None:
    """With gaussian_nll, two prediction columns against one numeric label column read as
    (mean, variance): the task is regression, which mse takes, so ``check_tasks`` lets it
    through and mse's own preparation names what the two columns are (not class labels)."""
    specs, plan, batch = _batch_of(
        ["gaussian_nll", "mse"], [[0.2, 1.0], [0.6, 1.0], [0.9, 1.0]], [0.5, 2.0, 0.3]
    )
    check_tasks(specs, plan)  # both losses take the regression task
    assert prepare(specs[0], batch, plan)[0].shape == (3, 2)
    with pytest.raises(UsageError) as caught:
        prepare(specs[1], batch, plan)
    assert str(caught.value) == (
        "mse compares each prediction column with a label column, but the two prediction "
        "columns are read as the mean and the variance of gaussian_nll, against one label "
        "column; compute mse in a run of its own, on the mean column alone (--pred-cols for "
        "a table)"
    )


def test_check_tasks_refuses_a_loss_after_one_that_takes_the_task() -> None:
    """Every spec is checked: mse takes the regression task, hinge after it does not."""
    specs, plan, _ = _batch_of(["mse", "hinge"], [0.2, 0.6, 0.9], [0.5, 2.0, 0.3])
    with pytest.raises(UsageError) as caught:
        check_tasks(specs, plan)
    assert str(caught.value) == (
        "hinge needs class labels, but the labels read as numbers of a regression target; for "
        "numeric targets use mse, mae or huber (hinge takes binary, multiclass, dense tasks; "
        "these inputs read as a regression task: one prediction column and labels with more "
        "than two values)"
    )


def _index_refusal(text: str, labels: list[int]) -> str:
    (spec,) = parse_specs([text], "mean")
    batch = Batch(np.zeros((len(labels), 3)), np.array(labels), None, np.arange(len(labels)), None)
    with pytest.raises(InputError) as caught:
        _index_labels(spec, batch, batch.labels, 3)
    return str(caught.value)


def test_out_of_range_labels_name_ignore_index_only_for_a_loss_that_has_it() -> None:
    """3 classes: indices 0..2, and for ce or nll also their ignore_index (torch's default
    -100, or the one given), which is then no error."""
    assert _index_refusal("hinge", [0, 3, 1]) == (
        "label 3 at row 1 is out of range for 3 classes (expected 0..2)"
    )
    assert _index_refusal("ce", [0, 2, -1]) == (
        "label -1 at row 2 is out of range for 3 classes (expected 0..2 or ignore_index=-100)"
    )
    assert _index_refusal("nll:ignore_index=5", [5, 3]) == (
        "label 3 at row 1 is out of range for 3 classes (expected 0..2 or ignore_index=5)"
    )
    (spec,) = parse_specs(["ce:ignore_index=5"], "mean")
    batch = Batch(np.zeros((2, 3)), np.array([5, 2]), None, np.arange(2), None)
    assert _index_labels(spec, batch, batch.labels, 3).tolist() == [5, 2]


PROBS = [[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]]


@pytest.mark.parametrize(
    ("kind_auto", "error", "fix"),
    [
        (True, UsageError, "pass --logits if these are scores"),
        (False, InputError, "pass --logits if these are logits, or fix the probabilities"),
    ],
)
def test_probabilities_outside_0_1_are_a_usage_error_only_when_the_kind_was_guessed(
    kind_auto: bool, error: type, fix: str
) -> None:
    """A later chunk outside [0, 1] after a head read as probabilities: the guess was wrong
    (exit 2, pass --logits); with --probs given the data are wrong (exit 3)."""
    specs, plan, batch = _batch_of(["ce"], PROBS, [1, 0, 0])
    assert (plan.kind, plan.kind_auto) == (Kind.PROBS, True)
    plan = replace(plan, kind_auto=kind_auto)
    late = replace(batch, preds=np.array([[0.2, 0.8], [1.5, -0.5], [0.9, 0.1]]))
    with pytest.raises(error) as caught:
        _check_probs(specs[0], late, plan, per_row_sum=True)
    assert type(caught.value) is error
    assert str(caught.value) == (
        f"predictions read as probabilities, but row 1 holds 1.5, outside [0, 1]; {fix}"
    )


def test_keras_accepts_scores_above_1_only_in_rows_it_renormalises() -> None:
    """Keras divides a row of ce's scores by its sum, so 1.5 is valid there (per_row_sum);
    bce reads each column as a probability of its own, where 1.5 is not, under Keras too."""
    specs, plan, batch = _batch_of(["ce"], PROBS, [1, 0, 0], "keras")
    rows = replace(batch, preds=np.array([[0.5, 1.5], [0.5, 0.5], [0.9, 0.1]]))
    _check_probs(specs[0], rows, plan, per_row_sum=True)  # row 0 sums to 2: noted, not refused
    specs, plan, batch = _batch_of(["bce"], [0.2, 0.6, 0.9], [1, 0, 1], "keras")
    late = replace(batch, preds=np.array([0.2, 1.5, 0.9]))
    with pytest.raises(UsageError, match=r"but row 1 holds 1\.5, outside \[0, 1\]"):
        _check_probs(specs[0], late, plan, per_row_sum=False)


def test_rows_not_summing_to_1_are_noted_once_under_sklearn() -> None:
    """scikit-learn takes such rows as given: one note, at the first chunk that has them."""
    specs, plan, batch = _batch_of(["ce"], PROBS, [1, 0, 0], "sklearn")
    before = len(plan.notes)
    off = replace(batch, preds=np.array([[0.2, 0.8], [0.5, 0.4], [0.9, 0.1]]))
    _check_probs(specs[0], off, plan, per_row_sum=True)
    _check_probs(specs[0], replace(off, rows=off.rows + 3), plan, per_row_sum=True)
    assert plan.notes[before:] == [
        Note(
            "ce [sklearn]: probability rows do not sum to 1 at row 1 (e.g. 0.9)",
            "scikit-learn uses them as given (with a warning); so does this result",
        )
    ]


def _crammer_singer(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """max(0, 1 − (z_y − max_{j≠y} z_j)) over axis 1 of dense maps (NumPy, by hand)."""
    true = np.take_along_axis(z, y[:, None], axis=1)[:, 0]
    others = np.where(np.arange(z.shape[1])[None, :, None, None] == y[:, None], -np.inf, z)
    return np.maximum(0.0, 1.0 - (true - others.max(axis=1)))


def test_dense_maps_of_a_loss_off_the_kernels_become_positions_in_row_order() -> None:
    """hinge on (2, 3, 4, 5) maps (C = 3 unlike d1 = 4, d2 = 5): one term per position,
    sample by sample and in the maps' order; pooled per sample, sums over its 20 positions."""
    rng = np.random.default_rng(7)
    z, y = rng.normal(size=(2, 3, 4, 5)), rng.integers(0, 3, size=(2, 4, 5))
    specs, plan, batch = _batch_of(["hinge"], z, y)
    terms, dense = unpooled(specs[0], batch, plan)
    expected = _crammer_singer(z, y)
    assert dense
    assert terms.values == pytest.approx(expected.reshape(-1), rel=1e-12)
    pooled = pool(terms, 2)
    assert pooled.values == pytest.approx(expected.sum(axis=(1, 2)), rel=1e-12)
    assert pooled.weights is not None and pooled.weights.tolist() == [20.0, 20.0]
    # Terms with weights (an ignored position has value 0 and weight 0): sums of both.
    ignored = pool(PerSample(np.array([1.0, 0.0, 3.0, 4.0]), np.array([1.0, 0.0, 1.0, 1.0])), 2)
    assert (ignored.values.tolist(), ignored.weights.tolist()) == ([1.0, 7.0], [1.0, 2.0])


def test_as_float64_converts_float32_scores_and_keeps_float64_ones() -> None:
    _, _, batch = _batch_of(["mse"], [0.25, 0.5, 2.0], [0.5, 2.0, 0.3])
    assert as_float64(batch) is batch
    narrow = replace(batch, preds=batch.preds.astype(np.float32))
    wide = as_float64(narrow)
    assert wide.preds.dtype == np.float64
    assert wide.preds.tolist() == [0.25, 0.5, 2.0]  # exact in float32
    assert wide.labels is narrow.labels


def test_own_values_divide_by_the_weight_nan_at_weight_0_and_root_for_rmse() -> None:
    """A sample's own loss is value / weight, NaN where the weight is 0 (whatever the value);
    rmse's is the root of its own squared error, so |p − y|."""
    mse, rmse = parse_specs(["mse", "rmse"], "mean")
    weighted = PerSample(np.array([8.0, 0.0, 3.0, 2.0]), np.array([2.0, 0.0, 0.0, 0.5]))
    own = [4.0, np.nan, np.nan, 4.0]
    assert np.array_equal(own_values(mse, weighted), own, equal_nan=True)
    assert np.array_equal(own_values(rmse, weighted), np.sqrt(own), equal_nan=True)
    assert own_values(rmse, PerSample(np.array([9.0, 0.25]))).tolist() == [3.0, 0.5]
    assert own_values(mse, PerSample(np.array([9.0, 0.25]))).tolist() == [9.0, 0.25]


# --------------------------------------------------------------------------- evaluate.py

FILES = (FileInfo("preds", "npy", None), FileInfo("labels", "npy", None))


def _planned(texts: list[str], preds: Any, labels: Any, chunk_rows: int = 7) -> tuple:
    specs = parse_specs(texts, "mean")
    p_src, l_src = sources(preds, labels, chunk_rows)
    plan = plan_inputs(p_src, l_src, options_for(specs, None))
    return specs, plan, BatchStream(p_src, l_src, plan, chunk_rows)


def test_evaluations_of_other_losses_do_not_merge() -> None:
    """Merging parts of different runs (one loss against two) fails loudly rather than
    merging the first loss and dropping the rest (saved states are compared before)."""
    y = np.array([0.5, 1.5, 2.0])
    one, plan, _ = _planned(["mse"], y + 1, y)
    two, _, _ = _planned(["mse", "mae"], y + 1, y)
    for left, right in ((one, two), (two, one)):
        a, b = start_evaluation(left, plan), start_evaluation(right, plan)
        a.histograms = b.histograms = []  # so that the moments are what differs
        with pytest.raises(ValueError, match="zip"):
            a.merge(b)
    # The same losses, but one part without histograms (every run keeps one per loss).
    bare = start_evaluation(one, plan)
    bare.histograms = []
    with pytest.raises(ValueError, match="zip"):
        start_evaluation(one, plan).merge(bare)


def test_evaluate_keeps_ten_worst_rows_and_hands_every_chunk_to_the_sink() -> None:
    """``evaluate``'s defaults: the 10 worst rows and no per-class rows (though the task has
    classes); the sink receives each chunk of 7 rows in order with its own values, here ce's
    −log softmax(z)[y] computed by NumPy."""
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(23, 3)) * 2, rng.integers(0, 3, size=23)
    shifted = z - z.max(axis=1, keepdims=True)
    ce = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(23), y]
    specs, plan, stream = _planned(["ce"], z, y)
    chunks: list[EvaluatedChunk] = []
    report = evaluate(stream, specs, plan, sink=chunks.append).finalize(
        specs, plan, reduction="mean", files=FILES
    )
    assert [w.row for w in report.worst] == np.argsort(-ce)[:10].tolist()
    assert report.by_class == ()
    assert [len(c.batch.rows) for c in chunks] == [7, 7, 7, 2]
    assert np.concatenate([c.batch.rows for c in chunks]).tolist() == list(range(23))
    assert np.concatenate([c.shown[0] for c in chunks]) == pytest.approx(ce, rel=1e-12)
    assert report.results[0].value == pytest.approx(ce.mean(), rel=1e-12)


def _weighted_run() -> dict[str, Any]:
    """Three classes, logits, a weight and a group column in memory (23 rows, 15 in group
    "a" and 8 in "b"); the weighted mean of ce is Σw·ce/Σw with ce = −log softmax(z)[y]."""
    rng = np.random.default_rng(11)
    z, y = rng.normal(size=(23, 3)) * 2, rng.integers(0, 3, size=23)
    w = rng.uniform(0.5, 2.0, size=23)
    g = np.array(["a"] * 15 + ["b"] * 8, dtype=object)
    shifted = z - z.max(axis=1, keepdims=True)
    ce = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(23), y]
    meta = MetaColumns("w", ("g",))
    specs = parse_specs(["ce"], "mean")
    return {
        "z": z,
        "y": y,
        "w": w,
        "g": g,
        "ce": ce,
        "specs": specs,
        "options": replace(options_for(specs, True), meta=meta),
        "meta": meta,
    }


def _open(case: dict[str, Any]) -> tuple:
    p_src, l_src = sources(case["z"], case["y"], 7)
    meta_src = in_memory_table("meta", {"w": case["w"], "g": case["g"]}, 7)
    return p_src, l_src, meta_src


def test_evaluate_passes_top_classes_intervals_and_meta_to_the_accumulators() -> None:
    """``evaluate`` with every option (as Dask's workers call it) gives ``run``'s report."""
    case = _weighted_run()
    specs, options = case["specs"], case["options"]
    settings: dict[str, Any] = {
        "top": 3,
        "by_class": True,
        "intervals": Intervals.of("bootstrap", 50, 5),
    }
    p_src, l_src, meta_src = _open(case)
    expected = run(p_src, l_src, specs, options, meta_src=meta_src, **settings)
    p_src, l_src, meta_src = _open(case)
    opened = open_run(p_src, l_src, specs, options, meta_src=meta_src, **settings)
    got = evaluate(opened.stream, specs, opened.plan, meta=case["meta"], **settings)
    files = (expected.preds, expected.labels)  # the arrays' hashes, in the signatures
    report = got.finalize(specs, opened.plan, reduction="mean", files=files)
    w, ce = case["w"], case["ce"]
    assert report.results[0].value == pytest.approx((w * ce).sum() / w.sum(), rel=1e-12)
    assert len(report.worst) == 3
    counts = np.bincount(case["y"], minlength=3).tolist()
    assert [c.count for c in report.by_class] == [(n,) for n in counts]  # (one per loss)
    assert sorted((s.n, s.hidden) for s in report.slices) == [(8, False), (15, False)]
    assert report.results == expected.results  # the bootstrap's interval too
    assert report.by_class == expected.by_class
    assert report.slices == expected.slices
    assert report.worst == expected.worst


def test_collect_is_the_run_without_worst_rows_plus_every_samples_terms() -> None:
    """``collect`` (compare's in-memory path): the report of ``run`` with ``top=0`` and the
    same options, and per sample its key, w·ce and group; group "b" has 8 rows, under the
    minimum slice size of 10, so it keeps only its count."""
    case = _weighted_run()
    specs, options = case["specs"], case["options"]
    p_src, l_src, meta_src = _open(case)
    report, samples = collect(
        p_src, l_src, specs, options, chunk_rows=7, meta_src=meta_src, min_slice_size=10
    )
    p_src, l_src, meta_src = _open(case)
    expected = run(p_src, l_src, specs, options, top=0, meta_src=meta_src, min_slice_size=10)
    assert report.worst == ()
    assert [(s.values, s.n, s.hidden) for s in report.slices] == [
        (("a",), 15, False),
        (("b",), 8, True),
    ]
    assert report.results == expected.results
    assert report.slices == expected.slices
    assert samples.keys.tolist() == list(range(23))
    assert samples.values[0] == pytest.approx(case["w"] * case["ce"], rel=1e-12)
    assert samples.groups["g"].tolist() == case["g"].tolist()


def test_a_chunks_columns_need_one_value_array_per_loss() -> None:
    """``columns`` pairs loss labels with their values: a missing array is a bug, not a
    column left out (``--per-sample`` would silently lose a loss)."""
    _, plan, stream = _planned(["mse", "mae"], np.array([0.5, 1.0]), np.array([0.0, 1.5]))
    (batch,) = stream
    whole = EvaluatedChunk(batch, plan, ["mse", "mse"], [], [np.zeros(2), np.ones(2)])
    assert list(whole.columns()) == ["row", "label", "mse", "mse (2)"]
    short = EvaluatedChunk(batch, plan, ["mse", "mae"], [], [np.zeros(2)])
    with pytest.raises(ValueError, match="zip"):
        short.columns()


def _batch(preds: Any, labels: Any, raw: Any = None, **more: Any) -> Batch:
    """A chunk as the aligner yields it, rows 0..n-1 (``ids``, ``meta`` optional)."""
    preds = np.asarray(preds)
    rows = np.arange(len(preds))
    return Batch(preds, np.asarray(labels), raw, rows, more.get("ids"), more.get("meta"))


@pytest.mark.parametrize("ignore", [-100, 3])
def test_a_maps_worst_rows_count_the_positions_of_a_class_only(ignore: int) -> None:
    """Dense worst rows: ``positions`` are the positions labelled with a class, never the
    ignore_index (torch's −100 below the classes, or C = 3 above), and ``accuracy`` the
    share of them where the argmax over the C scores is the label (NumPy below); None when
    every position of the map is ignored. (−100 used to count as a position: a bug.)"""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 3, 2, 2))
    y = np.array([[[0, 1], [2, ignore]], [[ignore, ignore], [1, 1]], np.full((2, 2), ignore)])
    report = run_arrays([f"ce:ignore_index={ignore}"], z, y, logits=True, top=3)
    got = {w.row: (w.positions, w.accuracy) for w in report.worst}
    expected = {}
    for i in range(3):
        counted = y[i] != ignore
        hits = (z[i].argmax(axis=0) == y[i])[counted]
        expected[i] = (int(counted.sum()), float(hits.mean()) if counted.any() else None)
    assert got == expected
    assert expected[2] == (0, None)


def test_a_distributions_worst_rows_show_one_or_multi_hot_labels_only() -> None:
    """Soft labels: the argmax of label and prediction; the label row itself only when
    every value is 0 or 1 (one-hot, multi-hot), not for a distribution such as
    (0.2, 0.5, 0.3). The scores of the rows are given as probabilities, not shown."""
    probs = np.array([[0.2, 0.7, 0.1], [0.5, 0.2, 0.3], [0.1, 0.3, 0.6]])
    soft = np.array([[0.0, 1.0, 0.0], [0.2, 0.5, 0.3], [1.0, 0.0, 1.0]])
    _, plan, _ = _planned(["kl"], probs, soft[:2])
    rows = describe_rows(_batch(probs, soft), plan, np.arange(3), [np.zeros(3)])
    got = [(r.label_class, r.predicted_class, r.label, r.p_true) for r in rows]
    assert got == [(1, 1, (0.0, 1.0, 0.0), None), (1, 0, None, None), (0, 2, (1.0, 0.0, 1.0), None)]


def test_worst_rows_of_two_label_values_without_scores_show_the_values_as_given() -> None:
    """mse on labels 3 and 7 (a binary task whose predictions are neither logits nor
    probabilities): no p(true); a value other than the two (5, converted to NaN for the
    class losses) is shown as given, with the prediction."""
    preds = np.array([0.2, 6.5, 4.0])
    _, plan, _ = _planned(["mse"], preds, np.array([3.0, 7.0, 7.0]))
    assert (plan.task.value, plan.kind) == ("binary", None)
    batch = _batch(preds, [0.0, 1.0, np.nan], np.array([3.0, 7.0, 5.0]))
    rows = describe_rows(batch, plan, np.arange(3), [np.zeros(3)])
    got = [(r.label_class, r.label, r.prediction, r.p_true) for r in rows]
    assert got == [(0, None, (0.2,), None), (1, None, (6.5,), None), (None, (5.0,), (4.0,), None)]


def test_p_true_of_float32_logits_is_computed_in_float64() -> None:
    """float32 logits stay float32 in the chunk (the kernels read them so); p(true) is
    σ(z) = 1 / (1 + e^−z) in float64 of each float32 value (float32 arithmetic would
    differ from it by ~1e-8 relative)."""
    z = np.array([0.3, -1.7, 2.2], dtype=np.float32)
    y = np.array([1.0, 0.0, 1.0])
    _, plan, _ = _planned(["bce"], z.astype(np.float64), y)
    rows = describe_rows(_batch(z, y), plan, np.arange(3), [np.zeros(3)])
    sigma = 1 / (1 + np.exp(-z.astype(np.float64)))
    expected = np.where(y == 1, sigma, 1 - sigma)
    assert [r.p_true for r in rows] == pytest.approx(expected.tolist(), rel=1e-15, abs=0)


def test_a_chunks_labels_keep_class_names_as_written_and_values_without_raw() -> None:
    """Class names are shown exactly as the plan holds them (a trailing NUL too, which a
    NumPy string array would drop), an index outside the classes as its number; numeric
    labels without a raw copy are the labels themselves."""
    z = np.array([[0.5, -1.0, 0.2], [2.0, 0.1, 0.0], [0.0, 0.3, 1.0]])
    _, plan, _ = _planned(["ce"], z, np.array([0, 1, 2]))
    named = replace(plan, classes=["cat\x00", "dog", "eel"])
    chunk = EvaluatedChunk(_batch(z, np.array([0, 1, 5])), named, [], [], [])
    labels = chunk.label_text()
    assert labels is not None
    assert labels.tolist() == ["cat\x00", "dog", "5"]
    y = np.array([0.5, 1.5, 2.0])
    _, values_plan, _ = _planned(["mse"], y + 1, y)
    values = EvaluatedChunk(_batch(y + 1, y), values_plan, [], [], []).label_text()
    assert values is not None
    assert values.tolist() == [0.5, 1.5, 2.0]


def test_residuals_are_predictions_minus_the_labels_as_given() -> None:
    """One label column (n, 1) against one prediction per row (n,): p − y row by row
    (not an n × n table), from the labels as given (raw), rows of weight 0 left out."""
    p = np.array([2.5, 7.5, 6.0])
    given = np.array([[3.0], [7.0], [7.0]])
    batch = _batch(p, [0.0, 1.0, 1.0], given)
    assert residuals_of(batch, None).tolist() == [-0.5, 0.5, -1.0]
    assert residuals_of(batch, np.array([1.0, 0.0, 2.0])).tolist() == [-0.5, -1.0]
    assert residuals_of(_batch(p, given), None).tolist() == [-0.5, 0.5, -1.0]


def test_start_evaluation_keeps_ten_worst_rows_and_skips_none_unless_told() -> None:
    """``start_evaluation``'s and ``finalize``'s defaults: the 10 worst rows by (p − y)²
    and no skipped rows (no note about them)."""
    p, y = _regression()
    specs, plan, stream = _planned(["mse"], p, y)
    ev = start_evaluation(specs, plan)
    for batch in stream:
        ev.update(batch, specs, plan)
    report = ev.finalize(specs, plan, reduction="mean", files=FILES)
    assert [w.row for w in report.worst] == np.argsort(-((p - y) ** 2))[:10].tolist()
    assert report.n_skipped == 0
    assert not any(what.startswith("skipped") for what, _ in report.interpretation)


def _dense_case() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    return rng.normal(size=(3, 3, 2, 2)) * 2, rng.integers(0, 3, size=(3, 2, 2))


@pytest.mark.parametrize(
    ("losses", "case", "per_class"),
    [
        (["mse"], "regression", False),
        (["ce"], "multiclass", True),
        (["ce"], "dense", True),
        (["ce", "dice"], "dense", False),
    ],
)
def test_per_class_rows_by_default_when_the_task_has_classes(
    losses: list[str], case: str, per_class: bool
) -> None:
    """``by_class=None`` (the HTML report): per-class rows for class labels, unless a loss
    scores whole images (dice), never for numeric targets."""
    rng = np.random.default_rng(4)
    arrays = {
        "regression": (rng.normal(size=9), rng.normal(size=9)),
        "multiclass": (rng.normal(size=(9, 3)) * 2, np.arange(9) % 3),
        "dense": _dense_case(),
    }
    specs, plan, _ = _planned(losses, *arrays[case])
    assert (start_evaluation(specs, plan, by_class=None).by_class is not None) is per_class


@pytest.mark.parametrize(
    ("losses", "preds", "labels", "residuals"),
    [
        (["mse"], [0.2, 1.6, 0.9], [0.5, 2.0, 0.3], True),
        (["mse"], [0.2, 0.6, 0.9], [0.0, 1.0, 1.0], False),  # binary, no kind
        (["bce"], [0.2, 0.6, 0.9], [0.5, 1.0, 0.3], False),  # soft targets, probabilities
        (["ce"], [[2.0, -1.0], [0.5, 1.5], [-0.3, 0.2]], [0, 1, 2], False),
    ],
)
def test_residuals_only_for_numeric_targets_read_as_they_are(
    losses: list[str], preds: Any, labels: Any, residuals: bool
) -> None:
    """Residuals (p − y) for a regression task whose scores are no logits or probabilities;
    bce's soft targets are a regression task of probabilities, mse on 0/1 labels binary."""
    specs, plan, _ = _planned(losses, np.array(preds), np.array(labels))
    assert (start_evaluation(specs, plan).residuals is not None) is residuals


def test_a_report_names_the_kind_the_version_and_the_labels_hash() -> None:
    """The report says how scores were read and which losscli made it (the installed
    distribution's version); each signature carries the first 12 hex digits of the labels'
    sha256 (engine/signature.py's format). A part with fewer accumulators than losses is a
    bug, not a report that drops a loss."""
    z, y = np.array([[2.0, -1.0, 0.1], [0.5, 1.5, 0.0]]), np.array([0, 2])
    specs, plan, stream = _planned(["ce"], z, y)
    ev = evaluate(stream, specs, plan)
    sha = hashlib.sha256(b"labels").hexdigest()
    files = (FILES[0], FileInfo("labels", "npy", None, sha))
    report = ev.finalize(specs, plan, reduction="mean", files=files)
    assert report.kind == "logits"
    assert report.version == importlib.metadata.version("losscli")
    assert parse_signature(report.results[0].signature)["labels"] == sha[:12]
    with pytest.raises(ValueError, match="zip"):
        ev.finalize(parse_specs(["ce", "nll"], "mean"), plan, reduction="mean", files=files)


def test_one_slice_of_every_row_has_the_runs_bootstrap_interval() -> None:
    """A slice's bootstrap uses the run's replicate weights restricted to its rows, keyed
    by id when rows have ids: a slice holding every row has the run's interval exactly
    (up to the order of summation), and that interval is not the t interval."""
    p, y = _regression()
    specs, plan, _ = _planned(["mse"], p, y)
    ids = np.array([f"s{i}" for i in range(23)], dtype=object)
    meta = MetaColumns(None, ("g",))
    batch = _batch(p, y, y, ids=ids, meta={"g": np.array(["a"] * 23, dtype=object)})
    reports = []
    for intervals in (Intervals.of("bootstrap", 200, 7), None):
        ev = start_evaluation(specs, plan, intervals=intervals, meta=meta)
        ev.update(batch, specs, plan)
        reports.append(ev.finalize(specs, plan, reduction="mean", files=FILES))
    (boot, t) = [(r.results[0], r.slices[0].results[0]) for r in reports]
    assert (boot[1].ci_low, boot[1].ci_high) == pytest.approx(
        (boot[0].ci_low, boot[0].ci_high), rel=1e-12
    )
    assert (t[1].ci_low, t[1].ci_high) == pytest.approx((t[0].ci_low, t[0].ci_high), rel=1e-12)
    assert abs(boot[0].ci_low - t[0].ci_low) > 1e-3 * abs(t[0].ci_low)


# --------------------------------------------------------------------------- signature.py


def test_parsed_signatures_keep_colons_in_values_and_name_every_differing_field() -> None:
    """A value may hold ':' (a slice of times); a field only one signature has is a
    difference with None on the other side; version, kind and ci never count."""
    old = parse_signature("loss:mse|task:regression|slice:t=12:30|n:9|labels:aaa|version:0.1")
    now = parse_signature(
        "loss:mse|kind:probs|task:regression|weights:w|slice:t=12:45|n:9|labels:bbb|"
        "ci:bootstrap(b=9,seed=1)|version:0.2"
    )
    assert old == {
        "loss": "mse",
        "task": "regression",
        "slice": "t=12:30",
        "n": "9",
        "labels": "aaa",
        "version": "0.1",
    }
    assert [(d.field, d.baseline, d.now) for d in differences(old, now)] == [
        ("slice", "t=12:30", "t=12:45"),
        ("labels", "aaa", "bbb"),
        ("weights", None, "w"),
    ]
    assert [(d.field, d.baseline, d.now) for d in differences(now, old)] == [
        ("weights", "w", None),
        ("slice", "t=12:45", "t=12:30"),
        ("labels", "bbb", "aaa"),
    ]


# The installed version, as the signature's last field names it.
VERSION = importlib.metadata.version("losscli")
LABELS_SHA = hashlib.sha256(b"labels").hexdigest()  # any 64 hex digits: the text keeps 12


def _signatures(texts: list[str], preds: Any, labels: Any, **kwargs: Any) -> list[str]:
    specs = parse_specs(texts, "mean")
    plan = plan_inputs(*sources(preds, labels, 7), options_for(specs, None))
    return [signature_of(s, "mean", plan, len(labels), **kwargs).text() for s in specs]


def test_signatures_name_kind_only_for_losses_reading_it_and_classes_only_for_class_tasks() -> None:
    """The module's contract, field by field: ``kind`` only for the losses that read the
    predictions as logits or probabilities (ce, brier; not multi_margin, which takes raw
    scores), on a run whose plan read logits (scores outside [0, 1]); ``classes`` (3 here)
    only for class tasks, so none for mse's regression; ``labels`` is the first 12 hex digits
    of the hash given, or ``none`` without one; defaults left out of ``loss``; ``ci`` (the
    interval's draws) just before ``version``."""
    z = np.array([[2.0, -1.0, 0.5], [0.1, 0.3, -0.2], [1.0, 1.0, 3.0]])
    y = np.array([0, 2, 1])
    labels = f"n:3|labels:{LABELS_SHA[:12]}|version:{VERSION}"
    texts = ["ce:label_smoothing=0.1", "multi_margin", "brier", "ce:label_smoothing=0"]
    assert _signatures(texts, z, y, labels_sha256=LABELS_SHA) == [
        f"loss:ce(label_smoothing=0.1)|convention:losscli|reduction:mean|kind:logits|"
        f"task:multiclass|classes:3|{labels}",
        f"loss:multi_margin|convention:losscli|reduction:mean|task:multiclass|classes:3|{labels}",
        f"loss:brier|convention:losscli|reduction:mean|kind:logits|task:multiclass|classes:3|"
        f"{labels}",
        f"loss:ce|convention:losscli|reduction:mean|kind:logits|task:multiclass|classes:3|{labels}",
    ]
    ci = "bootstrap(b=9,seed=1)"
    (mse,) = _signatures(
        ["mse"], np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 4.0]), labels_sha256=None, ci=ci
    )
    assert mse == (
        f"loss:mse|convention:losscli|reduction:mean|task:regression|n:3|labels:none|"
        f"ci:{ci}|version:{VERSION}"
    )


def test_a_signature_field_cannot_break_the_line() -> None:
    """``|`` separates fields and the signature is one line: a group value holding them
    reads ``/`` for ``|`` and a space for each of ``\\n`` and ``\\r``. ``weights`` (the
    weight column) comes between ``task`` and ``slice``."""
    signature = Signature(
        loss="mse",
        convention="losscli",
        reduction="mean",
        task="regression",
        n=2,
        labels=LABELS_SHA,
        version="0.1",
        weights="w",
        slice="note=a|b\nc\rd\r\ne",
    )
    assert signature.text() == (
        "loss:mse|convention:losscli|reduction:mean|task:regression|weights:w|"
        f"slice:note=a/b c d  e|n:2|labels:{LABELS_SHA[:12]}|version:0.1"
    )


# --------------------------------------------------------------------------- run.py


def _regression(n: int = 23) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.normal(size=n), rng.normal(size=n)


def test_run_and_open_run_defaults_keep_ten_worst_rows_and_nothing_per_class() -> None:
    """``run``'s defaults (and ``open_run``'s, pulled chunk by chunk): the mean, the 10 worst
    rows by (p − y)², no per-class rows and no slices."""
    p, y = _regression()
    specs = parse_specs(["mse"], "mean")
    squared = (p - y) ** 2
    worst = np.argsort(-squared)[:10].tolist()
    report = run(*sources(p, y, 7), specs, options_for(specs, None))
    opened = open_run(*sources(p, y, 7), specs, options_for(specs, None), chunk_rows=7)
    rows = [len(chunk.batch) for chunk in opened.chunks()]
    pulled = opened.report()
    assert rows == [7, 7, 7, 2]
    for got in (report, pulled):
        assert [w.row for w in got.worst] == worst
        assert (got.by_class, got.slices) == ((), ())
        assert got.results[0].value == pytest.approx(squared.mean(), rel=1e-12)
        assert got.results[0].reduction == "mean"
        assert got.results[0].convention_note == ""  # mse has one convention only


def test_verbose_log_counts_chunks_and_rows(caplog: pytest.LogCaptureFixture) -> None:
    """``--verbose`` says each chunk's rows and the rows so far: 23 rows in chunks of 7."""
    p, y = _regression()
    with caplog.at_level(logging.DEBUG, logger="losscli"):
        run_arrays(["mse"], p, y, chunk_rows=7)
    lines = [r.getMessage() for r in caplog.records]
    chunks = [line for line in lines if line.startswith("chunk ")]
    assert chunks == [
        "chunk 1: 7 rows (7 so far)",
        "chunk 2: 7 rows (14 so far)",
        "chunk 3: 7 rows (21 so far)",
        "chunk 4: 2 rows (23 so far)",
    ]
    assert any(line.startswith("read 23 rows in ") for line in lines)


@pytest.mark.parametrize(("nan_rows", "note"), [([4], "skipped 1 row"), ([4, 9], "skipped 2 rows")])
def test_rows_skipped_for_nan_are_noted_in_the_interpretation(
    nan_rows: list[int], note: str
) -> None:
    p, y = _regression()
    p[nan_rows] = np.nan
    specs = parse_specs(["mse"], "mean")
    options = replace(options_for(specs, None), nan=NanPolicy.SKIP)
    report = run(*sources(p, y, 7), specs, options, top=0)
    assert (note, "NaN or infinite values; --nan skip") in report.interpretation
    keep = np.isfinite(p)
    assert report.n_samples == keep.sum()
    assert report.results[0].value == pytest.approx(((p - y)[keep] ** 2).mean(), rel=1e-12)


def test_weighted_perfect_predictions_have_a_loss_of_zero() -> None:
    """Positive weights and no error (Σw·0 / Σw = 0): the "every weight is 0" refusal is for
    weights, not for a sum of losses that is 0."""
    y = np.array([0.5, 1.5, 2.0, -1.0])
    specs = parse_specs(["mse"], "mean")
    options = replace(options_for(specs, None), meta=MetaColumns("w"))
    weights = in_memory_table("meta", {"w": np.array([1.0, 2.0, 0.0, 0.5])}, 7)
    report = run(*sources(y.copy(), y, 7), specs, options, top=0, meta_src=weights)
    assert report.results[0].value == 0.0


def test_soft_labels_refuse_ignore_index_and_a_row_of_zeros() -> None:
    """ce against label distributions: ignore_index names a class index, which soft labels
    do not have (exit 2); a label row of zeros is no distribution (exit 3, row 1)."""
    z = np.array([[0.5, -1.0], [2.0, 0.1], [0.0, 0.3]])
    soft = np.array([[0.3, 0.7], [1.0, 0.0], [0.5, 0.5]])
    message = _refusal(["ce:ignore_index=0"], z, soft)
    assert message.startswith("ce:ignore_index=0: ignore_index applies to class-index labels")
    soft[1] = 0.0
    with pytest.raises(InputError, match="label rows must hold a distribution over the classes"):
        run_arrays(["ce"], z, soft, logits=True)


def test_collected_samples_are_keyed_by_id_when_rows_are_joined_by_id() -> None:
    """With --id-col the samples' keys are the ids (as text), in the predictions' order."""
    y = np.array([0.5, 1.5, 2.0])
    preds = in_memory_table("preds", {"id": np.array([30, 10, 20]), "p": y + 1}, 7)
    labels = in_memory_table("labels", {"id": np.array([10, 20, 30]), "y": y}, 7)
    specs = parse_specs(["mse"], "mean")
    options = replace(options_for(specs, None), id_col="id")
    _, samples = collect(preds, labels, specs, options)
    assert samples.keys.tolist() == ["30", "10", "20"]


def test_rows_of_weight_zero_leave_the_mean_the_worst_rows_and_the_quantiles() -> None:
    """Weights 1, 2, 0, 0.5 (chunks of 3 rows, so the last chunk holds one row): the mean is
    Σw·e²/Σw; row 2 has the largest error but weight 0, so it is no worst row and not in
    the distribution (3 rows count); row 3 (weight 0.5) still counts."""
    y = np.array([0.5, 1.5, 2.0, -1.0])
    p = y + np.array([0.1, -0.2, 3.0, 0.4])
    w = np.array([1.0, 2.0, 0.0, 0.5])
    specs = parse_specs(["mse"], "mean")
    options = replace(options_for(specs, None), meta=MetaColumns("w"))
    weights = in_memory_table("meta", {"w": w}, 3)
    report = run(*sources(p, y, 3), specs, options, chunk_rows=3, meta_src=weights)
    squared = (p - y) ** 2
    (result,) = report.results
    assert result.value == pytest.approx((w * squared).sum() / w.sum(), rel=1e-12)
    assert [r.row for r in report.worst] == [3, 1, 0]  # errors 0.4, 0.2, 0.1
    assert result.distribution is not None
    assert result.distribution.count == 3
    assert report.residuals is not None  # p − y of the rows that count
    assert report.residuals.count == 3


def test_an_update_needs_one_accumulator_per_loss() -> None:
    y = np.array([0.5, 1.5, 2.0])
    one, plan, stream = _planned(["mse"], y + 1, y)
    two = parse_specs(["mse", "mae"], "mean")
    (batch,) = stream
    with pytest.raises(ValueError, match="zip"):
        start_evaluation(one, plan).update(batch, two, plan)


def test_a_mean_and_variance_against_one_label_have_no_residuals() -> None:
    """gaussian_nll's two prediction columns are no prediction of the label itself."""
    preds = np.array([[0.2, 1.0], [0.6, 0.5], [0.9, 2.0]])
    report = run_arrays(["gaussian_nll"], preds, np.array([0.5, 2.0, 0.3]))
    assert report.residuals is None


def test_loss_text_writes_parameters_as_the_signature_format_says() -> None:
    """Parameters that differ from their defaults, sorted: booleans as true/false, lists in
    brackets without spaces, floats as repr (0.1), other values as str."""
    params = {"s": 0.1, "b": True, "f": False, "w": [1.5, 2], "k": 3, "m": "sum", "d": 1}
    text = loss_text("x", params, {"d": 1})
    assert text == "x(b=true,f=false,k=3,m=sum,s=0.1,w=[1.5,2])"


def test_file_info_is_the_readers_format_and_the_sha256_of_the_files_bytes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file: its format as the reader names it ("npy", no dot) and the sha256 of its bytes
    (hashlib here), which ``--verbose`` prints; an in-memory table has no hash to print."""
    path = tmp_path / "p.npy"
    np.save(path, np.array([0.5, 1.5]))
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    table = in_memory_table("meta", {"w": np.array([1.0, 2.0])}, 7)
    with caplog.at_level(logging.INFO, logger="losscli"):
        assert file_info(open_source(path), None) == FileInfo(str(path), "npy", None, sha)
        assert file_info(table, ["w"]) == FileInfo("meta", "array", ("w",), None)
    hashes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sha256 of")]
    assert len(hashes) == 1
    assert hashes[0].startswith(f"sha256 of {path}: {sha} (waited ")


def test_dask_refuses_a_per_sample_sink_before_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--engine dask`` writes per-sample losses as part files, so an in-process sink is a
    usage error, raised before any cluster starts (here one would fail the test)."""

    def no_cluster(*_: Any) -> None:
        raise AssertionError("run_dask reached")

    monkeypatch.setattr(distributed, "run_dask", no_cluster)
    p, y = _regression()
    specs = parse_specs(["mse"], "mean")
    chunks: list[EvaluatedChunk] = []
    with pytest.raises(UsageError, match="--engine dask writes per-sample losses as part files"):
        run(
            *sources(p, y, 7),
            specs,
            options_for(specs, None),
            sink=chunks.append,
            engine=DaskEngine(),
        )


@pytest.mark.parametrize(
    ("types", "expected"),
    [({"p": "float32"}, "float32"), ({"p": "float64"}, "float64"), ({}, "float64")],
)
def test_float32_prediction_columns_of_a_table_are_planned_as_float32(
    types: dict[str, str], expected: str
) -> None:
    """A table whose stored prediction column is float32 (Parquet keeps the type) plans
    float32 predictions (--convention sklearn then computes in float32); other stored types,
    or none, keep float64."""
    y = np.array([0.5, 1.5, 2.0])
    preds = in_memory_table("preds", {"p": (y + 1).astype(np.float32)}, 7)
    preds.number_types = types
    specs = parse_specs(["mse"], "mean")
    opened = open_run(
        preds, in_memory_table("labels", {"y": y}, 7), specs, options_for(specs, None)
    )
    assert opened.plan.preds_dtype == expected


def test_a_meta_table_needs_a_column_read_from_it_and_the_id_column_to_join_on() -> None:
    """``--meta FILE`` with no weight or group column read from it is refused (drop it or
    name its columns); rows joined by id need the id column in the meta table too."""
    y = np.array([0.5, 1.5, 2.0])
    specs = parse_specs(["mse"], "mean")
    weights = in_memory_table("meta", {"w": np.array([1.0, 2.0, 1.0])}, 7)
    with pytest.raises(UsageError, match=r"--meta meta: none of the columns \(no --weight-col"):
        open_run(*sources(y + 1, y, 7), specs, options_for(specs, None), meta_src=weights)
    preds = in_memory_table("preds", {"id": np.array([3, 1, 2]), "p": y + 1}, 7)
    labels = in_memory_table("labels", {"id": np.array([1, 2, 3]), "y": y}, 7)
    options = replace(options_for(specs, None), id_col="id", meta=MetaColumns("w"))
    with pytest.raises(UsageError, match="meta: no id column 'id' to match rows by"):
        open_run(preds, labels, specs, options, meta_src=weights)


def _three_classes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logits of 3 classes and their ce = −log softmax(z)[y], computed by NumPy."""
    rng = np.random.default_rng(7)
    z, y = rng.normal(size=(9, 3)) * 2, rng.integers(0, 3, size=9)
    shifted = z - z.max(axis=1, keepdims=True)
    return z, y, np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(9), y]


def test_run_hands_reduction_by_class_and_save_state_to_the_pass(tmp_path: Path) -> None:
    """``run(reduction="sum", save_state=...)`` on a class task: the sum of ce, no per-class
    rows unless asked (``by_class=False`` is not "when the task has classes"), and the state
    written with the reduction it was computed with."""
    z, y, ce = _three_classes()
    specs = parse_specs(["ce"], "mean")
    state = tmp_path / "state.json"
    report = run(
        *sources(z, y, 4), specs, options_for(specs, None), reduction="sum", save_state=state
    )
    (result,) = report.results
    assert result.value == pytest.approx(ce.sum(), rel=1e-12)
    assert result.reduction == "sum"
    assert report.by_class == ()
    doc = json.loads(state.read_text(encoding="utf-8"))
    assert (doc["reduction"], doc["n_samples"], doc["by_class"]) == ("sum", 9, None)


def test_a_reports_files_name_the_columns_read_and_arrays_keep_their_dtype() -> None:
    """Tables: each file's entry names the columns read from it; an array of float32
    predictions is planned as float32 (its own dtype)."""
    y = np.array([0.5, 1.5, 2.0])
    specs = parse_specs(["mse"], "mean")
    tables = (in_memory_table("preds", {"p": y + 1}, 7), in_memory_table("labels", {"y": y}, 7))
    report = run(*tables, specs, options_for(specs, None))
    assert (report.preds, report.labels) == (
        FileInfo("preds", "array", ("p",), None),
        FileInfo("labels", "array", ("y",), None),
    )
    opened = open_run(*sources((y + 1).astype(np.float32), y, 7), specs, options_for(specs, None))
    assert opened.plan.preds_dtype == "float32"


def test_rows_in_0_1_that_do_not_sum_to_1_are_ambiguous_for_ce() -> None:
    """ce reads a row of class scores as one distribution: scores in [0, 1] whose rows do not
    sum to 1 are neither probabilities nor surely logits (only losses scoring each column
    on its own, like bce, read them as probabilities), so the planner asks."""
    preds = np.array([[0.2, 0.3, 0.1], [0.5, 0.1, 0.1]])
    with pytest.raises(UsageError, match="cannot tell whether the predictions are logits or"):
        run_arrays(["ce"], preds, np.array([0, 2]))


class _Stop(Exception):
    """Raised by a stand-in for run_dask, holding the settings it was given."""


def test_dask_settings_carry_the_runs_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--engine dask`` hands the workers the run's worst-row count, per-class option,
    reduction and chunk size (run_dask replaced: no cluster starts)."""

    def captured(_p: Any, _l: Any, settings: Any, _e: Any) -> None:
        raise _Stop(settings)

    monkeypatch.setattr(distributed, "run_dask", captured)
    z, y, _ = _three_classes()
    specs = parse_specs(["ce"], "mean")
    with pytest.raises(_Stop) as stop:
        run(
            *sources(z, y, 4),
            specs,
            options_for(specs, None),
            reduction="sum",
            top=3,
            by_class=True,
            chunk_rows=4,
            engine=DaskEngine(),
        )
    settings = stop.value.args[0]
    assert (settings.top, settings.by_class, settings.reduction, settings.chunk_rows) == (
        3,
        True,
        "sum",
        4,
    )


def _shards(folder: Path, parts: list[np.ndarray], suffix: str) -> Path:
    folder.mkdir()
    for i, part in enumerate(parts):
        if suffix == ".npy":
            np.save(folder / f"part-{i}.npy", part)
        else:
            (folder / f"part-{i}.csv").write_text("v\n" + "".join(f"{v}\n" for v in part))
    return folder


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_shards_paired_by_position_need_equal_row_counts(tmp_path: Path, suffix: str) -> None:
    """Shards of 2 and 3 rows against shards of 3 and 2 (5 rows each, so the pass itself
    pairs every row): refused when the run is opened where the counts are known up front
    (arrays), after the pass where they are counted as the rows stream (CSV)."""
    y = np.array([0.5, 1.5, 2.0, -1.0, 0.25])
    p_dir = _shards(tmp_path / "preds", [y[:2] + 1, y[2:] + 1], suffix)
    l_dir = _shards(tmp_path / "labels", [y[:3], y[3:]], suffix)

    def opened(path: Path) -> Any:
        return open_shards(path, lambda f: open_source(f, chunk_rows=7), 7)

    specs = parse_specs(["mse"], "mean")
    refusal = "shard .*part-0.* has 2 rows but .*part-0.* has 3"
    if suffix == ".npy":
        with pytest.raises(InputError, match=refusal):
            open_run(opened(p_dir), opened(l_dir), specs, options_for(specs, None))
    else:
        start = open_run(opened(p_dir), opened(l_dir), specs, options_for(specs, None))
        assert start.plan.id_col is None  # opened: CSV shards count their rows as they stream
        with pytest.raises(InputError, match=refusal):
            run(opened(p_dir), opened(l_dir), specs, options_for(specs, None))
