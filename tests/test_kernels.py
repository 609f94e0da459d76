"""The row-block kernels of the cross-entropy family against torch 2.13.0, at block boundaries.

Expected numbers: ``tests/reference/kernel_cases.json``, written by
``tests/reference/generate_kernels.py`` (``make reference``) with torch 2.13.0; each case names
its torch call in ``reference``. Inputs come from ``kernel_inputs.py`` (exact integer
arithmetic: the generator and these tests build the same arrays bit for bit). Tolerances are
ARCHITECTURE.md's: 1e-10 relative for float64 inputs, 1e-6 relative or absolute for float32.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import float32_bound as f32
import kernel_inputs as ki
import numpy as np
import pytest

import losscli
from losscli.errors import DomainError
from losscli.losses import kernels
from losscli.losses.classification import cross_entropy, focal, nll
from losscli.losses.distribution import jensen_shannon, kl_divergence
from losscli.losses.numerics import log_softmax

CASES_PATH = Path(__file__).resolve().parent / "reference" / "kernel_cases.json"
DOC = json.loads(CASES_PATH.read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = DOC["cases"]
TOLERANCE = {"float64": {"rel": 1e-10}, "float32": {"rel": 1e-6, "abs": 1e-6}}
FUNCTIONS = {"ce": cross_entropy, "focal": focal, "nll": nll, "kl": kl_divergence}


def case_arrays(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, str]:
    """(preds, labels, dtype) of a case, as the generator built them."""
    src = case["inputs"]
    if "extreme" in src:
        z, y = ki.extreme(src["extreme"])
        return z, y, src["extreme"]
    spec = DOC["shapes"][src["shape"]]
    shape, dtype = tuple(spec["shape"]), spec["dtype"]
    z = ki.logits(shape, dtype)
    y = ki.labels((shape[0], *shape[2:]), shape[1], src["ignore_every"])
    if src.get("target"):
        return z, ki.distributions(*shape), dtype
    if src.get("log_softmax"):
        return log_softmax(z, axis=1), y, dtype
    return z, y, dtype


def per_position(
    case: dict[str, Any], positions: bool = True
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """losscli's per-position terms (values, weights) of a case, by the loss function; dense
    maps as (n·d1·d2, C) positions, or (``positions`` False) in their own layout."""
    z, y, dtype = case_arrays(case)
    kwargs = dict(case["kwargs"])
    if kwargs.get("weight") == "class_weights":
        kwargs["weight"] = ki.class_weights(z.shape[1])
    if z.ndim > 2 and positions:
        z = np.moveaxis(z, 1, -1).reshape(-1, z.shape[1])
        y = y.reshape(-1)
    if case["loss"] == "js":
        terms = jensen_shannon(z, y, logits=True)
    elif case["loss"] == "nll":
        terms = nll(z, y, **kwargs)
    else:
        terms = FUNCTIONS[case["loss"]](z, y, logits=True, **kwargs)
    return terms.values, terms.weights, dtype


def test_reference_file_comes_from_torch_2_13() -> None:
    assert DOC["versions"]["torch"].startswith("2.13.0")
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert all(c["reference"].startswith("torch 2.13.0") for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_per_position_values_match_torch(case: dict[str, Any]) -> None:
    values, _, dtype = per_position(case)
    tol = TOLERANCE[dtype]
    assert values[case["rows"]] == pytest.approx(case["per_sample"], **tol)
    finite = np.isfinite(case["sum"])
    assert (
        float(values.sum()) == pytest.approx(case["sum"], **tol)
        if finite
        else (values.sum() == case["sum"])
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_mean_matches_torch(case: dict[str, Any]) -> None:
    values, weights, dtype = per_position(case)
    mean = values.sum() / (len(values) if weights is None else weights.sum())
    if not np.isfinite(case["mean"]):
        assert mean == case["mean"]
    else:
        assert float(mean) == pytest.approx(case["mean"], **TOLERANCE[dtype])


DENSE_CASES = [c for c in CASES if "dense" in c["id"]]


@pytest.mark.parametrize("case", DENSE_CASES, ids=lambda c: c["id"])
def test_dense_maps_in_their_own_layout_match_torch(case: dict[str, Any]) -> None:
    values, weights, dtype = per_position(case, positions=False)
    assert values[case["rows"]] == pytest.approx(case["per_sample"], **TOLERANCE[dtype])
    mean = values.sum() / (len(values) if weights is None else weights.sum())
    assert float(mean) == pytest.approx(case["mean"], **TOLERANCE[dtype])


def engine_spec(case: dict[str, Any], n_classes: int) -> str:
    """The case's loss as a --loss spec (class weights written out)."""
    kwargs = dict(case["kwargs"])
    if kwargs.get("weight") == "class_weights":
        kwargs["weight"] = "[" + ",".join(map(str, ki.class_weights(n_classes))) + "]"
    params = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return case["loss"] + (f":{params}" if params else "")


@pytest.mark.parametrize(
    "case",
    [
        c
        for c in CASES
        if c["loss"] == "ce" and "shape" in c["inputs"] and "target" not in c["inputs"]
    ],
    ids=lambda c: c["id"],
)
def test_engine_mean_matches_torch(case: dict[str, Any]) -> None:
    """Through ``losscli.compute`` (the engine's chunk loop; dense maps read in place)."""
    z, y, dtype = case_arrays(case)
    result = losscli.compute(engine_spec(case, z.shape[1]), z, y, logits=True)
    assert result.value == pytest.approx(case["mean"], **TOLERANCE[dtype])


def test_shapes_cross_block_boundaries() -> None:
    """The reference shapes do what the generator says: N not a multiple of the block, N
    below one block, C so large that a block holds two rows. float32 blocks hold BLOCK_BYTES
    of float32 (half as many rows when the dot needs a float64 product buffer)."""
    rows = {
        key: kernels.block_rows(np.dtype(s["dtype"]).itemsize * int(np.prod(s["shape"][1:])))
        for key, s in DOC["shapes"].items()
    }
    assert rows["f32-300x1000"] == 131 and 300 % 131
    assert kernels.block_rows(8 * 1000) == 65 and 300 % 65
    assert rows["f64-1100x64"] == 1024 and 1100 % 1024
    assert rows["f64-4100x16"] == 4096 and 4100 % 4096
    assert rows["f32-5x100"] > 5 and rows["f32-2050x10"] > 2050
    assert rows["f32-3x50257"] == 2 and kernels.block_rows(8 * 50_257) == 1


def big_logits(dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    z = ki.logits((2_000, 300), dtype)  # 9 blocks of 218 rows and one of 38
    return z, ki.labels((2_000,), 300)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_threads_give_identical_bits(dtype: str) -> None:
    z, y = big_logits(dtype)
    w = np.asarray(ki.class_weights(300))
    runs = [
        kernels.log_softmax_terms(z, labels=y, dot=True, class_weights=w, threads=t)
        for t in (1, 2, 3)
    ]
    for other in runs[1:]:
        for name in ("shift", "log_sum", "true", "dot"):
            assert np.array_equal(getattr(runs[0], name), getattr(other, name)), name
    p = ki.distributions(2_000, 300)
    soft = [kernels.log_softmax_terms(z, target=p, threads=t).dot for t in (1, 2)]
    assert np.array_equal(soft[0], soft[1])


def test_loss_functions_use_the_pool_with_the_same_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    """cross_entropy's default (a pool above PARALLEL_BYTES) equals its one-thread result."""
    z, y = big_logits()
    one = cross_entropy(z, y, logits=True, label_smoothing=0.1).values
    monkeypatch.setattr(kernels, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(kernels, "cpu_threads", lambda: 2)
    pooled = cross_entropy(z, y, logits=True, label_smoothing=0.1).values
    assert np.array_equal(one, pooled)


def test_run_blocks_gives_each_worker_every_kth_block() -> None:
    """Two workers: blocks 0, 2, 4 and 1, 3 (of 5 blocks of 2 rows), each with its scratch."""
    seen: list[tuple[kernels.Scratch, int]] = []
    lock = threading.Lock()

    def work(rows: slice, scratch: kernels.Scratch) -> None:
        with lock:
            seen.append((scratch, rows.start))

    kernels.run_blocks(10, kernels.BLOCK_BYTES // 2, work, threads=2)
    by_worker: dict[int, list[int]] = {}
    for scratch, start in seen:
        by_worker.setdefault(id(scratch), []).append(start)
    assert sorted(sorted(starts) for starts in by_worker.values()) == [[0, 4, 8], [2, 6]]


@pytest.mark.parametrize(
    ("shape", "scale"),
    [((2_000, 300), 24.0), ((3, 50_257), 24.0), ((2_000, 300), 120.0)],
    ids=["2000x300-unshifted", "3x50257-unshifted", "2000x300-shifted"],
)
def test_float32_scores_stay_within_the_bound_of_the_float64_computation(
    shape: tuple[int, int], scale: float
) -> None:
    """float32 scores: the exp in float32, the sums in float64. Against the float64
    computation on the same values (the scores cast beforehand), the shift-free quantities
    log p_y = (z_y − m) − l and −Σ_c w_c log p_c = W·l − Σ_c w_c (z_c − m) agree within the
    bounds of tests/float32_bound.py (derived in kernels.py's docstring). Logits within ±24
    take the shift 0 (exps from e^-24 to e^24); logits up to ±120 overflow float32's exp
    unshifted, so their blocks take the row max."""
    z = ki.logits(shape, "float32", scale=scale)
    y = ki.labels(shape[:1], shape[1])
    w = np.asarray(ki.class_weights(shape[1]))
    narrow = kernels.log_softmax_terms(z, labels=y, dot=True, class_weights=w)
    wide = kernels.log_softmax_terms(z.astype(np.float64), labels=y, dot=True, class_weights=w)
    if scale > 88:
        assert np.array_equal(narrow.shift, wide.shift)  # the max, exact in float32
        assert np.array_equal(narrow.true, wide.true)  # z_y − m, exact in float64
    else:
        assert not narrow.shift.any()
    nll = -wide.log_p_true()
    bound = [f32.loss_bound(shape[1], v) for v in nll]
    error = np.abs(-narrow.log_p_true() - nll)
    assert np.all(error <= bound)
    assert narrow.dot is not None and wide.dot is not None
    smooth = w.sum() * wide.log_sum - wide.dot
    got = w.sum() * narrow.log_sum - narrow.dot
    mass = w.sum()  # a_c = w_c for every class
    bound = [f32.loss_bound(shape[1], v, mass=mass, dot=True) for v in smooth]
    assert np.all(np.abs(got - smooth) <= bound)
    # The float32 exp is really used: the float64 computation differs in the last bits.
    assert np.any(error > 0)


def test_temporaries_stay_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """No scratch buffer holds more than one block: BLOCK_BYTES of float64, never (n, C)."""
    sizes: list[int] = []

    class Spy(kernels.Scratch):
        def take(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
            buf = super().take(name, shape, dtype)
            sizes.append(buf.nbytes)
            return buf

    monkeypatch.setattr(kernels, "Scratch", Spy)
    z, y = big_logits()
    cross_entropy(z, y, logits=True, label_smoothing=0.1)
    kl_divergence(z, ki.distributions(2_000, 300), logits=True)
    assert sizes and max(sizes) <= kernels.BLOCK_BYTES < z.nbytes


def test_dense_layout_matches_the_positions_layout() -> None:
    """(n, C, d1, d2) read in place gives the terms of its (n·d1·d2, C) positions."""
    z = ki.logits((3, 5, 4, 7), "float64")
    y = ki.labels((3, 4, 7), 5)
    native = kernels.log_softmax_terms(z, labels=y, dot=True)
    flat = kernels.log_softmax_terms(np.moveaxis(z, 1, -1).reshape(-1, 5), labels=y.reshape(-1))
    assert native.log_p_true() == pytest.approx(flat.log_p_true(), rel=1e-14)


def test_nll_checks_rows_by_the_kernel() -> None:
    """nll's domain check (exp sums to 1, values <= 0) runs blockwise; it still names rows."""
    logp = log_softmax(ki.logits((4, 100), "float64"), axis=1)
    logp[2] += 0.5
    with pytest.raises(DomainError, match=r"exp sums to 1\.6487"):
        nll(logp, np.zeros(4, dtype=np.int64))


def test_engine_passes_float32_logits_to_the_kernels_and_float64_to_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No float64 copy of float32 logits for ce; hinge (no kernel) still computes in float64."""
    from losscli.losses import classification

    seen: list[np.dtype] = []
    kernel = classification.log_softmax_terms

    def spy(scores: np.ndarray, **kwargs: Any) -> kernels.Terms:
        seen.append(scores.dtype)
        return kernel(scores, **kwargs)

    monkeypatch.setattr(classification, "log_softmax_terms", spy)
    z, y = big_logits()
    ce = losscli.compute("ce", z, y, logits=True)
    assert seen == [np.dtype(np.float32)]
    assert ce.value == pytest.approx(float(cross_entropy(z, y, logits=True).values.mean()))
    hinge_result = losscli.compute("hinge", z, y, logits=True)
    z64 = z.astype(np.float64)
    hinge = np.maximum(
        0,
        1
        - (
            z64[np.arange(2_000), y]
            - np.where(np.arange(300) == y[:, None], -np.inf, z64).max(axis=1)
        ),
    )
    # The hand derivation: Crammer–Singer max(0, 1 − (s_y − max_{j≠y} s_j)) in float64.
    assert hinge_result.value == pytest.approx(float(hinge.mean()), rel=1e-12)


# ---------------------------------------------------------------- behaviours found by make mutation


def test_scratch_reuses_a_named_buffer_until_it_is_too_small_or_of_another_dtype() -> None:
    s = kernels.Scratch()
    f64, f32 = np.dtype(np.float64), np.dtype(np.float32)
    first = s.take("a", (2, 3), f64)
    assert np.shares_memory(first, s.take("a", (6,), f64))  # the same size: the same memory
    assert np.shares_memory(first, s.take("a", (1, 4), f64))  # smaller: a view of it
    bigger = s.take("a", (3, 3), f64)  # larger: a new buffer of that size
    assert bigger.shape == (3, 3) and not np.shares_memory(first, bigger)
    narrow = s.take("a", (2,), f32)  # another dtype: a new buffer of that dtype
    assert narrow.dtype == f32 and np.shares_memory(narrow, s.take("a", (2,), f32))
    assert s.starts(3, 5).tolist() == [0, 5, 10]  # rows of width 5 start at 0, 5, 10
    assert s.starts(3, 5) is s.starts(3, 5)  # made once per (rows, width)


def test_rows_of_at_most_one_byte_make_blocks_of_block_bytes_rows() -> None:
    assert kernels.block_rows(1) == kernels.BLOCK_BYTES
    assert kernels.block_rows(0) == kernels.BLOCK_BYTES  # no class: the divisor is 1


def test_cpu_threads_counts_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    assert kernels.cpu_threads() == len(os.sched_getaffinity(0))
    monkeypatch.delattr(os, "sched_getaffinity")  # as on systems other than Linux
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert kernels.cpu_threads() == 3
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: one
    assert kernels.cpu_threads() == 1


def blocks_seen(n: int, row_bytes: int, threads: int | None = None) -> list[tuple[int, object]]:
    """(thread id, scratch) of each block ``run_blocks`` hands out."""
    seen: list[tuple[int, object]] = []
    lock = threading.Lock()

    def work(rows: slice, scratch: kernels.Scratch) -> None:
        with lock:
            seen.append((threading.get_ident(), scratch))

    kernels.run_blocks(n, row_bytes, work, threads)
    return seen


def test_run_blocks_uses_every_core_from_parallel_bytes_of_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One-row blocks of BLOCK_BYTES: 16 rows are PARALLEL_BYTES (2^23 = 16·2^19) of work,
    run by cpu_threads() workers; 15 rows run on the calling thread, with one scratch."""
    monkeypatch.setattr(kernels, "cpu_threads", lambda: 2)
    row = kernels.BLOCK_BYTES
    assert 16 * row == kernels.PARALLEL_BYTES
    assert len({id(scratch) for _, scratch in blocks_seen(16, row)}) == 2
    below = blocks_seen(15, row)
    assert len({id(scratch) for _, scratch in below}) == 1
    assert {ident for ident, _ in below} == {threading.get_ident()}
    forced = blocks_seen(3, row, threads=1)  # one worker: no pool either
    assert {ident for ident, _ in forced} == {threading.get_ident()}


@pytest.mark.parametrize("shape", [(3, 5, 4, 7), (3, 20, 2), (2, 17, 3, 1)])
def test_dense_maps_of_many_classes_match_the_positions_layout(shape: tuple[int, ...]) -> None:
    """More than FEW_CLASSES classes and several positions per row: the max runs along axis 1
    of the map; the terms equal those of the (n·d1·…, C) positions, the shift (each
    position's max, float64 scores) exactly."""
    z = ki.logits(shape, "float64")
    y = ki.labels((shape[0], *shape[2:]), shape[1])
    native = kernels.log_softmax_terms(z, labels=y, dot=True)
    flat_z = np.moveaxis(z, 1, -1).reshape(-1, shape[1])
    flat = kernels.log_softmax_terms(flat_z, labels=y.reshape(-1), dot=True)
    assert np.array_equal(native.shift, flat_z.max(axis=1))
    assert np.array_equal(native.shift, flat.shift)
    assert native.log_p_true() == pytest.approx(flat.log_p_true(), rel=1e-14)
    assert native.dot == pytest.approx(flat.dot, rel=1e-14)


def test_float32_class_weights_and_targets_multiply_in_float64() -> None:
    """a_c·z_c with float32 weights or targets is formed in float64 (a product of two float32
    numbers is exact there: 24 + 24 bits), not rounded to float32 first. Logits within ±6 take
    the shift 0, so the dot is Σ_c a_c z_c, summed class by class (C = 5 <= FEW_CLASSES): the
    float64 computation below, in the same order."""
    z = ki.logits((40, 5), "float32")
    w = np.array([0.1, 0.7, 1.3, 2.9, 0.3], dtype=np.float32)  # not exact in float32
    p = ki.distributions(40, 5).astype(np.float32)

    def dot(a: np.ndarray) -> np.ndarray:
        products = a.astype(np.float64) * z.astype(np.float64)
        total = products[:, 0].copy()
        for c in range(1, 5):
            total += products[:, c]
        return total

    weighted = kernels.log_softmax_terms(z, dot=True, class_weights=w)
    assert not weighted.shift.any()
    assert weighted.dot == pytest.approx(dot(np.broadcast_to(w, z.shape)), rel=1e-15, abs=0)
    soft = kernels.log_softmax_terms(z, target=p)
    assert soft.dot == pytest.approx(dot(p), rel=1e-15, abs=0)


def test_float32_blocks_hold_block_bytes_of_float32_or_of_float64_products(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A float32 block whose exp overflows takes the row max as its shift; the other blocks
    take 0. So the shifted rows show the block: 2^19 // (4·1000) = 131 rows of float32 scores,
    or 2^19 // (8·1000) = 65 when the dot needs a float64 product buffer (class weights or a
    target). A dot without weights needs none; without a dot there is no dot."""
    z = ki.logits((140, 1000), "float32")
    z[0, 0] = 100.0  # exp(100) overflows float32
    y = ki.labels((140,), 1000)
    w = np.asarray(ki.class_weights(1000))
    p = ki.distributions(140, 1000)
    for kwargs, rows in [
        ({}, 131),
        ({"dot": True}, 131),
        ({"dot": True, "class_weights": w}, 65),
        ({"target": p}, 65),
    ]:
        terms = kernels.log_softmax_terms(z, labels=y, **kwargs)
        assert np.flatnonzero(terms.shift).tolist() == list(range(rows)), kwargs
        assert (terms.dot is None) == (not kwargs)
    made: list[kernels.Scratch] = []

    class Counted(kernels.Scratch):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(kernels, "Scratch", Counted)
    kernels.log_softmax_terms(z, labels=y, threads=2)  # 2 blocks, 2 workers
    assert len(made) == 2


def test_log_softmax_blocks_hand_out_blocks_of_block_bytes_of_float64() -> None:
    """log q and q are float64 (b, C, D) buffers: 2^19 // (8·1000) = 65 rows a block."""
    seen: list[tuple[int, int, int]] = []
    kernels.log_softmax_blocks(
        ki.logits((140, 1000), "float32"),
        lambda rows, log_q, q: seen.append((rows.start, rows.stop, log_q.nbytes)),
    )
    assert seen == [(0, 65, 65 * 8000), (65, 130, 65 * 8000), (130, 140, 10 * 8000)]


def test_log_softmax_blocks_read_float32_scores_as_their_float64_values() -> None:
    """float32 scores are shifted in float64 (exact), so log q and q equal those of the same
    values cast to float64, bit for bit, and stay finite at ±1e4 and −inf (exp(1e4) would
    overflow without the shift)."""
    z32, _ = ki.extreme("float32")

    def blocks(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out: list[tuple[np.ndarray, np.ndarray]] = []
        kernels.log_softmax_blocks(z, lambda rows, log_q, q: out.append((log_q.copy(), q.copy())))
        assert len(out) == 1
        return out[0]

    log_q, q = blocks(z32)
    log_q64, q64 = blocks(z32.astype(np.float64))
    assert np.array_equal(log_q, log_q64) and np.array_equal(q, q64)
    assert np.all(np.isfinite(q)) and not np.any(np.isnan(log_q))


def exp32_at_most(target: float) -> tuple[np.float32, float]:
    """The float32 z near log(target) whose float32 exp (NumPy's, as in the kernel) is the
    largest not above ``target``, and that exp."""
    centre = np.float32(np.log(target)).view(np.int32)
    z = np.sort((centre + np.arange(-2048, 2049, dtype=np.int32)).view(np.float32))
    exps = np.exp(z).astype(np.float64)
    k = np.flatnonzero(exps <= target)[-1]
    return z[k], float(exps[k])


def test_a_float32_row_whose_exps_sum_to_exactly_the_floor_takes_the_shift_0() -> None:
    """UNSHIFTED_FLOOR is inclusive: e^-30 <= Σ_c fl32(e^{z_c}) keeps the shift 0. Three
    logits whose float32 exps add up (class by class, in float64) to exactly the floor: the
    largest exp not above it, the largest not above what is left (the two add exactly: 42
    bits), then the nearest to the rest, which rounds the sum onto the floor. Without the
    third, the sum is below the floor and the row takes its max as the shift."""
    floor = kernels.UNSHIFTED_FLOOR
    z1, e1 = exp32_at_most(floor)
    z2, e2 = exp32_at_most(floor - e1)
    z = np.float32(np.log(floor - (e1 + e2))).view(np.int32)
    near = (z + np.arange(-2048, 2049, dtype=np.int32)).view(np.float32)
    z3 = near[np.argmin(np.abs(np.exp(near).astype(np.float64) - (floor - (e1 + e2))))]
    row = np.array([[z1, z2, z3]], dtype=np.float32)
    exps = np.exp(row[0]).astype(np.float64)
    assert (exps[0] + exps[1]) + exps[2] == floor  # the construction worked
    assert kernels.log_softmax_terms(row, labels=np.array([0])).shift.tolist() == [0.0]
    below = kernels.log_softmax_terms(row[:, :2], labels=np.array([0]))
    assert below.shift.tolist() == [float(z1)]  # the row max
