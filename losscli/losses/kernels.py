"""Fused row-block kernels for the cross-entropy family (ce, nll, focal, kl and js from logits).

Every loss of the family needs a row's log-softmax only through a few numbers:
with m = max_c z_c (the shift that keeps exp finite) and l = log Σ_c exp(z_c − m),

    log p_y = (z_y − m) − l,        Σ_c a_c log p_c = Σ_c a_c (z_c − m) − (Σ_c a_c)·l.

``log_softmax_terms`` computes m, l, z_y − m and Σ_c a_c (z_c − m) for class weights or
target rows a, walking the scores in row blocks of about ``BLOCK_BYTES`` so that the shifted
scores z − m and their exps live in one cache-sized scratch buffer (reused per thread), never
as an (n, C) matrix, and float32 scores are never cast or copied as a whole. The max pass runs
on the scores in their own dtype (a max is exact in any precision) and z_y − m is subtracted
in float64 (exact for two float32 numbers, up to a single rounding when their exponents lie
more than 29 binades apart).

float64 scores: the shift, the exp and every sum run in float64.

float32 scores (ce, focal, nll's check; ARCHITECTURE.md promises float32 inputs to 1e-6): the
exp runs in float32, in one float32 block buffer, as torch does for float32; every sum (the
row sums Σ exp, the dots, the totals over rows) is accumulated in float64. A float32 block
whose every position has e^-30 <= Σ_c fl32(e^{z_c}) < ∞ (``UNSHIFTED_FLOOR``: no exp
overflowed, logits below ~88, and the largest above ~−30: the usual case) takes the shift
m = 0 and skips the max pass and the subtraction; any other block takes m = the row max and
the shift z − m in float32, like float64 scores. The error against the float64 computation
on the same float32 values, per row, with u = 2^-24 (float32's unit roundoff), d_c = z_c − m,
S = Σ_c e^{d_c}, l = ln S and p = softmax(z):

1. the shift t_c = fl32(d_c) = d_c (1 + α_c), |α_c| <= u (α = 0 without a shift, and at the
   max: t = 0);
2. NumPy's float32 exp: fl32(e^t) = e^t (1 + β), |β| <= ε = 4u (2.4e-7) where e^t is normal
   (t >= −87.33; measured exhaustively over every float32 t in [−87.33, 0] with
   ``scripts/exp32_error.py``: at most 3.57u on the AVX-512 and AVX2 code paths; on
   [0, 88.7], where the unshifted path also exponentiates, NumPy's float32 exp uses the same
   range reduction), and exp(0) is 1 exactly; below, each term is off by at most 2^-126
   absolutely, relative to S >= 1 (shifted) or S >= e^-30 (unshifted): at most C·2^-126·e^30;
3. e^{t_c} = e^{d_c} e^{d_c α_c}: a relative error of at most u|d_c| (1 + 1e-5) for
   |d_c| <= 104 (beyond, e^{d_c} < 2^-149 counts under 2.);
4. the C terms summed in float64 in any order: relative error <= (C − 1)·2^-53;
5. the log in float64, and z_y − l: 2^-53 relative, of |m| + l <= 80 + l unshifted.

Hence |Ŝ − S| / S <= (1 + 1e-5)(ε + u Σ_c p_c |d_c|) + C·2^-52, and
Σ_c p_c |d_c| = Σ_c p_c (m − z_c) = H(p) − l <= ln C (H the entropy of p, at most ln C). So

    |l̂ − l| <= B(C) = (1 + 1e-4)(ε + u ln C) + (100 C + l)·2^-52      (per row)

— 3.1e-7 for C = 3, 5.2e-7 for C = 100, 6.6e-7 for C = 1,000 — and the same for −log p_y = l −
(z_y − m) (the second term is exact). With class weights the mean Σ w_y (−log p_y) / Σ w_y
is off by at most B(C) too. focal's (1 − p)^γ (−log p) moves by at most (1 + γ/e)·B(C), its
derivative in −log p being at most 1 + γ/e. The dot Σ_c a_c t_c of label smoothing and soft
targets carries u Σ_c a_c |d_c| more (its products and sum are float64; unshifted, the
cancellation of (Σ a_c) m against it costs (Σ a_c)·160 C·2^-53, inside B's rounding term),
at most u times the row's loss, since a_c >= 0 and the loss Σ_c a_c (l − d_c) >=
Σ_c a_c |d_c|. So a row's loss is off by at most B(C)·a + 2u·|loss|, a its weight mass: w_y
for hard labels, (1 − ε) w_y + ε Σ_c w_c / C with smoothing ε, Σ_c a_c for soft targets. The
tests assert these bounds against the float64 computation on the same values
(``tests/float32_bound.py``), and torch's float32 results to 1e-6.

Measured, the errors are far smaller than B(C) (~3e-9 relative on a mean): the bound is what
is guaranteed. kl and js from logits (``log_softmax_blocks``) keep the float64 shift and exp:
they use every class's log q and q elementwise, where the float32 error would be weighted by
the target's mass on improbable classes, with no bound as simple as B(C).

Dense maps (n, C, d1, ...) are read in their own layout (classes on axis 1): each position's
terms come out flattened in (n, d1, ...) order, the order of ``moveaxis(z, 1, -1)``.

Blocks run on a thread pool when the input is large (NumPy releases the GIL inside its
ufuncs). Each row's result depends only on that row and on the block size, which depends only
on C and the positions per row, never on the number of threads: threaded and single-threaded
results are identical bit for bit.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from losscli.losses.base import FloatArray

# Bytes of the float64 block buffer (z − m, then its exps): with the block's input (half as
# much for float32) and the row vectors, within one core's 1 MiB L2.
BLOCK_BYTES = 1 << 19
# Inputs smaller than this run on one thread: the pool costs more than it saves.
PARALLEL_BYTES = 1 << 23
# Up to this many classes, reduce class by class over whole columns of a block: NumPy's
# per-row reductions cost ~4 ns a row of overhead, more than the arithmetic of a short row.
FEW_CLASSES = 16
# float32 blocks skip the shift when every row's Σ exp(z) is at least this (and finite).
UNSHIFTED_FLOOR = float(np.exp(-30.0))

# Σ over the classes of a (b, C, D) block into a float64 (b, D) ``out``, accumulated in
# float64; and a float32 shift as float64 (exact). Module constants: their fixed arguments
# are not mutated (their mutants were equivalent, tests/mutation/kernels-and-classification.md).
_sum_classes = functools.partial(np.einsum, "bcd->bd", dtype=np.float64)
_as_float64 = functools.partial(np.asarray, dtype=np.float64)


# The losses whose functions run their logits path on these kernels and so read float32 logits
# as they are (every per-row sum in float64); the engine casts scores to float64 for the others.
FLOAT32_LOGITS = frozenset({"ce", "focal", "nll", "kl", "js"})


def cpu_threads() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Scratch:
    """One worker's reusable buffers, by name: allocated once, at the largest block's size."""

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}
        self._starts: dict[tuple[int, int], np.ndarray] = {}

    def take(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        size = math.prod(shape)
        buf = self._buffers.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self._buffers[name] = np.empty(size, dtype=dtype)
        return buf[:size].reshape(shape)

    def starts(self, rows: int, width: int) -> np.ndarray:
        """0, width, 2·width, ...: where each of ``rows`` rows of a flat block starts."""
        got = self._starts.get((rows, width))
        if got is None:
            got = self._starts[(rows, width)] = np.arange(0, rows * width, width)
        return got


BlockWork = Callable[[slice, Scratch], None]


def block_rows(row_bytes: int) -> int:
    """Rows per block: ``BLOCK_BYTES`` of rows of ``row_bytes`` (at least one row)."""
    return max(1, BLOCK_BYTES // max(row_bytes, 1))


def run_blocks(n: int, row_bytes: int, work: BlockWork, threads: int | None = None) -> None:
    """Call ``work(rows, scratch)`` on consecutive row blocks covering 0..n; ``row_bytes``: the
    float64 working bytes of one row.

    ``threads`` None: one thread below ``PARALLEL_BYTES`` of work, else every core; an int
    forces that many workers. Worker k takes blocks k, k + T, k + 2T, ... with its own scratch.
    """
    step = block_rows(row_bytes)
    blocks = [slice(a, min(a + step, n)) for a in range(0, n, step)]
    if threads is None:
        threads = cpu_threads() if n * row_bytes >= PARALLEL_BYTES else 1
    workers = min(threads, len(blocks))
    if workers <= 1:
        scratch = Scratch()
        for rows in blocks:
            work(rows, scratch)
        return

    def worker(mine: list[slice]) -> None:
        scratch = Scratch()
        for rows in mine:
            work(rows, scratch)

    with ThreadPoolExecutor(workers) as pool:  # pragma: no mutate
        for done in [pool.submit(worker, blocks[k::workers]) for k in range(workers)]:
            done.result()


def as_positions(x: np.ndarray) -> np.ndarray:
    """Scores (n, C) or (n, C, d1, ...) as a (n, C, D) view (D = 1 for one row per sample)."""
    x = np.ascontiguousarray(x)
    return x.reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))


def _row_max(x: np.ndarray, out: np.ndarray, scratch: Scratch) -> None:
    """max over axis 1 of a block (b, C, D) into ``out`` (b, D), in the block's dtype."""
    b, c, d = x.shape
    if c <= FEW_CLASSES:  # pragma: no mutate
        first, *rest = x.transpose(1, 0, 2)  # the class columns, each (b, D)
        np.copyto(out, first)
        for column in rest:
            np.maximum(out, column, out=out)
    elif d == 1:
        # Each row is a contiguous run of the flat block: reduceat skips the per-row setup of
        # an axis reduction (0.23 against 0.57 ns an element at C = 100, float32).
        np.maximum.reduceat(x.ravel(), scratch.starts(b, c), out=out.ravel())
    else:
        np.max(x, axis=1, out=out)


def _row_sum(x: np.ndarray, out: np.ndarray) -> None:
    """Σ over axis 1 of a block (b, C, D) into float64 ``out`` (b, D), accumulated in float64."""
    # Either path adds the same float64 terms, in another order (pragma: see
    # tests/mutation/kernels-and-classification.md).
    if x.shape[1] <= FEW_CLASSES:  # pragma: no mutate
        np.copyto(out, x[:, 0])
        for c in range(1, x.shape[1]):
            np.add(out, x[:, c], out=out)
    else:
        _sum_classes(x, out=out)


def _shift(x: np.ndarray, m: np.ndarray, out: np.ndarray) -> None:
    """z − m of a block (b, C, D) into the float64 ``out``: <= 0, so exp never overflows.

    float32 blocks are copied into ``out`` first and shifted there (exact in float64): 0.5 ns
    an element, against 0.7 ns for NumPy's mixed-dtype subtract with its casting buffers."""
    if x.dtype == np.float64:
        np.subtract(x, m[:, None, :], out=out)
        return
    np.copyto(out, x)
    np.subtract(out, _as_float64(m)[:, None, :], out=out)


def _work_itemsize(dtype: np.dtype, product: bool) -> int:
    """Bytes an element of a block's largest work buffer: float32 scores are shifted and
    exponentiated in a float32 buffer, unless the dot needs a float64 product buffer
    (class weights or target rows); other scores work in float64."""
    return 4 if dtype == np.float32 and not product else 8


@dataclass(frozen=True, slots=True)
class Terms:
    """Per position (n·D,) float64: the shift m, l = log Σ exp(z − m), z_y − m (hard labels
    given) and Σ_c a_c (z_c − m) (class weights or target rows given)."""

    shift: FloatArray
    log_sum: FloatArray
    true: FloatArray | None
    dot: FloatArray | None

    def log_p_true(self) -> FloatArray:
        """log p_y = (z_y − m) − l."""
        assert self.true is not None
        return self.true - self.log_sum


@dataclass(frozen=True, slots=True)
class _Inputs:
    x: np.ndarray  # (n, C, D) scores
    labels: np.ndarray | None  # (n, D) class indices, in range
    class_weights: np.ndarray | None  # (C,) weights of the dot, in x's dtype
    target: np.ndarray | None  # (n, C, D) rows of the dot
    row_max: bool  # the shift must be each row's max (else 0 where float32 exps allow)


def _gather_true(inp: _Inputs, x: np.ndarray, rows: slice, scratch: Scratch) -> np.ndarray:
    """z_y of a block's positions, flat (b·D,), in the scores' dtype."""
    assert inp.labels is not None
    b, c, d = x.shape
    labels = inp.labels[rows]
    if d == 1:  # a flat gather, cheaper than take_along_axis's index arrays
        return np.take(x.ravel(), scratch.starts(b, c) + labels[:, 0])
    return np.take_along_axis(x, labels[:, None, :], axis=1).ravel()


def _block_terms(inp: _Inputs, out: Terms, rows: slice, scratch: Scratch) -> None:
    """One block's terms, written into ``out`` at the block's positions."""
    x = inp.x[rows]
    if x.dtype == np.float32 and not inp.row_max and _unshifted_terms(inp, out, x, rows, scratch):
        return
    b, d = x.shape[0], x.shape[2]
    at = slice(rows.start * d, rows.stop * d)
    m = scratch.take("max", (b, d), x.dtype)  # pragma: no mutate
    _row_max(x, m, scratch)
    out.shift[at] = m.ravel()
    if out.true is not None:
        # z_y − m exactly: both are float32 or float64 numbers, subtracted in float64
        true = _gather_true(inp, x, rows, scratch)
        np.subtract(true, m.ravel(), out=out.true[at], dtype=np.float64)
    if x.dtype == np.float32:  # shift and exp in float32, in place in one float32 buffer
        shifted = scratch.take("shifted32", x.shape, x.dtype)  # pragma: no mutate
        np.subtract(x, m[:, None, :], out=shifted)
    else:
        shifted = scratch.take("shifted", x.shape, np.dtype(np.float64))  # pragma: no mutate
        _shift(x, m, shifted)
    if out.dot is not None:
        _dot(inp, shifted, rows, out.dot[at].reshape(b, d), scratch)
    np.exp(shifted, out=shifted)
    total = scratch.take("sum", (b, d), np.dtype(np.float64))  # pragma: no mutate
    _row_sum(shifted, total)
    np.log(total, out=out.log_sum[at].reshape(b, d))


def _unshifted_terms(
    inp: _Inputs, out: Terms, x: np.ndarray, rows: slice, scratch: Scratch
) -> bool:
    """A float32 block's terms with the shift 0 (no max pass, no subtraction), when every
    position's Σ_c exp(z_c) lies in [``UNSHIFTED_FLOOR``, ∞): no exp overflowed, and terms
    that underflowed weigh < 2^-126·e^30 relative. Else writes nothing and returns False."""
    b, d = x.shape[0], x.shape[2]
    exps = scratch.take("shifted32", x.shape, x.dtype)  # pragma: no mutate
    with np.errstate(over="ignore"):
        np.exp(x, out=exps)
    total = scratch.take("sum", (b, d), np.dtype(np.float64))  # pragma: no mutate
    _row_sum(exps, total)
    if not (total.min() >= UNSHIFTED_FLOOR and total.max() < np.inf):  # NaN fails too
        return False
    at = slice(rows.start * d, rows.stop * d)
    np.log(total, out=out.log_sum[at].reshape(b, d))
    out.shift[at] = 0.0
    if out.true is not None:
        out.true[at] = _gather_true(inp, x, rows, scratch)
    if out.dot is not None:
        _dot(inp, x, rows, out.dot[at].reshape(b, d), scratch)
    return True


def _dot(inp: _Inputs, shifted: np.ndarray, rows: slice, out: np.ndarray, scratch: Scratch) -> None:
    """Σ_c a_c (z_c − m) of a block into ``out`` (b, D), a the class weights or target rows."""
    if inp.target is None:
        if inp.class_weights is None:
            _row_sum(shifted, out)
            return
        prod = scratch.take("product", shifted.shape, np.dtype(np.float64))  # pragma: no mutate
        np.multiply(shifted, inp.class_weights[None, :, None], out=prod)
        _row_sum(prod, out)
        return
    t = inp.target[rows]
    prod64 = scratch.take("product", shifted.shape, np.dtype(np.float64))  # pragma: no mutate
    np.multiply(t, shifted, out=prod64)
    if inp.class_weights is not None:
        prod64 *= inp.class_weights[None, :, None]
    _row_sum(prod64, out)


def log_softmax_terms(
    scores: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    dot: bool = False,
    class_weights: np.ndarray | None = None,
    target: np.ndarray | None = None,
    row_max: bool = False,
    threads: int | None = None,
) -> Terms:
    """The log-softmax terms of ``scores`` (n, C) or (n, C, d1, ...), per position.

    ``labels`` int (n,) or (n, d1, ...) in 0..C−1 give z_y − m. ``dot`` (implied by a
    ``target``) gives Σ_c a_c (z_c − m) with a_c = (``class_weights`` (C,) or 1) times
    (``target``, float64 like ``scores``, or 1). The shift m is each row's
    max for float64 scores and with ``row_max``; float32 blocks whose exps neither overflow nor
    all underflow take m = 0 (``Terms`` hold for any shift).
    """
    x = as_positions(scores)
    n, c, d = x.shape
    w = None if class_weights is None else np.asarray(class_weights, dtype=np.float64)
    inp = _Inputs(
        x,
        None if labels is None else np.asarray(labels).reshape(n, d),
        w,
        None if target is None else np.asarray(target, dtype=np.float64).reshape(n, c, d),
        row_max,
    )
    size = n * d
    out = Terms(
        np.empty(size),
        np.empty(size),
        None if labels is None else np.empty(size),
        np.empty(size) if dot or target is not None else None,
    )
    product = out.dot is not None and (w is not None or target is not None)
    run_blocks(
        n,
        _work_itemsize(x.dtype, product) * c * d,
        lambda rows, scratch: _block_terms(inp, out, rows, scratch),
        threads,
    )
    return out


def log_softmax_blocks(
    scores: np.ndarray,
    per_block: Callable[[slice, np.ndarray, np.ndarray], None],
) -> None:
    """Call ``per_block(rows, log_q, q)`` with each block's log-softmax and softmax (b, C, D)
    in float64 scratch buffers (for losses taking every class's log q or q elementwise: kl, js).
    log q = (z − m) − log Σ exp(z − m) and q = exp(z − m) / Σ exp(z − m)."""
    x = as_positions(scores)
    n, c, d = x.shape

    def work(rows: slice, scratch: Scratch) -> None:
        blk = x[rows]
        b = blk.shape[0]
        m = scratch.take("max", (b, d), blk.dtype)  # pragma: no mutate
        _row_max(blk, m, scratch)
        log_q = scratch.take("log_q", blk.shape, np.dtype(np.float64))  # pragma: no mutate
        _shift(blk, m, log_q)
        q = scratch.take("q", blk.shape, np.dtype(np.float64))  # pragma: no mutate
        np.exp(log_q, out=q)
        total = scratch.take("sum", (b, d), np.dtype(np.float64))  # pragma: no mutate
        _row_sum(q, total)
        q /= total[:, None, :]
        np.log(total, out=total)
        log_q -= total[:, None, :]
        per_block(rows, log_q, q)

    run_blocks(n, 8 * c * d, work)
